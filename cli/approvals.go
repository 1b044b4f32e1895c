package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The approval requests of four eyes ([commands] approval), from the CLI:
// they live in the journal, so a CLI and every console on it see the same.

func (a *App) approvalDesk() (*audit.ApprovalDesk, error) {
	j, err := a.Journal()
	if err != nil {
		return nil, err
	}
	return audit.Approvals(j, audit.LocalActor()), nil
}

// requestID reads a request id argument.
func requestID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError("ID must be a request number, as command requests lists them (got %q)", termsafe.String(s))
	}
	return id, nil
}

func newCommandRequestsCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List the approval requests: open ones, and those settled in the last 10 minutes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			desk, err := app.approvalDesk()
			if err != nil {
				return err
			}
			list, err := desk.Approvals(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []audit.Approval{}
				}
				return app.PrintJSON(list)
			}
			if len(list) == 0 {
				fmt.Fprintln(app.Stdout, "no approval requests")
				return nil
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tCOMMAND\tVIN\tREQUESTER\tSTATE\tREASON")
			for _, a := range list {
				who := a.Requester.String()
				if a.Mine {
					who += " (you)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", a.ID, termsafe.String(a.Command), termsafe.String(a.VIN),
					termsafe.String(who), stateLine(a), termsafe.String(a.Reason))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// stateLine is a request's state with who decided and until when it holds.
func stateLine(a audit.Approval) string {
	s := string(a.State)
	switch {
	case a.Decider == nil:
	case a.State == audit.ApprovalApproved || a.State == audit.ApprovalRejected:
		s += " by " + termsafe.String(a.Decider.User)
	case a.State == audit.ApprovalUsed:
		s += " (approved by " + termsafe.String(a.Decider.User) + ")"
	}
	if exp := a.Expires(); !exp.IsZero() {
		s += " until " + exp.Local().Format("15:04:05")
	}
	return s
}

func newCommandDecideCmd(app *App, approve bool) *cobra.Command {
	verb, past := "reject", "rejected"
	short := "Reject another operator's approval request"
	if approve {
		verb, past = "approve", "approved"
		short = "Approve another operator's request: only then can they ask for the code and send it"
	}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Long: short + `.

Requests are listed by "fleetdeck command requests" and in every console (A).
Nobody approves their own request; a request nobody decides expires after
10 minutes.`,
		Args: exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app.actOnRequest(args[0], func(desk *audit.ApprovalDesk, id int64) (audit.Approval, error) {
				return desk.Decide(cmd.Context(), id, approve)
			})
			if err != nil {
				return err
			}
			if asJSON {
				return app.PrintJSON(a)
			}
			fmt.Fprintf(app.Stdout, "request %d %s: %s on %s, asked by %s: %s\n", a.ID, past, termsafe.String(a.Command),
				termsafe.String(a.VIN), termsafe.String(a.Requester.User), termsafe.String(a.Reason))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newCommandWithdrawCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "withdraw ID",
		Short: "Withdraw your own approval request",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := app.actOnRequest(args[0], func(desk *audit.ApprovalDesk, id int64) (audit.Approval, error) {
				return desk.Withdraw(cmd.Context(), id)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "request %d withdrawn: %s on %s\n", a.ID, termsafe.String(a.Command), termsafe.String(a.VIN))
			return nil
		},
	}
}

// actOnRequest reads the request id in arg and does act on it at this
// operator's desk.
func (a *App) actOnRequest(arg string, act func(*audit.ApprovalDesk, int64) (audit.Approval, error)) (audit.Approval, error) {
	id, err := requestID(arg)
	if err != nil {
		return audit.Approval{}, err
	}
	desk, err := a.approvalDesk()
	if err != nil {
		return audit.Approval{}, err
	}
	r, err := act(desk, id)
	if err != nil {
		return r, decideError(err)
	}
	return r, nil
}

// decideError keeps the desk's refusals one line and says which can be
// fixed by another operator.
func decideError(err error) error {
	switch {
	case errors.Is(err, audit.ErrApprovalNotFound):
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w (fleetdeck command requests lists them)", err)}
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: the journal did not answer in time", err)
	}
	return err
}

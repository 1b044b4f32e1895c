package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// cliShown is what the journal records the operator saw when a command
// was confirmed from the CLI: it reads no live feed.
const cliShown = "nothing live: sent from the CLI, which does not read the feed"

// approvalPoll is how often `send --request --wait` looks for a decision.
const approvalPoll = time.Second

// sendRun is one `command send`: the policy's questions, then the one or
// two calls, then following.
type sendRun struct {
	app          *App
	client       *audit.CommandActions
	policy       config.CommandPolicy
	vin, command string
	note         audit.Note
	anyCommand   bool
	asJSON, wait bool
}

// checkPolicy refuses, before anything is read or sent, what the policy
// cannot allow: a missing reason, --request where no approval is needed.
func (s *sendRun) checkPolicy(request, yes bool) error {
	if s.policy.NeedsReason(s.command) && s.note.Reason == "" {
		what := "immobilises a vehicle"
		if s.command != "disable_ignition" {
			what = "needs a second operator's approval ([commands] approval)"
		}
		return usageError("command send: %s %s: give --reason, one line saying why (it goes into the journal and the history)",
			termsafe.String(s.command), what)
	}
	if request && !s.policy.NeedsApproval(s.command) {
		return usageError("--request: %s needs no approval ([commands] approval does not list it)", termsafe.String(s.command))
	}
	return nil
}

// approval writes the request (--request), or finds the approved one this
// operator may use; --request --wait waits for the decision and goes on.
// proceed is false when there is nothing to send yet (a request written,
// not waited for).
func (s *sendRun) approval(ctx context.Context, request bool) (proceed bool, err error) {
	if !s.policy.NeedsApproval(s.command) {
		return true, nil
	}
	j, err := s.app.Journal()
	if err != nil {
		return false, err
	}
	desk := audit.Approvals(j, audit.LocalActor())
	if !request {
		a, ok, err := desk.Usable(ctx, s.vin, s.command)
		if err != nil {
			return false, err
		}
		if !ok {
			hint := "ask with --request, and run this again once another operator approved it"
			if list, err := desk.Approvals(ctx); err == nil {
				for _, p := range list {
					if p.Mine && p.State == audit.ApprovalPending && p.VIN == s.vin && p.Command == s.command {
						hint = fmt.Sprintf("your request %d is still waiting for another operator (fleetdeck command approve %d)", p.ID, p.ID)
						break
					}
				}
			}
			return false, usageError("command send: %s on %s needs a second operator's approval ([commands] approval): %s",
				termsafe.String(s.command), s.vin, hint)
		}
		s.note.Request = a.ID
		s.note.Reason = a.Reason // the reason the approver approved
		return true, nil
	}
	a, err := desk.Request(ctx, s.vin, s.command, s.note)
	if err != nil {
		return false, err
	}
	if s.asJSON && !s.wait {
		return false, s.app.PrintJSON(a)
	}
	out := s.app.Stdout
	if s.wait {
		out = s.app.Stderr // stdout is for what comes once approved
	}
	fmt.Fprintf(out, "request %d: %s on %s waits for a second operator (fleetdeck command approve %d); it expires at %s\n",
		a.ID, termsafe.String(a.Command), a.VIN, a.ID, a.Expires().Local().Format("15:04:05"))
	if !s.wait {
		return false, nil
	}
	a, err = waitDecision(ctx, desk, a.ID)
	if err != nil {
		return false, err
	}
	if a.State != audit.ApprovalApproved {
		by := ""
		if a.Decider != nil {
			by = " by " + termsafe.String(a.Decider.User)
		}
		return false, &ExitError{Code: ExitFailure, Err: fmt.Errorf("request %d was %s%s: %s was not sent", a.ID, a.State, by, termsafe.String(s.command))}
	}
	fmt.Fprintf(s.app.Stderr, "request %d approved by %s\n", a.ID, termsafe.String(a.Decider.User))
	s.note.Request = a.ID
	return true, nil
}

// waitDecision looks at request id until it is decided or expires.
func waitDecision(ctx context.Context, desk *audit.ApprovalDesk, id int64) (audit.Approval, error) {
	t := time.NewTicker(approvalPoll)
	defer t.Stop()
	for {
		a, err := desk.Approval(ctx, id)
		if err != nil {
			return a, err
		}
		if a.State != audit.ApprovalPending {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("wait for the decision on request %d: %w (the request stays open)", id, ctx.Err())
		case <-t.C:
		}
	}
}

// confirm asks y/n on stdin ([commands] confirm), with what the CLI knows
// of the vehicle.
func (s *sendRun) confirm(ctx context.Context) error {
	w := s.app.Stderr
	facts := "clearance unknown (no [fleet] section)"
	if c, err := s.app.fleetClient(); err == nil {
		if v, err := c.Get(ctx, s.vin); err == nil {
			facts = termsafe.String(v.Brand) + ", clearance " + termsafe.String(string(v.Status))
		} else {
			facts = "clearance unknown: " + termsafe.String(err.Error())
		}
	}
	fmt.Fprintf(w, "%s on %s (%s)\nThe CLI does not read the live feed: speed, ignition and location are not known here.\nSend %s to %s? [y/N] ",
		termsafe.String(s.command), s.vin, facts, termsafe.String(s.command), s.vin)
	line, err := bufio.NewReader(s.app.Stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	switch {
	case answer == "y" || answer == "yes":
		return nil
	case answer == "" && err != nil:
		fmt.Fprintln(w)
		return usageError("command send: %s needs a confirmation ([commands] confirm): answer y, or pass --yes", termsafe.String(s.command))
	}
	return &ExitError{Code: ExitFailure, Err: fmt.Errorf("not sent: %s was not confirmed", termsafe.String(s.command))}
}

// send makes the call (step one, a single step, or step two with code) and
// handles what comes back. A refused code is explained and a new one asked
// for at once.
func (s *sendRun) send(ctx context.Context, code string) error {
	res, err := s.client.Send(audit.WithNote(ctx, s.note), s.vin, s.command, code)
	if err != nil {
		if code != "" && commands.RestartsFlow(err) {
			return s.restart(ctx, code, err)
		}
		if errors.Is(err, audit.ErrApprovalRequired) || errors.Is(err, audit.ErrReasonRequired) {
			return &ExitError{Code: ExitUsage, Err: err}
		}
		return err
	}
	if conf := res.Confirmation; conf != nil {
		return s.printConfirmation(*conf)
	}
	sent := *res.Command
	if !s.wait || sent.Terminal() {
		return printCommand(s.app, sent, s.asJSON)
	}
	if !s.asJSON {
		fmt.Fprintf(s.app.Stderr, "%s %s to %s: %s; waiting…\n", sent.ID, s.command, s.vin, sent.Status)
	}
	final, err := s.client.Follow(ctx, sent.ID, func(c commands.Command) {
		if !s.asJSON {
			fmt.Fprintf(s.app.Stderr, "%s: %s\n", c.ID, c.Status)
		}
	})
	if err != nil {
		return err // "follow …" already
	}
	return printCommand(s.app, final, s.asJSON)
}

// restart explains why code was refused, from the times the journal holds
// (this process saw no code issued), and asks for a new one (document 002:
// restart the flow without the code).
func (s *sendRun) restart(ctx context.Context, code string, refused error) error {
	var book commands.CodeBook
	if j, err := s.app.Journal(); err == nil {
		issued, _ := j.IssuedCodes(ctx, time.Now().Add(-time.Hour))
		for _, c := range issued {
			book.Issued(c)
		}
	}
	why := book.Explain(s.vin, s.command, code, refused, time.Now())
	fmt.Fprintf(s.app.Stderr, "fleetdeck: %s (the platform: %s); a new code is being requested\n", why.What, termsafe.String(refusalDetail(refused)))
	s.note.Restart = why.What
	res, err := s.client.Send(audit.WithNote(ctx, s.note), s.vin, s.command, "")
	if err != nil {
		return err
	}
	if res.Confirmation == nil {
		return fmt.Errorf("asked for a new code for %s on %s, and the platform answered without one", termsafe.String(s.command), s.vin)
	}
	return s.printConfirmation(*res.Confirmation, why.What)
}

func refusalDetail(err error) string {
	var de *commands.DetailError
	if errors.As(err, &de) && de.Detail != "" {
		return de.Detail
	}
	return err.Error()
}

// printConfirmation shows step one's answer: the alert in full, its English,
// the code and until when it works, and the line that runs step two. Exit
// 3: the command has not run.
func (s *sendRun) printConfirmation(conf commands.Confirmation, restarted ...string) error {
	msg := termsafe.String(conf.Message)
	en, known := commands.EnglishMessage(msg)
	until := time.Now().Add(commands.CodeTTL)
	if s.asJSON {
		out := commandJSON{VIN: s.vin, Command: s.command, Status: string(commands.StatusConfirmation),
			Code: conf.Code, Message: msg, ValidUntil: &until, Request: s.note.Request}
		if known {
			out.English = en
		}
		if len(restarted) > 0 {
			out.Restarted = restarted[0]
		}
		if err := s.app.PrintJSON(out); err != nil {
			return err
		}
		return &ExitError{Code: ExitNeedsCode}
	}
	w := s.app.Stdout
	fmt.Fprintf(w, "%s\n", msg)
	if known {
		fmt.Fprintf(w, "In English: %s\n", en)
	} else {
		fmt.Fprintln(w, "(no translation: this is the platform's message, in Portuguese)")
	}
	if s.command == "disable_ignition" {
		fmt.Fprintln(w, "\nThe CLI does not read the vehicle's speed: make sure in the console that it is stopped in a safe place first.")
	}
	fmt.Fprintf(w, "\nConfirmation code: %s (valid 2 minutes, until %s)\nTo execute: %s\n",
		conf.Code, until.Format("15:04:05"), s.app.stepTwoLine(s.vin, s.command, conf.Code, s.note.Reason, s.anyCommand))
	return &ExitError{Code: ExitNeedsCode}
}

package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

func newCommandCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:        "command",
		Short:      "Remote vehicle commands: send, status; approval requests (four eyes)",
		SuggestFor: []string{"commands", "cmd", "send"},
	}
	cmd.AddCommand(newCommandSendCmd(app), newCommandStatusCmd(app),
		newCommandRequestsCmd(app), newCommandDecideCmd(app, true), newCommandDecideCmd(app, false), newCommandWithdrawCmd(app))
	return cmd
}

// commandsClient is the command client behind the audit journal: sends and
// the final statuses they reach are recorded.
func (a *App) commandsClient() (*audit.CommandActions, error) {
	c, err := a.rawCommandsClient()
	if err != nil {
		return nil, err
	}
	j, err := a.Journal()
	if err != nil {
		return nil, err
	}
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	return audit.Commands(c, j, audit.LocalActor()).WithPolicy(cfg.Policy()), nil
}

func (a *App) rawCommandsClient() (*commands.Client, error) {
	cfg, err := a.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Commands == nil {
		return nil, fmt.Errorf("the command API is disabled: %s has no [commands] section", cfg.File)
	}
	a.sandboxNotice(cfg)
	return commands.NewFromConfig(cfg.Commands, a.Logger().With("client", "commands"))
}

// commandJSON is the --json shape of a command and of a pending confirmation.
type commandJSON struct {
	ID      string          `json:"id,omitempty"`
	VIN     string          `json:"vin"`
	Command string          `json:"command"`
	Status  string          `json:"status"`
	Detail  json.RawMessage `json:"detail,omitempty"`
	Created *time.Time      `json:"created,omitempty"`
	Updated *time.Time      `json:"updated,omitempty"`
	// Only for status "Confirmation": the code to pass back with --code and
	// the platform's message for the operator (with its English, when it is
	// a message we know), and until when the code can be used.
	Code       string     `json:"code,omitempty"`
	Message    string     `json:"message,omitempty"`
	English    string     `json:"english,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	Hint       string     `json:"hint,omitempty"`
	// Restarted says why a new code was asked for (the one given was
	// refused); Request is the approval request the command carries out.
	Restarted string `json:"restarted,omitempty"`
	Request   int64  `json:"request,omitempty"`
}

func toCommandJSON(c commands.Command) commandJSON {
	out := commandJSON{ID: c.ID, VIN: c.VIN, Command: c.Command, Status: string(c.Status)}
	if len(c.Detail) > 0 && json.Valid(c.Detail) {
		out.Detail = c.Detail
	}
	if !c.Created.IsZero() {
		t := c.Created
		out.Created = &t
	}
	if !c.Updated.IsZero() {
		t := c.Updated
		out.Updated = &t
	}
	return out
}

func newCommandSendCmd(app *App) *cobra.Command {
	var (
		asJSON     bool
		code       string
		wait       bool
		anyCommand bool
		reason     string
		request    bool
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "send VIN COMMAND",
		Short: "Send a remote command (ignition commands need --code in a second call)",
		Long: `Send a remote command to a vehicle. Known commands: ` + strings.Join(commands.KnownCommands, ", ") + `.
Any other name is refused (exit 2, with the nearest known one), so that a
typo is caught here and not reported by the OEM as a restriction; mobway may
offer other commands for some vehicles: send those with --any-command.

enable_ignition and disable_ignition take two calls: the first prints the
platform's message (in English too, when it is one we know), a 6-digit code
valid for 2 minutes, and exits 3 with the line to run next (it keeps
--config, --profile and --reason); run it with the code to execute. A code
that is refused (wrong, expired, already used, another vehicle's) is
explained, a new one is requested at once, and the run exits 3 again.

disable_ignition needs --reason (one line, journaled). The config's policy
may ask more: [commands] confirm asks y/n on stdin (--yes answers it), and
[commands] approval needs a second operator: ask with --request, another
operator runs "command approve ID", then run the same send again (or keep
--request --wait running, which goes on by itself once approved).

--wait follows the command until it succeeds or fails (exit 1 on Error).`,
		Example: `  fleetdeck command send WBA5R1C51KAJ98123 lock_door --wait
  fleetdeck command send WBA5R1C51KAJ98123 disable_ignition --reason "stolen, police case 118"
  fleetdeck command send WBA5R1C51KAJ98123 disable_ignition --reason "stolen" --request --wait`,
		Args: exactArgs("VIN", "COMMAND"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			switch len(args) {
			case 0:
				return app.completeVINs(statusIn(fleet.StatusApproved))(cmd, args, toComplete)
			case 1:
				return completeCommands(toComplete)
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			v, command := vin.Normalize(args[0]), args[1]
			reason = strings.Join(strings.Fields(reason), " ")
			if strings.TrimSpace(command) == "" {
				return usageError("command send: COMMAND must not be empty")
			}
			if !anyCommand && !slices.Contains(commands.KnownCommands, command) {
				return usageError("command send: unknown command %q%s (known: %s; --any-command sends another name as it is)",
					termsafe.String(command), didYouMean(suggest(command, commands.KnownCommands)), strings.Join(commands.KnownCommands, ", "))
			}
			if cmd.Flags().Changed("code") && !commands.ValidCode(code) {
				return usageError("--code must be the 6 digits the first call printed")
			}
			if request && code != "" {
				return usageError("--request and --code do not go together: the code is requested once the request is approved")
			}
			cfg, err := app.Config()
			if err != nil {
				return err
			}
			s := &sendRun{app: app, vin: v, command: command, anyCommand: anyCommand, asJSON: asJSON, wait: wait,
				policy: cfg.Policy(), note: audit.Note{Reason: reason, Shown: cliShown}}
			if err := s.checkPolicy(request, yes); err != nil {
				return err
			}
			c, err := app.commandsClient()
			if err != nil {
				return err
			}
			s.client = c
			ctx := cmd.Context()
			if proceed, err := s.approval(ctx, request); !proceed || err != nil {
				return err
			}
			if s.policy.NeedsConfirm(command) && !yes {
				if err := s.confirm(ctx); err != nil {
					return err
				}
			}
			return s.send(ctx, code)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&code, "code", "", "the 6-digit confirmation code (second step of ignition commands)")
	f.BoolVar(&wait, "wait", false, "follow the command until Success or Error (with --request: wait for the decision first)")
	f.BoolVar(&anyCommand, "any-command", false, "send COMMAND even if it is not a known command")
	f.StringVar(&reason, "reason", "", "why, in one line (required for disable_ignition and for commands that need approval); journaled")
	f.BoolVar(&request, "request", false, "ask a second operator to approve COMMAND ([commands] approval) instead of sending it")
	f.BoolVar(&yes, "yes", false, "answer yes to the confirmation [commands] confirm asks for")
	return cmd
}

// stepTwoLine is the shell line that runs step two of an ignition command
// against the configuration step one used: the config file (and profile)
// this run loaded, by absolute path, every word quoted for a POSIX shell.
// The embedded sandbox lives only as long as this process, so its config
// is not named: there is no file to point at once it has stopped.
func (a *App) stepTwoLine(v, command, code, reason string, anyCommand bool) string {
	words := []string{"fleetdeck"}
	a.mu.Lock()
	cfg, embedded := a.cfg, a.sandbox != nil
	a.mu.Unlock()
	if cfg != nil && !embedded && cfg.File != "" {
		words = append(words, "--config", cfg.File)
		if cfg.Profile != "" {
			words = append(words, "--profile", cfg.Profile)
		}
	}
	words = append(words, "command", "send", v, command, "--code", code)
	if reason != "" {
		words = append(words, "--reason", reason)
	}
	if anyCommand {
		words = append(words, "--any-command")
	}
	return shellJoin(words)
}

// shellJoin quotes each word for a POSIX shell, in single quotes (a quote
// inside closes them, is escaped and reopens them), unless the word holds
// only characters no shell treats specially.
func shellJoin(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = shellQuote(w)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./_-", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printCommand prints a command; a command that ended in Error is exit 1.
func printCommand(app *App, c commands.Command, asJSON bool) error {
	if asJSON {
		if err := app.PrintJSON(toCommandJSON(c)); err != nil {
			return err
		}
	} else {
		line := fmt.Sprintf("%s  %s  %s  %s", termsafe.String(c.ID), termsafe.String(c.VIN), termsafe.String(c.Command), termsafe.String(string(c.Status)))
		if !c.Updated.IsZero() {
			line += "  " + c.Updated.Local().Format("2006-01-02 15:04:05")
		} else if !c.Created.IsZero() {
			line += "  " + c.Created.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintln(app.Stdout, line)
		if d := c.DetailText(); d != "" {
			fmt.Fprintf(app.Stdout, "  %s\n", d)
		}
	}
	if c.Status == commands.StatusError {
		return &ExitError{Code: ExitFailure, Err: errors.New("the command ended in Error")}
	}
	return nil
}

func newCommandStatusCmd(app *App) *cobra.Command {
	var asJSON bool
	var wait bool
	cmd := &cobra.Command{
		Use:   "status ID",
		Short: "Show a command's status",
		Args:  exactArgs("ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := app.commandsClient()
			if err != nil {
				return err
			}
			var got commands.Command
			if wait {
				got, err = c.Follow(cmd.Context(), args[0], nil)
			} else {
				got, err = c.Status(cmd.Context(), args[0])
			}
			if err != nil {
				return err // "command status ID: …" or "follow …" already
			}
			return printCommand(app, got, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow until Success or Error")
	return cmd
}

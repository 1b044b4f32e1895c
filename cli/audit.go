package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// auditPath is where the journal lives: config's audit.path. Without a
// config file the console runs the embedded sandbox, whose journal lives
// (and goes) with its temp dir; this command then reads the default journal
// without starting the simulators just to learn that.
func (a *App) auditPath() (string, error) {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	if cfg == nil && a.Profile == "" {
		if _, found, err := config.Locate(a.ConfigPath, ""); err == nil && !found {
			return config.DefaultAuditPath(), nil
		}
	}
	if cfg == nil {
		var err error
		if cfg, err = a.Config(); err != nil {
			return "", err
		}
	}
	return cfg.Audit.Path, nil
}

// openJournal opens (creating when missing) the audit journal the config
// names. The caller closes it.
func (a *App) openJournal() (*audit.Journal, error) {
	path, err := a.auditPath()
	if err != nil {
		return nil, err
	}
	return audit.Open(path, audit.WithLogger(a.Logger().With("component", "audit")))
}

// openExistingJournal is openJournal for readers: a journal that does not
// exist is reported, not created.
func (a *App) openExistingJournal() (*audit.Journal, string, error) {
	path, err := a.auditPath()
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, path, fs.ErrNotExist
		}
		return nil, path, fmt.Errorf("audit journal: %w", err)
	}
	j, err := audit.Open(path, audit.WithLogger(a.Logger().With("component", "audit")))
	return j, path, err
}

// auditRecordJSON is the --json shape of a record: the intent's fields, its
// outcomes, and the one-line result with "outcome unknown" spelled out.
type auditRecordJSON struct {
	audit.Record
	Result       string `json:"result"`
	OutcomeKnown bool   `json:"outcome_known"`
}

func newAuditCmd(app *App) *cobra.Command {
	var (
		asJSON bool
		asCSV  bool
		since  string
		vinArg string
		limit  int
	)
	cmd := &cobra.Command{
		Use:        "audit",
		Short:      "The audit journal: who changed what, when, and how it ended",
		SuggestFor: []string{"journal", "log", "history"},
		Long: `List the audit journal: every clearance added or revoked and every command
sent (step one, step two, the id it got, its final status), with who did it
(local user, or SSH user and key fingerprint), when, and the outcome.

An action whose outcome was never recorded (fleetdeck stopped between the
request and the answer) shows "outcome unknown": check the vehicle.

--since takes a duration back from now (24h, 90m, 7d) or a date
(2006-01-02, in the local zone, or RFC 3339). "fleetdeck audit verify"
proves the journal has not been edited.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := audit.Filter{VIN: vinArg, Limit: limit}
			if limit < 0 {
				return usageError("--limit must not be negative")
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return usageError("--since: %v", err)
				}
				f.Since = t
			}
			j, path, err := app.openExistingJournal()
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(app.Stderr, "fleetdeck: no audit journal at %s (nothing recorded yet)\n", path)
				if asJSON {
					return app.PrintJSON([]auditRecordJSON{})
				}
				if asCSV {
					return writeAuditCSV(app.Stdout, nil)
				}
				return nil
			}
			if err != nil {
				return err
			}
			defer j.Close()
			recs, err := j.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]auditRecordJSON, 0, len(recs))
				for _, r := range recs {
					if r.Outcomes == nil {
						r.Outcomes = []audit.Entry{}
					}
					out = append(out, auditRecordJSON{Record: r, Result: r.Result(), OutcomeKnown: r.Known()})
				}
				return app.PrintJSON(out)
			}
			if asCSV {
				return writeAuditCSV(app.Stdout, recs)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTOR\tACTION\tVIN\tCOMMAND\tOUTCOME")
			for _, r := range recs {
				// The file can be edited by hand: sanitize again on the way out.
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format("2006-01-02 15:04:05"),
					termsafe.String(r.Actor.String()), termsafe.String(string(r.Action)), dash(termsafe.String(r.VIN)),
					dash(termsafe.String(r.Command)), termsafe.String(r.Result()))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.StringVar(&since, "since", "", "only actions since D: a duration (24h, 7d) or a date (2006-01-02, RFC 3339)")
	f.StringVar(&vinArg, "vin", "", "only actions on this VIN")
	f.IntVar(&limit, "limit", 100, "show the newest N actions (0: all)")
	f.BoolVar(&asCSV, "csv", false, "print CSV (a header row, times in RFC 3339 UTC)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	completeFlag(cmd, "vin", app.completeVINs(nil))
	cmd.AddCommand(newAuditVerifyCmd(app))
	return cmd
}

func newAuditVerifyCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove the audit journal unbroken, or name the first entry that is not",
		Long: `Recompute every entry's hash and its link to the entry before it. Exit 0
with "chain intact: N entries", or exit 1 naming the first entry that was
edited, deleted or reordered.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			j, path, err := app.openExistingJournal()
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no audit journal at %s", path)
			}
			if err != nil {
				return err
			}
			defer j.Close()
			rep, err := j.Verify(cmd.Context(), audit.VerifyOptions{})
			if err != nil {
				return err
			}
			if asJSON {
				if err := app.PrintJSON(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(app.Stdout, "chain intact: %d entries\n", rep.Entries)
			}
			if !rep.OK {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("audit journal %s: chain broken at entry %d: %s", path, rep.FirstBad, rep.Reason)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// parseSince reads --since: a duration back from now ("24h", "7d") or a
// date ("2006-01-02" in the local zone, or RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: want a duration back from now, not a negative one", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor a date (2006-01-02, RFC 3339)", termsafe.String(s))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

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

// auditConfig is the config's [audit] section. Without a config file the
// console runs the embedded sandbox, whose journal lives (and goes) with
// its temp dir; the audit commands then read the default journal without
// starting the simulators just to learn that.
func (a *App) auditConfig() (config.Audit, error) {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	if cfg == nil && a.Profile == "" {
		if _, found, err := config.Locate(a.ConfigPath, ""); err == nil && !found {
			return config.Audit{Path: config.DefaultAuditPath()}, nil
		}
	}
	if cfg == nil {
		var err error
		if cfg, err = a.Config(); err != nil {
			return config.Audit{}, err
		}
	}
	return cfg.Audit, nil
}

// auditKeyPath is the key that signs this process's entries: audit.key_file,
// else the key beside serve's host key, else the default in the state dir.
func (a *App) auditKeyPath(ac config.Audit) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case ac.KeyFile != "":
		return ac.KeyFile
	case a.auditKey != "":
		return a.auditKey
	}
	return config.DefaultAuditKeyPath()
}

// openJournal opens (creating when missing) the audit journal the config
// names, signing with the process's key. The caller closes it.
func (a *App) openJournal() (*audit.Journal, error) {
	ac, err := a.auditConfig()
	if err != nil {
		return nil, err
	}
	return audit.OpenConfig(a.Context(), ac, a.auditKeyPath(ac), audit.WithLogger(a.Logger().With("component", "audit")))
}

// openExistingJournal is openJournal for readers: a SQLite journal that
// does not exist is reported, not created, and nothing is signed.
func (a *App) openExistingJournal() (*audit.Journal, string, error) {
	ac, err := a.auditConfig()
	if err != nil {
		return nil, "", err
	}
	if ac.DSN != "" {
		j, err := audit.OpenConfig(a.Context(), ac, "", audit.WithLogger(a.Logger().With("component", "audit")))
		if err != nil {
			return nil, config.RedactDSN(ac.DSN), err
		}
		return j, j.Name(), nil
	}
	if _, err := os.Stat(ac.Path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ac.Path, fs.ErrNotExist
		}
		return nil, ac.Path, fmt.Errorf("audit journal: %w", err)
	}
	j, err := audit.Open(ac.Path, audit.WithLogger(a.Logger().With("component", "audit")))
	return j, ac.Path, err
}

// existingJournal is openExistingJournal for commands that need a journal
// to exist.
func (a *App) existingJournal() (*audit.Journal, error) {
	j, path, err := a.openExistingJournal()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no audit journal at %s", path)
	}
	return j, err
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
				result := r.Result()
				if n, ok := r.Note(); ok && n.Reason != "" {
					result += " · why: " + n.Reason
				}
				// The file can be edited by hand: sanitize again on the way out.
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format("2006-01-02 15:04:05"),
					termsafe.String(r.Actor.String()), termsafe.String(string(r.Action)), dash(termsafe.String(r.VIN)),
					dash(termsafe.String(r.Command)), termsafe.String(result))
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
	cmd.AddCommand(newAuditVerifyCmd(app), newAuditExportCmd(app), newAuditMigrateCmd(app))
	return cmd
}

func newAuditVerifyCmd(app *App) *cobra.Command {
	var (
		asJSON   bool
		keyFiles []string
		against  []string
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Prove the audit journal unbroken, or name the first entry that is not",
		Long: `Recompute every entry's hash and its link to the entry before it. Exit 0
with "chain intact: N entries", or exit 1 naming the first entry that was
edited, deleted or reordered.

The hashes alone cannot stop someone who rewrites an entry and recomputes
every hash after it. --key FILE closes that: every entry is signed with an
Ed25519 key kept apart from the database, and verify then checks each
signature against the public key (FILE.pub beside the signing key, or the
signing key itself). Give --key once per key (each ops box has its own).
--against EXPORT checks that the head an earlier "audit export" saw is
still in the chain, unchanged: a journal cut back or rewritten since fails.`,
		Example: `  fleetdeck audit verify --key ~/.local/state/fleetdeck/audit_ed25519_key.pub
  fleetdeck audit export > /mnt/elsewhere/audit-$(date +%F).ndjson
  fleetdeck audit verify --key box1.pub --key box2.pub --against /mnt/elsewhere/audit-2025-03-01.ndjson`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var o audit.VerifyOptions
			for _, f := range keyFiles {
				k, err := audit.ReadVerifyKey(f)
				if err != nil {
					return err
				}
				o.Keys = append(o.Keys, k)
			}
			for _, f := range against {
				h, err := readExportHead(f)
				if err != nil {
					return err
				}
				o.Anchors = append(o.Anchors, h)
			}
			j, err := app.existingJournal()
			if err != nil {
				return err
			}
			defer j.Close()
			rep, err := j.Verify(cmd.Context(), o)
			if err != nil {
				return err
			}
			if asJSON {
				if err := app.PrintJSON(rep); err != nil {
					return err
				}
			} else if rep.OK {
				fmt.Fprintf(app.Stdout, "chain intact: %d entries, head %d %s\n", rep.Entries, rep.Head.Seq, rep.Head.Hash)
				switch {
				case rep.SignaturesChecked:
					fmt.Fprintf(app.Stdout, "signatures verified: %d entries signed by %s", rep.Signed, strings.Join(rep.Signers, ", "))
					if rep.Unsigned > 0 {
						fmt.Fprintf(app.Stdout, " (%d older unsigned entries are covered by the first signature)", rep.Unsigned)
					}
					fmt.Fprintln(app.Stdout)
				case rep.Signed > 0:
					fmt.Fprintf(app.Stdout, "%d entries signed, not checked: pass --key to prove no one rewrote and re-hashed them\n", rep.Signed)
				default:
					fmt.Fprintln(app.Stdout, "no entry is signed: the hashes prove the chain is consistent, not who wrote it")
				}
				if len(o.Anchors) > 0 {
					fmt.Fprintf(app.Stdout, "the chain still holds the head of %d export(s)\n", len(o.Anchors))
				}
			}
			if !rep.OK {
				return &ExitError{Code: ExitFailure, Err: fmt.Errorf("audit journal %s: chain broken at entry %d: %s", j.Name(), rep.FirstBad, rep.Reason)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.StringArrayVar(&keyFiles, "key", nil, "check every entry's signature against this key FILE (public key or the signing key; repeatable)")
	f.StringArrayVar(&against, "against", nil, "check the chain still holds the head of this export FILE (repeatable)")
	return cmd
}

// readExportHead reads the head an export file recorded.
func readExportHead(path string) (audit.Head, error) {
	f, err := os.Open(path)
	if err != nil {
		return audit.Head{}, fmt.Errorf("--against: %w", err)
	}
	defer f.Close()
	h, err := audit.ReadExportHeader(f)
	if err != nil {
		return audit.Head{}, fmt.Errorf("--against %s: %w", path, err)
	}
	return h.Head, nil
}

func newAuditExportCmd(app *App) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole chain (NDJSON) with its head, to keep elsewhere",
		Long: `Write the audit journal as NDJSON: a first line with the format, the head
(the last entry's number and hash) and the entry count, then every entry,
oldest first, with its hash, link and signature. Keep it (or just its first
line) where the ops boxes cannot write; "audit verify --against FILE" later
proves the journal still holds that head unchanged.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			j, err := app.existingJournal()
			if err != nil {
				return err
			}
			defer j.Close()
			w := app.Stdout
			if out != "" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return fmt.Errorf("export: %w", err)
				}
				defer func() {
					if cerr := f.Close(); err == nil && cerr != nil {
						err = fmt.Errorf("export: %w", cerr)
					}
				}()
				w = f
			}
			h, err := j.Export(cmd.Context(), w)
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(app.Stderr, "exported %d entries to %s; head %d %s\n", h.Entries, out, h.Head.Seq, h.Head.Hash)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write to FILE (created 0600; must not exist) instead of stdout")
	return cmd
}

func newAuditMigrateCmd(app *App) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "migrate --to DSN",
		Short: "Copy the SQLite journal into PostgreSQL, verified before and after",
		Long: `Copy every entry of the SQLite journal (audit.path) into an empty PostgreSQL
journal, unchanged: numbers, times, hashes and signatures. The chain is
verified before (a broken one is not copied) and after (the copy must end at
the same head). The DSN must not hold a password: it comes from
audit.password_file (0600) or $PGPASSWORD. Then set [audit] dsn to the same
DSN on every ops box.`,
		Example: `  PGPASSWORD=... fleetdeck audit migrate --to postgres://fleetdeck@db.example.com/fleetdeck`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageError("audit migrate: --to DSN is required")
			}
			if err := config.CheckAuditDSN(to); err != nil {
				return usageError("audit migrate: --to: %v", err)
			}
			ac, err := app.auditConfig()
			if err != nil {
				return err
			}
			if _, err := os.Stat(ac.Path); err != nil {
				return fmt.Errorf("audit migrate: no SQLite journal at %s", ac.Path)
			}
			src, err := audit.Open(ac.Path)
			if err != nil {
				return err
			}
			defer src.Close()
			ctx := cmd.Context()
			before, err := src.Verify(ctx, audit.VerifyOptions{})
			if err != nil {
				return err
			}
			if !before.OK {
				return fmt.Errorf("audit migrate: %s is broken at entry %d (%s): not copied", ac.Path, before.FirstBad, before.Reason)
			}
			dst, err := audit.OpenConfig(ctx, config.Audit{DSN: to, PasswordFile: ac.PasswordFile}, "")
			if err != nil {
				return err
			}
			defer dst.Close()
			n, err := src.CopyTo(ctx, dst)
			if err != nil {
				return fmt.Errorf("audit migrate: %w", err)
			}
			after, err := dst.Verify(ctx, audit.VerifyOptions{Anchors: []audit.Head{before.Head}})
			if err != nil {
				return err
			}
			if !after.OK || after.Head != before.Head || after.Entries != before.Entries {
				return fmt.Errorf("audit migrate: the copy in %s does not verify (%s): keep using %s", dst.Name(), after.Reason, ac.Path)
			}
			// The DSN as given (CheckAuditDSN let no secret into it), not
			// dst.Name(): a name for messages, which drops sslmode and the
			// like and is no DSN at all in the keyword form.
			fmt.Fprintf(app.Stdout, "copied %d entries from %s to %s; chain verified before and after, head %d %s\nnow set [audit] dsn = %q on every ops box\n",
				n, ac.Path, dst.Name(), after.Head.Seq, after.Head.Hash, to)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the PostgreSQL journal's DSN (no password in it)")
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

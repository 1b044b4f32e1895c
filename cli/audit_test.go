package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/ui"
)

// The decorators stand in for the clients wherever the console takes them.
var (
	_ ui.FleetService     = (*audit.FleetActions)(nil)
	_ ui.CommandService   = (*audit.CommandActions)(nil)
	_ ui.AuditLog         = (*audit.Journal)(nil)
	_ ui.AuditWatcher     = (*audit.Journal)(nil)
	_ audit.FleetMutator  = (*fleet.Client)(nil)
	_ audit.CommandSender = (*commands.Client)(nil)
)

// runAudit is run with the audit command registered whether or not the
// root lists it yet.
func runAudit(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	app := NewApp(strings.NewReader(""), &out, &errb)
	defer app.Close()
	root := NewRootCmd(app)
	if c, _, err := root.Find([]string{"audit"}); err != nil || c.Name() != "audit" {
		root.AddCommand(newAuditCmd(app))
	}
	root.SetArgs(append([]string{"--log-file", filepath.Join(t.TempDir(), "fleetdeck.log")}, args...))
	code := exitCode(&errb, root.ExecuteContext(app.Context()))
	return result{code, out.String(), errb.String()}
}

func defaultJournal(t *testing.T) string {
	t.Helper()
	return filepath.Join(os.Getenv("XDG_STATE_HOME"), "fleetdeck", "audit.db")
}

func writeJournal(t *testing.T, path string) {
	t.Helper()
	j, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	me := audit.Actor{Kind: audit.KindLocal, User: "alice"}
	seq, err := j.Intent(ctx, me, audit.ActionClearanceAdd, "W1KZF8DB1LA999874", "brand mercedes-benz")
	if err == nil {
		err = j.Outcome(ctx, me, seq, "pending", "")
	}
	if err == nil {
		// Step two sent, then the process died: no outcome.
		_, err = j.Intent(ctx, audit.SSHActor("bob", "SHA256:Zm9vYmFy", "operator"), audit.ActionCommandConfirm, "WBA5R1C51KAJ98123", "disable_ignition")
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuditListAndVerify(t *testing.T) {
	isolate(t)
	path := defaultJournal(t)
	writeJournal(t, path)

	r := runAudit(t, "audit")
	if r.code != 0 {
		t.Fatalf("audit: exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	for _, want := range []string{"alice", "clearance.add", "W1KZF8DB1LA999874", "pending"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row 1 lacks %q: %s", want, lines[1])
		}
	}
	for _, want := range []string{"ssh:bob SHA256:Zm9vYmFy", "command.confirm", "disable_ignition", "outcome unknown"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("row 2 lacks %q: %s", want, lines[2])
		}
	}

	r = runAudit(t, "audit", "--json", "--vin", "wba5r1c51kaj98123", "--since", "1h")
	if r.code != 0 {
		t.Fatalf("audit --json: exit %d: %s", r.code, r.stderr)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("audit --json = %s (%v)", r.stdout, err)
	}
	if recs[0]["result"] != "outcome unknown" || recs[0]["outcome_known"] != false || recs[0]["vin"] != "WBA5R1C51KAJ98123" {
		t.Errorf("record %v", recs[0])
	}
	if actor, _ := recs[0]["actor"].(map[string]any); actor["key_fingerprint"] != "SHA256:Zm9vYmFy" {
		t.Errorf("actor %v", recs[0]["actor"])
	}
	r = runAudit(t, "audit", "--json", "--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("future --since: exit %d: %s", r.code, r.stdout)
	}
	r = runAudit(t, "audit", "--since", "last tuesday")
	if r.code != ExitUsage {
		t.Errorf("bad --since: exit %d", r.code)
	}
	oneLine(t, r, "--since")

	r = runAudit(t, "audit", "verify")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "chain intact: 3 entries, head 3 ") || !strings.Contains(r.stdout, "no entry is signed") {
		t.Fatalf("verify: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}

	// Someone rewrites who was at the wheel.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER entries_no_update", "UPDATE entries SET vin = 'WBA5R1C51KAJ00000' WHERE seq = 2"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	r = runAudit(t, "audit", "verify")
	if r.code != ExitFailure || r.stdout != "" {
		t.Fatalf("verify after an edit: exit %d, stdout %q", r.code, r.stdout)
	}
	oneLine(t, r, "chain broken at entry 2: entry 2 was altered")

	r = runAudit(t, "audit", "verify", "--json")
	var rep audit.VerifyReport
	if r.code != ExitFailure || json.Unmarshal([]byte(r.stdout), &rep) != nil || rep.OK || rep.FirstBad != 2 || rep.Entries != 3 {
		t.Errorf("verify --json: exit %d: %s", r.code, r.stdout)
	}
}

func TestAuditWithoutJournal(t *testing.T) {
	isolate(t)
	r := runAudit(t, "audit", "verify")
	if r.code != ExitFailure {
		t.Errorf("verify without a journal: exit %d", r.code)
	}
	oneLine(t, r, "no audit journal at "+defaultJournal(t))
	r = runAudit(t, "audit", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list without a journal: exit %d: %q", r.code, r.stdout)
	}
	if _, err := os.Stat(defaultJournal(t)); !os.IsNotExist(err) {
		t.Error("reading the journal created it")
	}
}

func TestAuditPathFromConfig(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte("[audit]\npath = \"journal/audit.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	writeJournal(t, filepath.Join(dir, "journal", "audit.db"))
	r := runAudit(t, "--config", cfgPath, "audit", "verify")
	if r.code != 0 || !strings.Contains(r.stdout, "chain intact: 3 entries") {
		t.Fatalf("verify with audit.path: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestAuditJournalAgainstSandbox runs the decorators over the real clients
// and simulators: the two-step ignition flow and a revocation.
func TestAuditJournalAgainstSandbox(t *testing.T) {
	isolate(t)
	_, cfgPath := startSandbox(t)
	cfg, err := config.Load(cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	cc, err := commands.NewFromConfig(cfg.Commands, log)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := fleet.NewFromConfig(cfg.Fleet, log)
	if err != nil {
		t.Fatal(err)
	}
	j, err := audit.Open(cfg.Audit.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	me := audit.LocalActor()
	cmds, fl := audit.Commands(cc, j, me), audit.Fleet(fc, j, me)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const v = "WBA5R1C51KAJ98123"

	ctx = audit.WithNote(ctx, audit.Note{Reason: "stolen"})
	step1, err := cmds.Send(ctx, v, "disable_ignition", "")
	if err != nil || step1.Confirmation == nil {
		t.Fatalf("step one: %+v %v", step1, err)
	}
	code := step1.Confirmation.Code
	step2, err := cmds.Send(ctx, v, "disable_ignition", code)
	if err != nil || step2.Command == nil {
		t.Fatalf("step two: %+v %v", step2, err)
	}
	// A follower that stops early (the console quit) leaves it unfinished.
	if un, err := j.Unfinished(ctx); err != nil || len(un) != 1 || un[0].CommandID != step2.Command.ID {
		t.Fatalf("unfinished after step two: %+v (%v)", un, err)
	}
	// The next start resumes it.
	err = audit.Resume(ctx, j, func(ctx context.Context, id string) (commands.Command, error) {
		return cc.Follow(ctx, id, nil)
	}, me)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if err := fl.Delete(ctx, v); err != nil {
		t.Fatalf("revoke: %v", err)
	}

	recs, err := j.List(ctx, audit.Filter{VIN: v})
	if err != nil || len(recs) != 3 {
		t.Fatalf("records: %+v (%v)", recs, err)
	}
	if recs[0].Action != audit.ActionCommandConfirmation || recs[0].Result() != "confirmation issued" {
		t.Errorf("step one recorded as %s %q", recs[0].Action, recs[0].Result())
	}
	if want := "Pending id " + step2.Command.ID + "; Success"; recs[1].Action != audit.ActionCommandConfirm || recs[1].Result() != want {
		t.Errorf("step two recorded as %s %q, want %q", recs[1].Action, recs[1].Result(), want)
	}
	if recs[2].Action != audit.ActionClearanceRevoke || recs[2].Result() != "revocation requested" {
		t.Errorf("revoke recorded as %s %q", recs[2].Action, recs[2].Result())
	}
	if rep, err := j.Verify(ctx, audit.VerifyOptions{}); err != nil || !rep.OK {
		t.Errorf("verify: %+v (%v)", rep, err)
	}
	var raw []byte
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(cfg.Audit.Path + suffix)
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("disable_ignition")) || bytes.Contains(raw, []byte(code)) {
		t.Error("the confirmation code reached the journal's files (or the files hold nothing)")
	}
}

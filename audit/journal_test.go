package audit

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var alice = Actor{Kind: KindLocal, User: "alice"}

// clock is a settable time source for WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openTemp(t testing.TB, opts ...Option) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "fleetdeck", "audit.db")
	j, err := Open(path, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

// rawDB opens the journal's file behind the package's back, as someone
// tampering with it would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func intent(t *testing.T, j *Journal, a Action, vin, cmd string) int64 {
	t.Helper()
	seq, err := j.Intent(context.Background(), alice, a, vin, cmd)
	if err != nil {
		t.Fatalf("intent: %v", err)
	}
	return seq
}

func outcome(t *testing.T, j *Journal, seq int64, out, id string) {
	t.Helper()
	if err := j.Outcome(context.Background(), alice, seq, out, id); err != nil {
		t.Fatalf("outcome: %v", err)
	}
}

func TestJournalOpenCreatesPrivateWALFile(t *testing.T) {
	j, path := openTemp(t)
	intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600, path + "-wal": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("stat %s: %v", p, err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(p), got, want)
		}
	}
	var mode string
	if err := rawDB(t, path).QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

func TestJournalOpenTightensLooseFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestJournalRefusesNewerSchema(t *testing.T) {
	j, path := openTemp(t)
	j.Close()
	mustExec(t, rawDB(t, path), "PRAGMA user_version = 99")
	_, err := Open(path)
	if !errors.Is(err, ErrSchema) {
		t.Fatalf("open newer schema: %v, want ErrSchema", err)
	}
}

func TestJournalIntentOutcomePairing(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))}
	j, _ := openTemp(t, WithClock(clk.now))
	ctx := context.Background()

	a := intent(t, j, ActionClearanceAdd, " wba5r1c51kaj98123 ", "brand bmw")
	clk.set(clk.now().Add(time.Hour))
	b := intent(t, j, ActionCommandSend, "W1KZF8DB1LA999874", "lock_door")
	outcome(t, j, a, "pending", "")
	clk.set(clk.now().Add(time.Hour))
	c := intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	outcome(t, j, c, "revocation requested", "")

	if err := j.Outcome(ctx, alice, 999, "ok", ""); err == nil {
		t.Error("an outcome for a missing intent was accepted")
	}
	if err := j.Outcome(ctx, alice, 3, "ok", ""); err == nil { // 3 is the outcome of a
		t.Error("an outcome of an outcome was accepted")
	}

	recs, err := j.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Seq != a || recs[1].Seq != b || recs[2].Seq != c {
		t.Fatalf("records %+v, want intents %d,%d,%d in order", recs, a, b, c)
	}
	r0 := recs[0]
	if r0.VIN != "WBA5R1C51KAJ98123" || r0.Actor.User != "alice" || r0.Actor.Kind != KindLocal || r0.Command != "brand bmw" {
		t.Errorf("intent stored as %+v", r0.Entry)
	}
	if r0.At.Location() != time.UTC || !r0.At.Equal(time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("at = %v, want 11:00 UTC", r0.At)
	}
	if len(r0.Outcomes) != 1 || r0.Result() != "pending" || r0.Outcomes[0].Action != ActionClearanceAdd || r0.Outcomes[0].Ref != a {
		t.Errorf("record a: %+v", r0)
	}
	if recs[1].Known() || recs[1].Result() != OutcomeUnknown {
		t.Errorf("record without outcome says %q", recs[1].Result())
	}
	if recs[2].Result() != "revocation requested" {
		t.Errorf("record c: %q", recs[2].Result())
	}

	byVIN, err := j.List(ctx, Filter{VIN: "wba5r1c51kaj98123"})
	if err != nil || len(byVIN) != 2 || byVIN[0].Seq != a || byVIN[1].Seq != c {
		t.Errorf("VIN filter: %+v (%v)", byVIN, err)
	}
	since, err := j.List(ctx, Filter{Since: time.Date(2025, 3, 1, 11, 30, 0, 0, time.UTC)})
	if err != nil || len(since) != 2 || since[0].Seq != b {
		t.Errorf("since filter: %+v (%v)", since, err)
	}
	limited, err := j.List(ctx, Filter{Limit: 2})
	if err != nil || len(limited) != 2 || limited[0].Seq != b || limited[1].Seq != c || limited[1].Result() != "revocation requested" {
		t.Errorf("limit keeps the newest: %+v (%v)", limited, err)
	}
	recent, err := j.Recent(ctx, 1)
	if err != nil || len(recent) != 1 || recent[0].Seq != c {
		t.Errorf("recent: %+v (%v)", recent, err)
	}
	none, err := j.List(ctx, Filter{VIN: "NOPE"})
	if err != nil || len(none) != 0 {
		t.Errorf("no match: %+v (%v)", none, err)
	}
}

func TestJournalSanitizesAndBounds(t *testing.T) {
	j, _ := openTemp(t)
	seq := intent(t, j, ActionCommandSend, "WBA5R1C51KAJ98123", "lock\x1b[31m_door")
	outcome(t, j, seq, "error: "+strings.Repeat("x", 5000)+"\x1b]0;pwn\x07", "")
	recs, _ := j.List(context.Background(), Filter{})
	if got := recs[0].Command; strings.ContainsRune(got, 0x1b) {
		t.Errorf("command kept an escape: %q", got)
	}
	if got := recs[0].Outcomes[0].Outcome; len(got) > maxOutcome+4 || strings.ContainsRune(got, 0x1b) {
		t.Errorf("outcome not bounded/sanitized: %d bytes", len(got))
	}
}

func TestJournalFinalStatusAndUnfinished(t *testing.T) {
	j, _ := openTemp(t)
	ctx := context.Background()
	send := intent(t, j, ActionCommandConfirm, "WBA5R1C51KAJ98123", "disable_ignition")
	outcome(t, j, send, "Pending id c-1", "c-1")
	other := intent(t, j, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
	outcome(t, j, other, "Pending id c-2", "c-2")

	un, err := j.Unfinished(ctx)
	if err != nil || len(un) != 2 || un[0].CommandID != "c-1" || un[0].IntentSeq != send || un[0].Command != "disable_ignition" {
		t.Fatalf("unfinished: %+v (%v)", un, err)
	}
	recs, _ := j.List(ctx, Filter{})
	if !recs[0].AwaitsFinal() || !strings.HasSuffix(recs[0].Result(), "final status unknown") {
		t.Errorf("accepted command without final status: %q", recs[0].Result())
	}

	done := commandWith("c-1", "Error", `"Vehicle offline"`)
	if ok, err := j.FinalStatus(ctx, alice, done); err != nil || !ok {
		t.Fatalf("final status: %v %v", ok, err)
	}
	if ok, err := j.FinalStatus(ctx, alice, done); err != nil || ok {
		t.Errorf("final status written twice: %v %v", ok, err)
	}
	if ok, err := j.FinalStatus(ctx, alice, commandWith("stranger", "Success", "")); err != nil || ok {
		t.Errorf("final status of a command the journal never sent: %v %v", ok, err)
	}
	if ok, _ := j.FinalStatus(ctx, alice, commandWith("c-2", "Pending", "")); ok {
		t.Error("a pending status was recorded as final")
	}
	recs, _ = j.List(ctx, Filter{})
	final, ok := recs[0].Final()
	if !ok || final.Outcome != "Error: Vehicle offline" || final.Ref != send || final.VIN != "WBA5R1C51KAJ98123" {
		t.Errorf("final entry %+v", final)
	}
	if got := recs[0].Result(); got != "Pending id c-1; Error: Vehicle offline" {
		t.Errorf("result %q", got)
	}
	un, _ = j.Unfinished(ctx)
	if len(un) != 1 || un[0].CommandID != "c-2" {
		t.Errorf("unfinished after final: %+v", un)
	}
}

func TestJournalAppendOnlyTriggers(t *testing.T) {
	j, path := openTemp(t)
	intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	db := rawDB(t, path)
	if _, err := db.Exec("UPDATE entries SET vin = 'X'"); err == nil {
		t.Error("UPDATE allowed")
	}
	if _, err := db.Exec("DELETE FROM entries"); err == nil {
		t.Error("DELETE allowed")
	}
}

// BenchmarkJournalAppend measures one intent (one fsync'd transaction).
func BenchmarkJournalAppend(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := j.Intent(ctx, alice, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJournalVerify measures Verify over 10,000 entries.
func BenchmarkJournalVerify(b *testing.B) {
	j, err := Open(filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	vins := make([]string, 10000)
	what := make([]string, len(vins))
	for i := range vins {
		vins[i], what[i] = "WBA5R1C51KAJ98123", "brand bmw"
	}
	if _, err := j.intents(ctx, alice, ActionClearanceAdd, vins, what); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if rep, err := j.Verify(ctx, VerifyOptions{}); err != nil || !rep.OK {
			b.Fatal(rep, err)
		}
	}
}

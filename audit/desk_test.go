package audit

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
)

var (
	bob   = SSHActor("bob", "SHA256:bobbobbobbob", "operator")
	carol = SSHActor("carol", "SHA256:carolcarolcarol", "operator")
	t0    = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
)

const car = "WBA5R1C51KAJ98123"

// The note an operator gives travels with the intent: hashed, signed,
// exported like any field, and read back.
func TestIntentNoteRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) { testIntentNoteRoundTrip(t, s.open(t)) })
}

func testIntentNoteRoundTrip(t *testing.T, j *Journal) {
	ctx := context.Background()
	n := Note{Reason: "stolen\tvehicle,\n police\x1b[31m report", Shown: "speed 12.5 km/h (3s old)", Request: 4, Restart: "the code expired"}
	if _, err := j.IntentWithNote(ctx, alice, ActionCommandConfirm, car, "disable_ignition", n); err != nil {
		t.Fatal(err)
	}
	intent(t, j, ActionCommandSend, car, "lock_door")
	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%+v %v", recs, err)
	}
	got, ok := recs[0].Note()
	want := Note{Reason: "stolen vehicle, police report", Shown: "speed 12.5 km/h (3s old)", Request: 4, Restart: "the code expired"}
	if !ok || got != want {
		t.Fatalf("note %+v %v, want %+v", got, ok, want)
	}
	if _, ok := recs[1].Note(); ok || recs[1].Result() != OutcomeUnknown {
		t.Fatalf("an intent without a note: %+v", recs[1])
	}
	if rep, err := j.Verify(ctx, VerifyOptions{}); err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	if long := (Note{Reason: strings.Repeat("x", 500)}).Clean().Reason; len(long) > MaxReason+3 {
		t.Fatalf("a reason of %d bytes", len(long))
	}
}

func TestApprovalLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		c := &clock{t: t0}
		// alice and bob on two journals of one store: two boxes, or a
		// box and a CLI.
		testApprovalLifecycle(t, c, s.open(t, WithClock(c.now)), s.open(t, WithClock(c.now)))
	})
}

func testApprovalLifecycle(t *testing.T, c *clock, j, jb *Journal) {
	ctx := context.Background()
	alices, bobs := Approvals(j, alice), Approvals(jb, bob)

	if _, err := alices.Request(ctx, car, "disable_ignition", Note{}); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("no reason: %v", err)
	}
	a, err := alices.Request(ctx, strings.ToLower(car), "disable_ignition", Note{Reason: "stolen", Shown: "speed 0 km/h (1s old)"})
	if err != nil || a.State != ApprovalPending || a.VIN != car || a.Reason != "stolen" || a.Shown != "speed 0 km/h (1s old)" || !a.Mine || a.Requester.User != "alice" {
		t.Fatalf("request: %+v %v", a, err)
	}
	if !a.Expires().Equal(t0.Add(ApprovalTTL)) {
		t.Errorf("expires %v", a.Expires())
	}
	// Nobody approves their own: not by name, not with the same key under
	// another name.
	if _, err := alices.Decide(ctx, a.ID, true); !errors.Is(err, ErrOwnRequest) {
		t.Fatalf("self-approval: %v", err)
	}
	sameKey := Approvals(j, Actor{Kind: KindSSH, User: "mallory", KeyFingerprint: "SHA256:alicekey"})
	aliceSSH := Approvals(j, Actor{Kind: KindSSH, User: "alice2", KeyFingerprint: "SHA256:alicekey"})
	b, _ := aliceSSH.Request(ctx, car, "unlock_door", Note{Reason: "locked out"})
	if _, err := sameKey.Decide(ctx, b.ID, true); !errors.Is(err, ErrOwnRequest) {
		t.Fatalf("same key, other name: %v", err)
	}
	list, err := bobs.Approvals(ctx)
	if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID || list[1].Mine {
		t.Fatalf("bob's list: %+v %v", list, err)
	}
	c.set(t0.Add(time.Minute))
	got, err := bobs.Decide(ctx, a.ID, true)
	if err != nil || got.State != ApprovalApproved || got.Decider == nil || got.Decider.User != "bob" || !got.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("approve: %+v %v", got, err)
	}
	if _, err := Approvals(j, carol).Decide(ctx, a.ID, false); !errors.Is(err, ErrApprovalClosed) {
		t.Fatalf("deciding twice: %v", err)
	}
	if u, ok, err := alices.Usable(ctx, car, "disable_ignition"); err != nil || !ok || u.ID != a.ID {
		t.Fatalf("usable: %+v %v %v", u, ok, err)
	}
	if _, ok, _ := bobs.Usable(ctx, car, "disable_ignition"); ok {
		t.Fatal("the approver can use the requester's approval")
	}
	// An approval lapses ten minutes after it was given.
	c.set(t0.Add(time.Minute + ApprovalTTL))
	if got, _ := alices.Approval(ctx, a.ID); got.State != ApprovalExpired {
		t.Fatalf("lapsed: %+v", got)
	}
	// A request nobody decides expires after ten minutes.
	c.set(t0.Add(2 * time.Hour))
	e, _ := alices.Request(ctx, car, "disable_ignition", Note{Reason: "again"})
	c.set(t0.Add(2*time.Hour + ApprovalTTL))
	if _, err := bobs.Decide(ctx, e.ID, true); !errors.Is(err, ErrApprovalClosed) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired request: %v", err)
	}
	// Withdraw: the requester's only.
	c.set(t0.Add(3 * time.Hour))
	w, _ := alices.Request(ctx, car, "disable_ignition", Note{Reason: "once more"})
	if _, err := bobs.Withdraw(ctx, w.ID); !errors.Is(err, ErrNotRequester) {
		t.Fatalf("withdraw another's: %v", err)
	}
	if got, err := alices.Withdraw(ctx, w.ID); err != nil || got.State != ApprovalWithdrawn {
		t.Fatalf("withdraw: %+v %v", got, err)
	}
	if _, err := bobs.Decide(ctx, 999, true); !errors.Is(err, ErrApprovalNotFound) {
		t.Fatalf("no such request: %v", err)
	}
	// All of it is in the journal, requester and approver by name.
	recs, _ := j.List(ctx, Filter{})
	var lines []string
	for _, r := range recs {
		for _, o := range r.Outcomes {
			lines = append(lines, string(o.Action)+" "+o.Actor.User+" "+o.Outcome)
		}
	}
	if got := strings.Join(lines, "\n"); got != "approval.approve bob approved by bob\napproval.withdraw alice withdrawn" {
		t.Errorf("outcomes:\n%s", got)
	}
	if rep, _ := j.Verify(ctx, VerifyOptions{}); !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
}

// Operators on several boxes deciding at once: one wins, the others are
// told.
func TestApprovalDecidedOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) { testApprovalDecidedOnce(t, s) })
}

func testApprovalDecidedOnce(t *testing.T, s *testStore) {
	ctx := context.Background()
	js := []*Journal{s.open(t), s.open(t), s.open(t), s.open(t)}
	a, _ := Approvals(js[0], alice).Request(ctx, car, "disable_ignition", Note{Reason: "stolen"})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			who := Actor{Kind: KindSSH, User: "op" + string(rune('a'+i)), KeyFingerprint: "SHA256:k" + string(rune('a'+i))}
			_, errs[i] = Approvals(js[i%len(js)], who).Decide(ctx, a.ID, i%2 == 0)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrApprovalClosed) {
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d decisions went through", ok)
	}
}

// With [commands] approval, the command layer itself refuses a command
// without an approved request of the sender's, and spends the approval
// once the command is accepted.
func TestCommandActionsEnforceTheApproval(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) { testCommandActionsEnforceTheApproval(t, s.open(t)) })
}

func testCommandActionsEnforceTheApproval(t *testing.T, j *Journal) {
	ctx := context.Background()
	const code = "493817"
	inner := &fakeCommands{t: t, j: j, code: code}
	policy := config.CommandPolicy{Approval: []string{"disable_ignition"}}
	send := func(who Actor, note Note, code string) (commands.SendResult, error) {
		return Commands(inner, j, who).WithPolicy(policy).Send(WithNote(ctx, note), car, "disable_ignition", code)
	}
	if _, err := send(alice, Note{Reason: "stolen"}, ""); !errors.Is(err, ErrApprovalRequired) {
		t.Fatalf("no request: %v", err)
	}
	a, _ := Approvals(j, alice).Request(ctx, car, "disable_ignition", Note{Reason: "stolen"})
	if _, err := send(alice, Note{Reason: "stolen", Request: a.ID}, ""); !errors.Is(err, ErrApprovalRequired) || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("pending request: %v", err)
	}
	if _, err := Approvals(j, bob).Decide(ctx, a.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := send(carol, Note{Reason: "stolen", Request: a.ID}, ""); !errors.Is(err, ErrApprovalRequired) || !strings.Contains(err.Error(), "alice's, not yours") {
		t.Fatalf("someone else's approval: %v", err)
	}
	if inner.calls != 0 {
		t.Fatalf("%d sends reached the API before an approval was usable", inner.calls)
	}
	note := Note{Reason: "stolen", Request: a.ID, Shown: "speed 0 km/h (2s old)"}
	if res, err := send(alice, note, ""); err != nil || res.Confirmation == nil {
		t.Fatalf("step one: %+v %v", res, err)
	}
	if res, err := send(alice, note, code); err != nil || res.Command == nil {
		t.Fatalf("step two: %+v %v", res, err)
	}
	if got, _ := Approvals(j, alice).Approval(ctx, a.ID); got.State != ApprovalUsed || got.UsedFor != "cmd-7" {
		t.Fatalf("after use: %+v", got)
	}
	if _, err := send(alice, note, ""); !errors.Is(err, ErrApprovalRequired) || !strings.Contains(err.Error(), "used") {
		t.Fatalf("a second use: %v", err)
	}
	// The reason is required with or without a policy.
	if _, err := Commands(inner, j, alice).Send(ctx, car, "disable_ignition", ""); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("no reason: %v", err)
	}
	// What the operator saw is journaled with step two.
	recs, _ := j.List(ctx, Filter{})
	var shown []string
	for _, r := range recs {
		if n, ok := r.Note(); ok && r.Action == ActionCommandConfirm {
			shown = append(shown, n.Shown)
		}
	}
	if len(shown) != 1 || shown[0] != "speed 0 km/h (2s old)" {
		t.Fatalf("shown %q", shown)
	}
}

func TestImmobilisedFromTheJournal(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		c := &clock{t: t0}
		testImmobilisedFromTheJournal(t, c, s.open(t, WithClock(c.now)), s.open(t))
	})
}

// testImmobilisedFromTheJournal writes through j and reads through other
// (another process, or box) too.
func testImmobilisedFromTheJournal(t *testing.T, c *clock, j, other *Journal) {
	ctx := context.Background()
	run := func(v, command, id, final string, at time.Time) {
		t.Helper()
		c.set(at)
		seq, err := j.IntentWithNote(ctx, alice, ActionCommandConfirm, v, command, Note{Reason: "why " + command})
		if err != nil {
			t.Fatal(err)
		}
		outcome(t, j, seq, "Pending id "+id, id)
		if _, err := j.FinalStatus(ctx, bob, commandWith(id, final, "")); err != nil {
			t.Fatal(err)
		}
	}
	const otherVIN = "W1KZF8DB1LA999874"
	run(car, "disable_ignition", "c-1", "Success", t0)
	run(otherVIN, "disable_ignition", "c-2", "Error", t0.Add(time.Minute)) // failed: still drives
	list, err := j.Immobilised(ctx)
	if err != nil || len(list) != 1 || list[0].VIN != car || !list[0].Since.Equal(t0) || list[0].By.User != "alice" ||
		list[0].Reason != "why disable_ignition" || list[0].CommandID != "c-1" {
		t.Fatalf("after one disable: %+v %v", list, err)
	}
	run(otherVIN, "disable_ignition", "c-3", "Success", t0.Add(2*time.Minute))
	run(car, "enable_ignition", "c-4", "Error", t0.Add(3*time.Minute)) // failed: still immobilised
	if list, _ := j.Immobilised(ctx); len(list) != 2 || list[0].VIN != car || list[1].VIN != otherVIN {
		t.Fatalf("two: %+v", list)
	}
	run(car, "enable_ignition", "c-5", "Success", t0.Add(4*time.Minute))
	if list, _ := j.Immobilised(ctx); len(list) != 1 || list[0].VIN != otherVIN {
		t.Fatalf("after enable: %+v", list)
	}
	// Another process (or box) reads the same.
	if list, _ := other.Immobilised(ctx); len(list) != 1 || list[0].VIN != otherVIN {
		t.Fatalf("another process: %+v", list)
	}
}

func TestIssuedCodesHaveTimesOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		c := &clock{t: t0}
		testIssuedCodesHaveTimesOnly(t, c, s.open(t, WithClock(c.now)))
	})
}

func testIssuedCodesHaveTimesOnly(t *testing.T, c *clock, j *Journal) {
	ctx := context.Background()
	inner := &fakeCommands{t: t, j: j, code: "493817"}
	cmds := Commands(inner, j, alice)
	if _, err := cmds.Send(WithNote(ctx, Note{Reason: "r"}), car, "disable_ignition", ""); err != nil {
		t.Fatal(err)
	}
	c.set(t0.Add(time.Minute))
	if _, err := cmds.Send(ctx, car, "enable_ignition", ""); err != nil {
		t.Fatal(err)
	}
	got, err := j.IssuedCodes(ctx, t0.Add(30*time.Second))
	if err != nil || len(got) != 1 || got[0].Command != "enable_ignition" || got[0].Code != "" || !got[0].At.Equal(t0.Add(time.Minute)) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestApprovalRecordReads(t *testing.T) {
	j, _ := openTemp(t)
	ctx := context.Background()
	if _, err := Approvals(j, alice).Request(ctx, car, "disable_ignition", Note{Reason: "stolen"}); err != nil {
		t.Fatal(err)
	}
	recs, _ := j.List(ctx, Filter{})
	if r := recs[0]; !r.Known() || r.Result() != "awaiting a second operator (a request expires after 10 min)" {
		t.Fatalf("%q %v", r.Result(), r.Known())
	}
}

// fillJournal appends n entries of ordinary traffic over a week, in
// batches, then a few immobilisations; c is the journal's clock.
func fillJournal(tb testing.TB, j *Journal, c *clock, n int) {
	tb.Helper()
	ctx := context.Background()
	const batch = 1000
	step := 7 * 24 * time.Hour / time.Duration(n/batch)
	for done := 0; done < n; done += batch {
		c.set(c.now().Add(step))
		es := make([]newEntry, batch)
		for i := range es {
			es[i] = newEntry{actor: alice, action: ActionCommandSend, vin: car, command: "lock_door", phase: PhaseIntent}
		}
		if _, err := j.appendEntries(ctx, es, nil); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range 10 {
		seq, err := j.IntentWithNote(ctx, alice, ActionCommandConfirm, "WBA5R1C51KAJ9812"+string(rune('0'+i)), "disable_ignition", Note{Reason: "r"})
		if err != nil {
			tb.Fatal(err)
		}
		id := "c-" + string(rune('a'+i))
		if err := j.Outcome(ctx, alice, seq, "Pending id "+id, id); err != nil {
			tb.Fatal(err)
		}
		if _, err := j.FinalStatus(ctx, alice, commandWith(id, "Success", "")); err != nil {
			tb.Fatal(err)
		}
	}
}

// What every console pays for the immobilised list and the approval
// requests on each look, on a journal of 100,000 entries written over a
// week (a thousand of them in the last look's window).
func BenchmarkSafetyReads(b *testing.B) {
	c := &clock{t: t0}
	j, _ := openTemp(b, WithClock(c.now))
	fillJournal(b, j, c, 100_000)
	ctx := context.Background()
	desk := Approvals(j, bob)
	b.Run("Immobilised", func(b *testing.B) {
		for b.Loop() {
			if list, err := j.Immobilised(ctx); err != nil || len(list) != 10 {
				b.Fatalf("%d %v", len(list), err)
			}
		}
	})
	b.Run("Approvals", func(b *testing.B) {
		for b.Loop() {
			if _, err := desk.Approvals(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package sshserve

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/ui"
)

var (
	codeOnScreen = regexp.MustCompile(`Code\s+(\d{6}) · valid`)
	immobilised  = regexp.MustCompile(`disable_ignition → 1FTFW1E57MFA12345\s+Success`)
)

// Four eyes over SSH: two operators' sessions on one box, one journal.
// alice asks to immobilise a vehicle; the request shows in erin's console
// (and bob's, who may only look); erin approves; only then does alice's
// console ask the platform for the code, and alice for it.
func TestFourEyesOverSSH(t *testing.T) {
	// Sessions, the key watcher and the backend must all end with it.
	leaktest.Check(t)
	policy := config.CommandPolicy{Approval: []string{"disable_ignition"}}
	erinKey := newSigner(t)
	var j *audit.Journal
	f := startFleetdeckWith(t, Options{MaxSessions: 4}, sandbox.Options{TransitionDelay: 100 * time.Millisecond},
		func(f *fleetdeck, o *Options) []string {
			var err error
			if j, err = audit.Open(filepath.Join(t.TempDir(), "audit.db")); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { j.Close() })
			o.UI.Audit, o.UI.Policy = j, policy
			// As the cli builds a session: its own identity on the journal.
			o.Session = func(uo *ui.Options, id Identity) {
				actor := audit.SSHActor(id.User, id.Fingerprint, string(id.Role))
				uo.Commands = audit.Commands(f.backend.Commands, j, actor).WithPolicy(policy)
				uo.Approvals = audit.Approvals(j, actor)
			}
			return []string{authLine(erinKey, `environment="FLEETDECK_ROLE=operator"`, "erin@ops")}
		})
	alice, _ := f.console(t, "alice", f.operator, "operator")
	erin, _ := f.console(t, "erin", erinKey, "operator")
	bob, _ := f.console(t, "bob", f.viewer, "viewer")

	// Marks before anything happens: a screen shows a change once.
	m, em, bm := alice.mark(), erin.mark(), bob.mark()
	// Each key is seen before the next: on a loaded machine two j's in
	// one read arrive as one key of two runes (Bubble Tea v1).
	alice.typeKeys("3")
	alice.waitFor(m, 5*time.Second, "[3 Commands]")
	alice.typeKeys("l")
	for _, c := range []string{"unlock_door", "location", "diagnostics", "enable_ignition", "disable_ignition"} {
		mm := alice.mark()
		alice.typeKeys("j")
		alice.waitFor(mm, 5*time.Second, "▸ "+c)
	}
	alice.typeKeys("\r")
	alice.waitFor(m, 5*time.Second, "Why is this vehicle being immobilised?")
	alice.typeKeys("stolen, police case 118", "\r")
	alice.waitFor(m, 5*time.Second, "approval requested (#1)")

	// The others see it within the watch's poll.
	erin.waitFor(em, 10*time.Second, "⚑ 1 to approve (A)")
	bob.waitFor(bm, 10*time.Second, "⚑ 1 to approve (A)")
	// One key at a time, each seen: a burst of runes arrives as one key
	// (Bubble Tea v1) and would not match.
	bob.typeKeys("A")
	bob.waitFor(bm, 5*time.Second, "Approval requests")
	bob.typeKeys("y")
	bob.waitFor(bm, 5*time.Second, "read-only session: approving and rejecting are disabled")
	erin.typeKeys("A")
	erin.waitFor(em, 5*time.Second, "reason: stolen, police case 118", "alice · pending")
	if recs, _ := j.List(context.Background(), audit.Filter{}); len(recs) != 1 {
		t.Fatalf("before the approval the journal holds %d records (no code may be requested yet)", len(recs))
	}
	erin.typeKeys("y")
	erin.waitFor(em, 5*time.Second, "✓ approved #1: disable_ignition on 1FTFW1E57MFA12345 (alice's request)")

	// alice's console asks for the code now.
	alice.waitFor(m, 10*time.Second, "Type the code to confirm", "approved by erin")
	code := codeOnScreen.FindStringSubmatch(ansi.Strip(alice.since(m)))
	if code == nil {
		t.Fatalf("no code on alice's screen:\n%s", tail(ansi.Strip(alice.since(m)), 3000))
	}
	m2 := alice.mark()
	alice.typeKeys(code[1], "\r")
	// The sandbox's vehicles drive and stop: a moving one (or one whose
	// speed is stale) asks for the VIN's end first.
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := ansi.Strip(alice.since(m2))
		if strings.Contains(s, "Type the last 4 characters") {
			alice.typeKeys("2345", "\r")
			break
		}
		if immobilised.MatchString(s) || strings.Contains(s, "sending disable_ignition") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	alice.waitMatch(m2, 15*time.Second, immobilised)
	alice.waitFor(m2, 10*time.Second, "⊘ 1 immobilised")
	erin.typeKeys("\x1b")
	erin.waitFor(em, 10*time.Second, "⊘ 1 immobilised")

	// The journal: requester, approver, reason, the request each step
	// carried out, and the approval spent.
	recs, err := j.List(context.Background(), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		line := string(r.Action) + " " + r.Actor.User
		if n, ok := r.Note(); ok {
			line += " why=" + n.Reason
			if n.Request != 0 {
				line += " request"
			}
		}
		got = append(got, line+" → "+r.Result())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		"approval.request alice why=stolen, police case 118 → approved by erin; used: disable_ignition id ",
		"command.confirmation alice why=stolen, police case 118 request → confirmation issued",
		"command.confirm alice why=stolen, police case 118 request → Pending id ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("journal lacks %q:\n%s", want, text)
		}
	}
	if im, err := j.Immobilised(context.Background()); err != nil || len(im) != 1 || im[0].VIN != "1FTFW1E57MFA12345" || im[0].By.User != "alice" {
		t.Errorf("immobilised: %+v %v", im, err)
	}
}

package ui

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

// pick selects vehicle row vi and command name in the Commands pane and
// presses enter.
func pick(t *testing.T, m *Model, vi int, name string) {
	t.Helper()
	ci := slices.Index(commands.KnownCommands, name)
	if ci < 0 {
		t.Fatalf("unknown command %s", name)
	}
	drive(t, m, keyMsg("3"), keyMsg("left"), keyMsg("g"))
	for range vi {
		drive(t, m, keyMsg("down"))
	}
	drive(t, m, keyMsg("right"), keyMsg("g"))
	for range ci {
		drive(t, m, keyMsg("down"))
	}
	drive(t, m, keyMsg("enter"))
}

// modalText is the modal's text with the box and the padding taken out,
// one space between words: a wrapped sentence reads as one.
func modalText(view string) string {
	var words []string
	for _, l := range strings.Split(view, "\n") {
		l = strings.Trim(strings.TrimSpace(l), "║")
		words = append(words, strings.Fields(l)...)
	}
	return strings.Join(words, " ")
}

func sentCodes(e *testEnv) []string {
	var out []string
	for _, c := range e.cmds.calls() {
		out = append(out, c.code)
	}
	return out
}

// At every size the modal shows the VIN in full and the platform's alert
// whole (with its English beside it); nothing is cut with an ellipsis.
func TestIgnitionModalShowsEverythingAtEverySize(t *testing.T) {
	t.Parallel()
	en, _ := commands.EnglishMessage(disableMessage)
	for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 30}, {160, 40}, {200, 50}, {300, 60}} {
		e := disableEnv()
		m := started(t, e, sz[0], sz[1])
		pick(t, m, 0, "disable_ignition")
		typeText(t, m, "stolen")
		drive(t, m, keyMsg("enter"))
		v := m.View()
		checkFrame(t, v, sz[0], sz[1])
		text := modalText(v)
		for _, want := range []string{"1FTFW1ET5DFC10312", "ford · clearance approved", "12.5 km/h · 3s ago · moving", "on · 3s ago",
			"59.4063, 24.7181 · 3s ago", "Reason stolen", "Code 123456 · valid 2m00s"} {
			if !strings.Contains(text, want) {
				t.Errorf("%dx%d: %q missing:\n%s", sz[0], sz[1], want, v)
			}
		}
		if sz[0] < sideBySideMin+4 {
			// Stacked: each reads as one text.
			if !strings.Contains(text, disableMessage) || !strings.Contains(text, en) {
				t.Errorf("%dx%d: the alert or its English is not whole:\n%s", sz[0], sz[1], v)
			}
		} else {
			// Side by side: every word of both is there.
			for _, w := range strings.Fields(disableMessage + " " + en) {
				if !strings.Contains(text, w) {
					t.Errorf("%dx%d: %q of the alert missing:\n%s", sz[0], sz[1], w, v)
				}
			}
		}
		if strings.Contains(v, "…") {
			t.Errorf("%dx%d: something was cut:\n%s", sz[0], sz[1], v)
		}
	}
}

// A moving vehicle: after the code, the VIN's last four characters; the
// journal gets the speed that was on screen, with its age.
func TestDisableMovingVehicleNeedsTheVIN(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	noted := e.noted()
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	typeText(t, m, "stolen vehicle")
	drive(t, m, keyMsg("enter"))
	typeText(t, m, "123456")
	drive(t, m, keyMsg("enter"))
	mustContain(t, modalText(m.View()), "The vehicle is moving: 12.5 km/h · 3s ago", "Type the last 4 characters of the VIN")
	if got := sentCodes(e); !slices.Equal(got, []string{""}) {
		t.Fatalf("the code went out before the VIN check: %q", got)
	}
	typeText(t, m, "0313")
	drive(t, m, keyMsg("enter"))
	mustContain(t, modalText(m.View()), "that is not how this VIN ends")
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("a wrong VIN ending sent the code (%d sends)", n)
	}
	for range 4 {
		drive(t, m, keyMsg("backspace"))
	}
	typeText(t, m, "0312")
	drive(t, m, keyMsg("enter"))
	if got := sentCodes(e); !slices.Equal(got, []string{"", "123456"}) {
		t.Fatalf("codes sent: %q", got)
	}
	if m.modals.active() {
		t.Fatal("the modal stays after the command was accepted")
	}
	notes := noted.sentNotes()
	if len(notes) != 2 || notes[0].Reason != "stolen vehicle" || notes[1].Reason != "stolen vehicle" {
		t.Fatalf("notes %+v", notes)
	}
	if want := "speed 12.5 km/h (3s old); ignition on (3s old); location 59.4063, 24.7181 (3s old)"; notes[1].Shown != want {
		t.Fatalf("journaled %q, want %q", notes[1].Shown, want)
	}
	// The history says why (under the toast that says it ended: N
	// dismisses it).
	drive(t, m, keyMsg("N"))
	mustContain(t, m.View(), "1FTFW1ET5DFC10312 disable_ignition Success  → 12:00:02  why: stolen …")
}

func TestDisableStoppedVehicleNeedsNoVIN(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	e.tele.props["1FTFW1ET5DFC10312"] = nil
	e.tele.liveState("1FTFW1ET5DFC10312", 0, "off", 2*time.Second)
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	mustContain(t, modalText(m.View()), "0 km/h · 2s ago · stopped")
	typeText(t, m, "parked at the depot, keys lost")
	drive(t, m, keyMsg("enter"))
	typeText(t, m, "123456")
	drive(t, m, keyMsg("enter"))
	if got := sentCodes(e); !slices.Equal(got, []string{"", "123456"}) {
		t.Fatalf("a stopped vehicle: codes sent %q", got)
	}
}

// Speed missing, stale or failed: the console cannot vouch that the
// vehicle stands still, says so in the warning colour, and asks for the
// VIN.
func TestDisableUnknownSpeedNeedsTheVIN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(e *testEnv)
		says  string
	}{
		{"stale", func(e *testEnv) { e.tele.liveState("1FTFW1ET5DFC10312", 0, "off", 4*time.Minute) },
			"no speed for 4 min (last 0 km/h)"},
		{"missing", func(e *testEnv) {
			e.tele.props["1FTFW1ET5DFC10312"] = []stream.Property{{Capability: "ignition", Name: "state", Value: "on", SourceTime: testNow}}
		}, "no speed on the feed"},
		{"not on the feed", func(e *testEnv) { delete(e.tele.props, "1FTFW1ET5DFC10312") },
			"no data: this VIN is not on the live feed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := disableEnv()
			e.tele.props["1FTFW1ET5DFC10312"] = []stream.Property{}
			tc.setup(e)
			m := started(t, e, 80, 24)
			pick(t, m, 0, "disable_ignition")
			mustContain(t, modalText(m.View()), "Speed "+tc.says)
			typeText(t, m, "why")
			drive(t, m, keyMsg("enter"))
			typeText(t, m, "123456")
			drive(t, m, keyMsg("enter"))
			mustContain(t, modalText(m.View()), "The console cannot tell that the vehicle is stopped: "+tc.says)
			if n := len(e.cmds.calls()); n != 1 {
				t.Fatalf("%d sends before the VIN check", n)
			}
		})
	}
}

// The reason is required, one line, and comes back in the history.
func TestDisableNeedsAReason(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	noted := e.noted()
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	mustContain(t, modalText(m.View()), "Why is this vehicle being immobilised? One line, required")
	drive(t, m, keyMsg("enter"))
	typeText(t, m, "   ")
	drive(t, m, keyMsg("enter"))
	mustContain(t, modalText(m.View()), "a reason is required")
	if n := len(e.cmds.calls()); n != 0 {
		t.Fatalf("no reason, yet %d sends", n)
	}
	typeText(t, m, "driver  reports theft")
	drive(t, m, keyMsg("enter"))
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("%d sends after the reason", n)
	}
	if got := noted.sentNotes()[0].Reason; got != "driver reports theft" {
		t.Fatalf("journaled reason %q", got)
	}
	// enable_ignition asks no reason.
	drive(t, m, keyMsg("esc"))
	pick(t, m, 0, "enable_ignition")
	mustContain(t, modalText(m.View()), "Type the code to confirm")
}

// The code counts down with the console's clock; typed after its two
// minutes it is not sent: a new code is asked for and the operator told
// why, and the journal keeps why with the new step one.
func TestCodeExpiryRequestsANewCode(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	e.tele.props["1FTFW1ET5DFC10312"] = nil
	e.tele.liveState("1FTFW1ET5DFC10312", 0, "off", 0)
	clock := e.withClock()
	noted := e.noted()
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	typeText(t, m, "stolen")
	drive(t, m, keyMsg("enter"))
	mustContain(t, modalText(m.View()), "Code 123456 · valid 2m00s")
	clock.add(95 * time.Second)
	drive(t, m, clockMsg{})
	mustContain(t, modalText(m.View()), "Code 123456 · valid 25s")
	clock.add(30 * time.Second)
	drive(t, m, clockMsg{})
	v := modalText(m.View())
	mustContain(t, v, "Code 123456 · expired: codes are valid 2m", "enter: request a new code")
	typeText(t, m, "123456")
	drive(t, m, keyMsg("enter"))
	if got := sentCodes(e); !slices.Equal(got, []string{"", ""}) {
		t.Fatalf("an expired code was sent: %q", got)
	}
	v = modalText(m.View())
	mustContain(t, v, "✗ the code expired: codes are valid 2m and this one was issued 2m05s ago. The platform issued a new code: type it.",
		"Code 654321 · valid 2m00s")
	if n := noted.sentNotes(); n[1].Restart != "the code expired: codes are valid 2m and this one was issued 2m05s ago" {
		t.Fatalf("journaled restart %+v", n[1])
	}
	typeText(t, m, "654321")
	drive(t, m, keyMsg("enter"))
	// The feed's speed is two minutes old by now: the VIN check too.
	mustContain(t, modalText(m.View()), "no speed for 2 min")
	typeText(t, m, "0312")
	drive(t, m, keyMsg("enter"))
	if got := sentCodes(e); !slices.Equal(got, []string{"", "", "654321"}) {
		t.Fatalf("codes sent: %q", got)
	}
}

// Wrong, used and another vehicle's codes each say what happened, and a
// new code comes (document 002: restart the flow).
func TestRefusedCodesSayWhy(t *testing.T) {
	t.Parallel()
	t.Run("used", func(t *testing.T) {
		e := ignitionEnv()
		e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
			if c.code == "" {
				return commands.SendResult{Confirmation: &commands.Confirmation{Code: []string{"", "123456", "", "654321"}[n], Message: disableMessage}}, nil
			}
			return commands.SendResult{}, &commands.DetailError{HTTPStatus: 409, Kind: commands.ErrConfirmationUsed, Detail: "Confirmation already used"}
		}
		m := started(t, e, 80, 24)
		pick(t, m, 0, "enable_ignition")
		typeText(t, m, "123456")
		drive(t, m, keyMsg("enter"))
		mustContain(t, modalText(m.View()), "✗ that code was already used: each code works once. The platform issued a new code: type it.", "Code 654321")
	})
	t.Run("another vehicle's", func(t *testing.T) {
		e := ignitionEnv()
		e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
			if c.code == "" {
				code := map[string]string{"WBA12345678901234": "111111", "1FTFW1ET5DFC10312": "222222"}[c.vin]
				if n > 2 {
					code = "333333"
				}
				return commands.SendResult{Confirmation: &commands.Confirmation{Code: code, Message: disableMessage}}, nil
			}
			return commands.SendResult{}, &commands.DetailError{HTTPStatus: 400, Kind: commands.ErrConfirmationInvalid, Detail: "Confirmation invalid"}
		}
		m := started(t, e, 80, 24)
		pick(t, m, 1, "enable_ignition") // WBA…: code 111111
		drive(t, m, keyMsg("esc"))
		pick(t, m, 0, "enable_ignition") // 1FTF…: code 222222
		typeText(t, m, "111111")
		drive(t, m, keyMsg("enter"))
		mustContain(t, modalText(m.View()), "✗ that code was issued for WBA12345678901234 (enable_ignition), not for this vehicle.", "Code 333333")
	})
}

// [commands] confirm puts a y/n, with the vehicle's facts, before any
// command; any other key keeps things as they are.
func TestPolicyConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.tele.liveState("1FTFW1ET5DFC10312", 0, "off", time.Second)
	e.opts.Policy = config.CommandPolicy{Confirm: []string{"unlock_door"}}
	m := started(t, e, 80, 24)
	pick(t, m, 0, "unlock_door")
	v := modalText(m.View())
	mustContain(t, v, "unlock_door — unlock the vehicle's doors", "1FTFW1ET5DFC10312 ford · clearance approved",
		"Speed 0 km/h · 1s ago · stopped", "Send unlock_door to 1FTFW1ET5DFC10312?", "y: send · any other key: keep it")
	drive(t, m, keyMsg("n"))
	if n := len(e.cmds.calls()); n != 0 || m.modals.active() {
		t.Fatalf("n sent %d commands", n)
	}
	mustContain(t, m.View(), "unlock_door → 1FTFW1ET5DFC10312 aborted")
	drive(t, m, keyMsg("enter"), keyMsg("y"))
	if c := e.cmds.calls(); len(c) != 1 || c[0].command != "unlock_door" {
		t.Fatalf("sends %+v", c)
	}
	// lock_door is not listed: it goes out on enter, as before.
	pick(t, m, 0, "lock_door")
	if n := len(e.cmds.calls()); n != 2 {
		t.Fatalf("lock_door: %d sends", n)
	}
}

// When the box is taller than the screen, it scrolls: the input stays in
// view, and nothing is cut.
func TestModalScrollsWhenItCannotFit(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	typeText(t, m, "stolen")
	drive(t, m, keyMsg("enter"))
	typeText(t, m, "123456")
	drive(t, m, keyMsg("enter"))
	typeText(t, m, "9999")
	drive(t, m, keyMsg("enter")) // a wrong VIN ending adds a note: 22 lines in a 19-line box
	v := m.View()
	checkFrame(t, v, 80, 24)
	mustContain(t, v, "↑ more above", "› 9999", "that is not how this VIN ends")
	drive(t, m, tea.KeyMsg{Type: tea.KeyPgUp})
	v = m.View()
	mustContain(t, v, "disable_ignition — switch the ignition off", "↓ more below")
	mustNotContain(t, v, "↑ more above")
	drive(t, m, tea.KeyMsg{Type: tea.KeyPgDown})
	mustContain(t, m.View(), "that is not how this VIN ends")
}

// --- four eyes ---------------------------------------------------------

// twoConsoles are alice's and bob's consoles on one approval backend, with
// [commands] approval = ["disable_ignition"].
func twoConsoles(t *testing.T) (alice, bob *Model, ae, be *testEnv, b *approvalBackend, clock *testClock) {
	t.Helper()
	clock = &testClock{t: testNow}
	b = &approvalBackend{now: clock.now}
	mk := func(user string) (*Model, *testEnv) {
		e := disableEnv()
		e.opts.Now = clock.now
		e.opts.User, e.opts.Role = user, "operator"
		e.opts.Policy = config.CommandPolicy{Approval: []string{"disable_ignition"}}
		e.opts.Approvals = b.desk(user)
		return started(t, e, 100, 30), e
	}
	alice, ae = mk("alice")
	bob, be = mk("bob")
	return
}

// reload has m look at the journal again (the watch's timer).
func reload(t *testing.T, m *Model) {
	t.Helper()
	drive(t, m, envelope{pane: paneRoot, msg: watchTick{}})
}

func TestFourEyes(t *testing.T) {
	t.Parallel()
	alice, bob, ae, be, backend, _ := twoConsoles(t)

	pick(t, alice, 0, "disable_ignition")
	typeText(t, alice, "stolen vehicle, police report 118")
	drive(t, alice, keyMsg("enter"))
	if n := len(ae.cmds.calls()); n != 0 {
		t.Fatalf("the code was requested before anyone approved (%d sends)", n)
	}
	mustContain(t, alice.View(), "approval requested (#1): a second operator must approve disable_ignition on 1FTFW1ET5DFC10312")
	if alice.modals.active() {
		t.Fatal("the requester is not kept waiting in a modal")
	}
	// The request carries what alice saw.
	if a := backend.list[0]; a.Reason != "stolen vehicle, police report 118" || !strings.Contains(a.Shown, "speed 12.5 km/h (3s old)") {
		t.Fatalf("request %+v", a)
	}

	// bob's console shows a badge, then the list with the live state.
	reload(t, bob)
	mustContain(t, bob.View(), "⚑ 1 to approve (A)")
	mustNotContain(t, alice.View(), "to approve")
	drive(t, bob, keyMsg("A"))
	v := bob.View()
	mustContain(t, v, "#1", "disable_ignition on 1FTFW1ET5DFC10312 · alice · pending · expires in 10m00s",
		"reason: stolen vehicle, police report 118", "now: speed 12.5 km/h · 3s ago", "the requester saw: speed 12.5 km/h (3s old)")

	// alice cannot approve her own.
	reload(t, alice)
	drive(t, alice, keyMsg("A"))
	mustContain(t, alice.View(), "alice (you)")
	drive(t, alice, keyMsg("y"))
	mustContain(t, alice.View(), "✗ you cannot approve your own request: another operator must")
	if backend.list[0].State != audit.ApprovalPending {
		t.Fatal("a self-approval went through")
	}
	drive(t, alice, keyMsg("esc"))

	// bob approves; alice's console asks for the code only now.
	drive(t, bob, keyMsg("y"))
	mustContain(t, bob.View(), "✓ approved #1: disable_ignition on 1FTFW1ET5DFC10312 (alice's request)")
	if n := len(be.cmds.calls()); n != 0 {
		t.Fatalf("the approver's console sent %d commands", n)
	}
	reload(t, alice)
	if c := ae.cmds.calls(); len(c) != 1 || c[0].code != "" || c[0].command != "disable_ignition" {
		t.Fatalf("after the approval: sends %+v", c)
	}
	v = modalText(alice.View())
	mustContain(t, v, "Reason stolen vehicle, police report 118", "Approved request #1 approved by bob at 12:00:00", "Code 123456")
	mustNotContain(t, v, "Why is this vehicle") // the reason was given with the request
	typeText(t, alice, "123456")
	drive(t, alice, keyMsg("enter"))
	typeText(t, alice, "0312")
	drive(t, alice, keyMsg("enter"))
	if got := sentCodes(ae); !slices.Equal(got, []string{"", "123456"}) {
		t.Fatalf("codes sent: %q", got)
	}
	// A second look does not start the flow again.
	reload(t, alice)
	if n := len(ae.cmds.calls()); n != 2 {
		t.Fatalf("the approval was used twice (%d sends)", n)
	}
}

func TestFourEyesRejectAndExpire(t *testing.T) {
	t.Parallel()
	alice, bob, ae, _, backend, clock := twoConsoles(t)
	request := func() {
		pick(t, alice, 0, "disable_ignition")
		typeText(t, alice, "why")
		drive(t, alice, keyMsg("enter"))
	}
	request()
	reload(t, bob)
	drive(t, bob, keyMsg("A"), keyMsg("n"))
	mustContain(t, bob.View(), "✓ rejected #1")
	reload(t, alice)
	if n := len(ae.cmds.calls()); n != 0 {
		t.Fatalf("a rejected request sent %d commands", n)
	}
	drive(t, alice, keyMsg("A"))
	mustContain(t, alice.View(), "rejected by bob")
	drive(t, alice, keyMsg("esc"))

	// Ten minutes without a decision: expired, and nobody can approve it.
	request()
	clock.add(10*time.Minute + time.Second)
	reload(t, bob)
	mustNotContain(t, bob.View(), "to approve")
	drive(t, bob, keyMsg("esc"), keyMsg("A"))
	mustContain(t, bob.View(), "#2", "expired")
	drive(t, bob, keyMsg("y"))
	mustContain(t, bob.View(), "✗ request #2 is expired: there is nothing to decide")
	if backend.list[1].State != audit.ApprovalPending || backend.list[1].Decider != nil {
		t.Fatal("an expired request was decided")
	}
}

// An approved command that needs no code does not go out by itself when
// the approval arrives: the requester says y first.
func TestApprovedCommandWithoutCodeAsksFirst(t *testing.T) {
	t.Parallel()
	alice, bob, ae, _, _, _ := twoConsoles(t)
	alice.commands.policy.Approval = []string{"unlock_door"}
	bob.commands.policy.Approval = []string{"unlock_door"}
	pick(t, alice, 0, "unlock_door")
	typeText(t, alice, "driver locked out")
	drive(t, alice, keyMsg("enter"))
	reload(t, bob)
	drive(t, bob, keyMsg("A"), keyMsg("y"))
	reload(t, alice)
	if n := len(ae.cmds.calls()); n != 0 {
		t.Fatalf("the approval sent it (%d sends)", n)
	}
	mustContain(t, modalText(alice.View()), "Approved request #1 approved by bob", "Send unlock_door to 1FTFW1ET5DFC10312?")
	drive(t, alice, keyMsg("y"))
	if c := ae.cmds.calls(); len(c) != 1 || c[0].command != "unlock_door" {
		t.Fatalf("sends %+v", c)
	}
}

// Without an approval desk, a command the policy lists is refused rather
// than sent.
func TestApprovalWithoutDeskRefuses(t *testing.T) {
	t.Parallel()
	e := disableEnv()
	e.opts.Policy = config.CommandPolicy{Approval: []string{"disable_ignition"}}
	m := started(t, e, 80, 24)
	pick(t, m, 0, "disable_ignition")
	typeText(t, m, "why")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "needs a second operator's approval")
	if n := len(e.cmds.calls()); n != 0 {
		t.Fatalf("%d sends", n)
	}
}

// --- immobilised -------------------------------------------------------

func TestImmobilisedReminder(t *testing.T) {
	t.Parallel()
	e := newEnv()
	log := &immobilisedLog{}
	log.set(audit.Immobilisation{VIN: "1FTFW1ET5DFC10312", Since: testNow.Add(-3 * time.Hour), By: audit.Actor{User: "alice"}, Reason: "stolen vehicle"})
	e.opts.Audit = log
	m := started(t, e, 200, 50)
	v := m.View()
	mustContain(t, v, "⊘ 1 immobilised")
	// A marker on its rows in every view.
	for _, row := range []*regexp.Regexp{
		regexp.MustCompile(`[▸ ]⊘1FTFW1ET5DFC10312 ford`),        // Clearance
		regexp.MustCompile(`[▸ ]⊘[●◐○] 1FTFW1ET5DFC10312\s+VIN`), // Telemetry (and how fresh its data is)
		regexp.MustCompile(`[▸ ]⊘1FTFW1ET5DFC10312 ford`),        // Commands
	} {
		if len(row.FindAllString(v, -1)) == 0 {
			t.Errorf("no marked row %s:\n%s", row, v)
		}
	}
	if n := len(regexp.MustCompile(`⊘(?:[●◐○] )?1FTFW1ET5DFC10312`).FindAllString(v, -1)); n != 3 {
		t.Errorf("%d marked rows, want one per view:\n%s", n, v)
	}
	mustNotContain(t, v, "⊘WBA12345678901234")
	// The list says since when, by whom and why.
	drive(t, m, keyMsg("A"))
	mustContain(t, m.View(), "⊘ 1FTFW1ET5DFC10312 since 2025-03-14 09:00 (3h ago) by alice: stolen vehicle")
	drive(t, m, keyMsg("esc"))
	// An enable_ignition that succeeds frees it: the journal says so on
	// the next look.
	log.set()
	reload(t, m)
	mustNotContain(t, m.View(), "immobilised", "⊘1FTFW1ET5DFC10312")
	// The Map view (issue 14) asks through Common.
	if _, ok := m.c.immob.get("1FTFW1ET5DFC10312"); ok {
		t.Fatal("still immobilised")
	}
}

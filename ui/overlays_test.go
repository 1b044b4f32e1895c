package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// Key flows of each overlay kind, driven at the pane: no root, no global
// keys in between.

// clearancePane is a Clearance pane on the sample fleet, sized and loaded.
func clearancePane(t *testing.T, f *fakeFleet, keys map[string][]string) *Clearance {
	t.Helper()
	p := newClearance(testCommon(t, keys), f, time.Hour)
	p.SetSize(80, 21)
	settle(t, p, p.Init())
	if !p.loaded {
		t.Fatalf("the list did not arrive:\n%s", p.View())
	}
	return p
}

// commandsPane is a Commands pane offering the sample fleet's approved
// vehicles.
func commandsPane(t *testing.T, svc CommandService, keys map[string][]string) *Commands {
	t.Helper()
	p := newCommands(testCommon(t, keys), svc, nil)
	p.pollFirst, p.pollMax = time.Millisecond, 5*time.Millisecond
	p.SetSize(80, 21)
	var approved []fleet.Vehicle
	for _, v := range sampleFleet().vehicles {
		if v.Status == fleet.StatusApproved {
			approved = append(approved, v)
		}
	}
	p.SetVehicles(approved)
	settle(t, p, p.Init())
	return p
}

func topIs[T overlay](t *testing.T, o *overlays) T {
	t.Helper()
	ov, ok := o.top().(T)
	if !ok {
		var want T
		t.Fatalf("top overlay is %T, want %T", o.top(), want)
	}
	return ov
}

func TestConfirmOverlayKeys(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		key     string
		deletes bool
	}{{"y", true}, {"n", false}, {"esc", false}, {"q", false}} {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			f := sampleFleet()
			p := clearancePane(t, f, nil)
			drive(t, p, keyMsg("d"))
			topIs[*confirmDialog](t, &p.overlays)
			if !p.Capturing() {
				t.Fatal("a dialog must take every key (any other key aborts)")
			}
			mustContain(t, p.View(), "Revoke the clearance of 1FTFW1ET5DFC10312 (ford)?")
			if got := helpKeys(p.ShortHelp()); got != "y" {
				t.Fatalf("dialog help = %q", got)
			}
			drive(t, p, keyMsg(tc.key))
			_, _, del := f.calls()
			if tc.deletes != (len(del) == 1) {
				t.Fatalf("%s: deleted %v", tc.key, del)
			}
			if tc.deletes {
				// The answer replaces the dialog with a message.
				mustContain(t, topIs[*message](t, &p.overlays).View(), "1FTFW1ET5DFC10312: revoke requested")
				return
			}
			if p.overlays.active() {
				t.Fatalf("%s should close the dialog", tc.key)
			}
		})
	}
}

func TestFormOverlaySubmitAndCancel(t *testing.T) {
	t.Parallel()
	f := sampleFleet()
	p := clearancePane(t, f, nil)
	drive(t, p, keyMsg("a"))
	topIs[*formOverlay](t, &p.overlays)
	mustContain(t, p.View(), "Add a vehicle for clearance")
	drive(t, p, keyMsg("esc"))
	if p.overlays.active() {
		t.Fatal("back should close the form")
	}
	if _, added, _ := f.calls(); len(added) != 0 {
		t.Fatalf("a cancelled form sent %+v", added)
	}

	// A fresh form each time: nothing of the last one is left.
	drive(t, p, keyMsg("a"))
	mustNotContain(t, p.View(), "WBA")
	drive(t, p, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("WBA12345678901234")}, keyMsg("enter"))
	pickBrand(t, p, "bmw")
	_, added, _ := f.calls()
	if len(added) != 1 || added[0][0].VIN != "WBA12345678901234" || added[0][0].Brand != "bmw" {
		t.Fatalf("submitted %+v", added)
	}
	mustContain(t, topIs[*message](t, &p.overlays).View(), "WBA12345678901234  pending")
}

func TestMessageOverlayDismiss(t *testing.T) {
	t.Parallel()
	p := clearancePane(t, sampleFleet(), nil)
	drive(t, p, keyMsg("e"), keyMsg("enter"), keyMsg("enter"))
	msg := topIs[*message](t, &p.overlays)
	mustContain(t, msg.View(), "1FTFW1ET5DFC10312: ✓ eligible", "c: copy · any other key: back")
	if !p.Capturing() {
		t.Fatal("the key that dismisses a message must not reach the console")
	}
	drive(t, p, keyMsg("x"))
	if p.overlays.active() {
		t.Fatal("any key should dismiss the message")
	}
	mustContain(t, p.View(), "8 vehicles")
}

func TestDetailOverlayStacksTheDialog(t *testing.T) {
	t.Parallel()
	f := sampleFleet()
	p := clearancePane(t, f, nil)
	drive(t, p, keyMsg("enter"))
	topIs[*clearanceDetail](t, &p.overlays)
	if p.Capturing() {
		t.Fatal("the detail screen leaves the console keys alone")
	}
	drive(t, p, keyMsg("d"))
	topIs[*confirmDialog](t, &p.overlays)
	drive(t, p, keyMsg("n"))
	// Back to the detail it was opened from, not to the table.
	topIs[*clearanceDetail](t, &p.overlays)
	mustContain(t, p.View(), "Changelog")
	drive(t, p, keyMsg("esc"))
	if p.overlays.active() {
		t.Fatal("back should close the detail")
	}
}

// The detail's scroll is kept within the changelog by the keys themselves,
// not by View: keys pressed between two draws must not push it out.
func TestDetailScrollIsClampedByTheKeys(t *testing.T) {
	t.Parallel()
	f := sampleFleet()
	var cl []fleet.Change
	for i := 0; i < 40; i++ {
		cl = append(cl, change(40-i, fleet.StatusPending, fmt.Sprintf("step %02d", i)))
	}
	f.vehicles[0].Changelog = cl
	p := clearancePane(t, f, nil)
	drive(t, p, keyMsg("/"))
	typeText(t, p, "WBA")
	drive(t, p, keyMsg("enter"), keyMsg("enter"))
	topIs[*clearanceDetail](t, &p.overlays)
	for i := 0; i < 100; i++ {
		drive(t, p, keyMsg("down"))
	}
	mustContain(t, p.View(), "reason: step 00") // the oldest change, at the bottom
	for i := 0; i < 100; i++ {
		drive(t, p, keyMsg("down"))
	}
	drive(t, p, keyMsg("up"))
	v := p.View()
	mustContain(t, v, "reason: step 01")
	mustNotContain(t, v, "reason: step 00")
}

// The code step is a console-wide modal: digits only, all six, back
// aborts without sending step two.
func TestCodeModalOverlay(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	md := topIs[*sendModal](t, &m.modals)
	if got := helpKeys(md.ShortHelp()); got != "enter esc ↑/↓ pgup/pgdn" {
		t.Fatalf("modal help = %q", got)
	}
	typeText(t, m, "1a2")
	if md.input.Value() != "12" {
		t.Fatalf("letters must be dropped, got %q", md.input.Value())
	}
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "type all 6 digits of the code")
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("a short code was sent (%d sends)", n)
	}
	typeText(t, m, "3")
	mustNotContain(t, m.View(), "type all 6 digits")
	drive(t, m, keyMsg("esc"))
	if m.modals.active() || m.commands.flow.phase != flowDone {
		t.Fatal("back should abort the flow")
	}
	mustContain(t, m.View(), "the code was not sent, so nothing ran on the vehicle")
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("abort sent step two (%d sends)", n)
	}
}

func TestVINPromptOverlay(t *testing.T) {
	t.Parallel()
	cmds := &fakeCommands{}
	p := commandsPane(t, cmds, nil)
	drive(t, p, keyMsg("G"), keyMsg("enter"))
	topIs[*prompt](t, &p.prompts)
	typeText(t, p, "short")
	drive(t, p, keyMsg("enter"))
	mustContain(t, p.View(), "a VIN is 17 letters and digits")
	for range 5 {
		drive(t, p, keyMsg("backspace"))
	}
	typeText(t, p, "wba12345678901234")
	drive(t, p, keyMsg("enter"))
	if calls := cmds.calls(); len(calls) != 1 || calls[0].vin != "WBA12345678901234" {
		t.Fatalf("sends: %+v", calls)
	}
	if p.prompts.active() {
		t.Fatal("an accepted VIN closes the prompt")
	}
}

// helpKeys is the keys of bindings as help shows them, space-separated.
func helpKeys(bs []key.Binding) string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Help().Key)
	}
	return strings.Join(out, " ")
}

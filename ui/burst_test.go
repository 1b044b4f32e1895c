package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// porscheEnv is the sample fleet plus an approved Porsche (WMI WP0).
func porscheEnv() *testEnv {
	e := newEnv()
	e.fleet.vehicles = append(e.fleet.vehicles, fleet.Vehicle{VIN: "WP0ZZZ99ZKS123456", Brand: "porsche", Status: fleet.StatusApproved,
		Changelog: []fleet.Change{change(3, fleet.StatusApproved, "")}})
	return e
}

// `tmux send-keys -l jjj` arrives as one KeyMsg: three moves, in every
// pane's list.
func TestBurstIsThatManyKeys(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, burst("jjj"))
	if got := m.clearance.win.cursor; got != 3 {
		t.Fatalf("jjj moved the clearance cursor to %d, want 3", got)
	}
	drive(t, m, burst("kk"))
	if got := m.clearance.win.cursor; got != 1 {
		t.Fatalf("kk moved the clearance cursor to %d, want 1", got)
	}
	drive(t, m, keyMsg("2"), burst("jj"))
	if got := m.telemetry.vwin.cursor; got != 2 {
		t.Fatalf("jj moved the telemetry cursor to %d, want 2", got)
	}
	// A burst that switches panes and moves: 3 then j.
	drive(t, m, burst("3jG"))
	if m.focus != paneCommands || m.commands.vwin.cursor != len(m.commands.vview)-1 {
		t.Fatalf("3jG: focus %v, vehicle row %d of %d", m.focus, m.commands.vwin.cursor, len(m.commands.vview))
	}
}

// Each key of a burst lands on the console as the keys before it left it:
// "4." shows the Map (which then reads the feed and starts on Telemetry's
// vehicle) and goes to that vehicle, as 4 and . typed apart do.
func TestBurstKeysSeeWhatTheKeysBeforeThemDid(t *testing.T) {
	t.Parallel()
	apart, together := newEnv(), newEnv()
	withMapStore(t, apart)
	withMapStore(t, together)
	ma, mt := started(t, apart, 80, 24), started(t, together, 80, 24)
	drive(t, ma, keyMsg("4"), keyMsg("."))
	drive(t, mt, burst("4."))
	if ma.mapv.auto || ma.mapv.selID == "" {
		t.Fatalf("setup: 4 then . left the map fitted (auto %v) on %q", ma.mapv.auto, ma.mapv.selID)
	}
	if mt.mapv.view != ma.mapv.view || mt.mapv.auto {
		t.Fatalf("the burst 4. left the map at %+v (fitting %v), the keys apart at %+v", mt.mapv.view, mt.mapv.auto, ma.mapv.view)
	}
}

// The scenario: "/", "WP0" and enter sent together open the
// filter, type WP0 into it and keep it; the d that follows addresses the
// Porsche the filter chose, not the row that was selected before.
func TestBurstOpensTheFilterAndTypesTheRest(t *testing.T) {
	t.Parallel()
	e := porscheEnv()
	m := started(t, e, 80, 24)
	drive(t, m, burst("jj")) // the selection is elsewhere first
	before := m.clearance.selectedVIN()
	drive(t, m, burst("/WP0"), keyMsg("enter"))
	if m.clearance.filter.active || m.clearance.filter.query() != "WP0" {
		t.Fatalf("filter active %v, query %q; want WP0 kept", m.clearance.filter.active, m.clearance.filter.query())
	}
	if m.clearance.overlays.active() {
		t.Fatalf("enter opened an overlay instead of keeping the filter:\n%s", m.View())
	}
	drive(t, m, keyMsg("d"))
	v := m.View()
	mustContain(t, v, "Revoke the clearance of WP0ZZZ99ZKS123456 (porsche)?")
	mustNotContain(t, v, before)
	drive(t, m, keyMsg("n"))
	if _, _, deleted := e.fleet.calls(); len(deleted) != 0 {
		t.Fatalf("deleted %v", deleted)
	}
}

// Inside a text entry a burst is text: q, 1 and j are letters of a filter,
// not quit, a pane and a move.
func TestBurstInsideATextEntryIsText(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("/"), burst("q1j"))
	if got := m.clearance.filter.query(); got != "q1j" {
		t.Fatalf("filter = %q, want q1j", got)
	}
	if m.focus != paneClearance {
		t.Fatal("a letter of the burst switched panes")
	}
	drive(t, m, keyMsg("esc"))

	// The add form's VIN field takes a whole VIN at once; in the brand
	// select the same letters are keys again.
	drive(t, m, keyMsg("a"), burst("WBA12345678901234"), keyMsg("enter"))
	mustContain(t, m.View(), "> WBA12345678901234")
	if takesText(m.clearance.overlays.top()) {
		t.Fatal("the brand select is not a text field")
	}
	drive(t, m, burst("jj"))
	mustContain(t, m.View(), "> audi") // bmw (proposed), alfaromeo, audi
}

// Bracketed paste is text: into a text entry it goes whole, elsewhere it is
// dropped with a word, never read as keys (pasted "dy" revokes nothing).
func TestPasteIsNeverKeys(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("dy"), Paste: true})
	if m.clearance.overlays.active() {
		t.Fatalf("a paste opened a dialog:\n%s", m.View())
	}
	if _, _, deleted := e.fleet.calls(); len(deleted) != 0 {
		t.Fatalf("a paste revoked %v", deleted)
	}
	mustContain(t, m.notes.entries[len(m.notes.entries)-1].text, "paste ignored: no text field is open")
	drive(t, m, keyMsg("/"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("wdd"), Paste: true})
	if got := m.clearance.filter.query(); got != "wdd" {
		t.Fatalf("pasted filter = %q", got)
	}
}

// A burst through the palette: ":" opens it, the rest is typed into it.
func TestBurstIntoThePalette(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, burst(":vin"), keyMsg(" "), burst("YV1"), keyMsg("enter"))
	if got := m.clearance.selectedVIN(); got != "YV1AAAAA1BB222222" {
		t.Fatalf("the palette jumped to %q", got)
	}
	if m.modals.active() {
		t.Fatal("the palette should have closed")
	}
}

// Keys of a burst past a dialog are key presses too, in order, as if typed
// one by one: "dn" opens the revoke dialog and n keeps the clearance; "dy"
// opens it and confirms (a paste never does: see TestPasteIsNeverKeys).
func TestBurstThroughADialog(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, burst("dn"))
	if m.clearance.overlays.active() {
		t.Fatalf("n should have closed the dialog:\n%s", m.View())
	}
	if _, _, deleted := e.fleet.calls(); len(deleted) != 0 {
		t.Fatalf("deleted %v", deleted)
	}
	drive(t, m, burst("dy"), keyMsg("enter"))
	if _, _, deleted := e.fleet.calls(); strings.Join(deleted, ",") != "1FTFW1ET5DFC10312" {
		t.Fatalf("dy deleted %v, want the selected vehicle", deleted)
	}
}

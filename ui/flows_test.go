package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/stream"
)

// started returns a model sized w×h whose first list has arrived.
func started(t *testing.T, e *testEnv, w, h int) *Model {
	t.Helper()
	m := e.model(t)
	drive(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	settle(t, m, m.Init())
	if !m.clearance.loaded && e.opts.Fleet != nil {
		t.Fatalf("first list did not arrive:\n%s", m.View())
	}
	return m
}

func mustContain(t *testing.T, view string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(view, p) {
			t.Fatalf("view lacks %q:\n%s", p, view)
		}
	}
}

func mustNotContain(t *testing.T, view string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(view, p) {
			t.Fatalf("view should not show %q:\n%s", p, view)
		}
	}
}

// checkFrame asserts the screen is exactly w×h cells: a longer line would
// wrap on a real terminal and break the layout.
func checkFrame(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Fatalf("%d×%d: view has %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Fatalf("%d×%d: line %d is %d cells wide: %q", w, h, i, got, l)
		}
	}
}

func TestClearanceFilter(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("/"))
	if !m.clearance.Capturing() {
		t.Fatal("/ should open the filter")
	}
	typeText(t, m, "mercedes")
	v := m.View()
	mustContain(t, v, "WDD1234567A123456", "1 of 8")
	mustNotContain(t, v, "WBA12345678901234")
	// Typed letters went to the filter, not to the global keys (q would quit).
	typeText(t, m, "q")
	mustContain(t, m.View(), "nothing matches the filter")
	drive(t, m, keyMsg("backspace"), keyMsg("enter"))
	if m.clearance.Capturing() {
		t.Fatal("enter should keep the filter and leave the input")
	}
	mustContain(t, m.View(), "WDD1234567A123456")
	// status matches too
	drive(t, m, keyMsg("esc"), keyMsg("/"))
	typeText(t, m, "rejected")
	v = m.View()
	mustContain(t, v, "VF1AB000123456789")
	mustNotContain(t, v, "WDD1234567A123456")
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "WDD1234567A123456", "WBA12345678901234")
}

func TestClearanceSort(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	order := func() []string {
		var vins []string
		for _, i := range m.clearance.view {
			vins = append(vins, m.clearance.rows[i].v.VIN)
		}
		return vins
	}
	if got := order(); got[0] != "1FTFW1ET5DFC10312" || got[7] != "ZFA31200000123456" {
		t.Fatalf("default sort by VIN: %v", got)
	}
	drive(t, m, keyMsg("s")) // brand
	if got := order(); got[0] != "WBA12345678901234" /* bmw */ || got[1] != "ZFA31200000123456" /* fiat */ || got[2] != "1FTFW1ET5DFC10312" /* ford */ {
		t.Fatalf("sort by brand: %v", got)
	}
	mustContain(t, m.View(), "BRAND↑")
	drive(t, m, keyMsg("S"))
	if got := order(); got[0] != "YV1AAAAA1BB222222" /* volvo-cars */ {
		t.Fatalf("reversed brand sort: %v", got)
	}
	mustContain(t, m.View(), "BRAND↓")
	drive(t, m, keyMsg("s"), keyMsg("s")) // last change, descending
	if got := order(); got[0] != "WDD1234567A123456" {
		t.Fatalf("newest change first: %v", got)
	}
}

func TestClearanceDetailShowsRejectionReason(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("down"), keyMsg("enter")) // VF1… rejected
	mustContain(t, m.View(), "VF1AB000123456789", "Changelog", "reason: odometer does not match the vehicle")
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "8 vehicles")
}

func TestClearanceRevokeDialog(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	// First row: 1FTFW… approved.
	drive(t, m, keyMsg("d"))
	v := m.View()
	mustContain(t, v, "Revoke the clearance of 1FTFW1ET5DFC10312", "approved → revoking → revoked: data access stops", "y: revoke")
	// Any other key aborts, and does not leak to the app (q must not quit).
	drive(t, m, keyMsg("q"))
	if _, _, del := e.fleet.calls(); len(del) != 0 {
		t.Fatalf("aborted dialog deleted %v", del)
	}
	mustContain(t, m.View(), "8 vehicles")
	drive(t, m, keyMsg("d"), keyMsg("n"))
	if _, _, del := e.fleet.calls(); len(del) != 0 {
		t.Fatalf("n deleted %v", del)
	}
	lists, _, _ := e.fleet.calls()
	drive(t, m, keyMsg("d"), keyMsg("y"))
	l2, _, del := e.fleet.calls()
	if len(del) != 1 || del[0] != "1FTFW1ET5DFC10312" {
		t.Fatalf("y should revoke 1FTFW…, deleted %v", del)
	}
	if l2 <= lists {
		t.Fatal("a revoke should refresh the list")
	}
	mustContain(t, m.View(), "revoke requested")
}

func TestClearanceCancelPendingDialog(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("/"))
	typeText(t, m, "WDD")
	drive(t, m, keyMsg("enter"), keyMsg("d"))
	mustContain(t, m.View(), "Cancel the clearance of WDD1234567A123456", "pending → canceling → canceled")
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "WDD1234567A123456")
}

func TestClearanceRevokeConflictSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.delErr = &fleet.APIError{Status: 409, Errors: []fleet.ErrorItem{{Title: "Conflict", Detail: "in transition"}}}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("d"), keyMsg("y"))
	mustContain(t, m.View(), "already removed or in transition")
}

// brandIndex is the position of b in the form's brand list.
// pickBrand moves the brand select to b (wherever the VIN's proposal put
// it) and takes it.
func pickBrand(t *testing.T, m tea.Model, b string) {
	t.Helper()
	on := func() bool {
		for _, l := range strings.Split(m.View(), "\n") {
			l = strings.TrimSpace(strings.TrimLeft(l, "┃│ "))
			if l == "> "+b || strings.HasPrefix(l, "> "+b+" ") {
				return true
			}
		}
		return false
	}
	for i := 0; i <= len(fleet.Brands()); i++ {
		if on() {
			drive(t, m, keyMsg("enter"))
			return
		}
		drive(t, m, keyMsg("down"))
	}
	t.Fatalf("brand %s not found in the select:\n%s", b, m.View())
}

func TestAddMercedesNeedsOdometer(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("a"))
	if _, ok := m.clearance.overlays.top().(*formOverlay); !ok {
		t.Fatalf("a should open the add form:\n%s", m.View())
	}
	drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("WDD2221231A123456")})
	mustContain(t, m.View(), "VIN")
	drive(t, m, keyMsg("enter"))
	pickBrand(t, m, fleet.BrandMercedesBenz)
	mustContain(t, m.View(), "Odometer (required for Mercedes-Benz)")
	// Enter on an empty odometer: refused, nothing sent.
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "required for Mercedes-Benz")
	if _, ok := m.clearance.overlays.top().(*formOverlay); !ok {
		t.Fatal("the form must not submit without an odometer")
	}
	if _, added, _ := e.fleet.calls(); len(added) != 0 {
		t.Fatalf("sent without odometer: %+v", added)
	}
	drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("12345")}, keyMsg("enter"), keyMsg("enter"))
	_, added, _ := e.fleet.calls()
	if len(added) != 1 || len(added[0]) != 1 {
		t.Fatalf("add calls: %+v", added)
	}
	got := added[0][0]
	if got.VIN != "WDD2221231A123456" || got.Brand != fleet.BrandMercedesBenz || got.Odometer == nil ||
		got.Odometer.Value != 12345 || got.Odometer.Unit != fleet.UnitKilometers {
		t.Fatalf("added %+v (odometer %+v)", got, got.Odometer)
	}
	mustContain(t, m.View(), "WDD2221231A123456  pending")
}

func TestAddErrorRowShowsDescription(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.addRes = func(vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
		return []fleet.AddResult{{VIN: vs[0].VIN, Status: fleet.StatusError, Description: "brand does not match the VIN"}}, nil
	}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("a"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("WBA12345678901235")})
	// Bad check digit: warned as you type, but allowed.
	mustContain(t, m.View(), "⚠ check digit")
	drive(t, m, keyMsg("enter"))
	pickBrand(t, m, "bmw")
	_, added, _ := e.fleet.calls()
	if len(added) != 1 || added[0][0].Odometer != nil {
		t.Fatalf("bmw add: %+v", added)
	}
	mustContain(t, m.View(), "WBA12345678901235  error: brand does not match the VIN")
}

func TestAddFormRefusesInvalidVIN(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Sandbox = false // on a sandbox the sandbox brand would take it
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("a"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("WBAI2345678901234")})
	mustContain(t, m.View(), "✗ invalid VIN")
	drive(t, m, keyMsg("enter"), keyMsg("enter"), keyMsg("enter"))
	if _, added, _ := e.fleet.calls(); len(added) != 0 {
		t.Fatalf("invalid VIN sent: %+v", added)
	}
	drive(t, m, keyMsg("esc"))
	if m.clearance.overlays.active() {
		t.Fatal("esc should close the form")
	}
}

func TestEligibilityOfSelectedVIN(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("e"))
	mustContain(t, m.View(), "Eligibility check", "1FTFW1ET5DFC10312")
	drive(t, m, keyMsg("enter"), keyMsg("enter"))
	mustContain(t, m.View(), "1FTFW1ET5DFC10312: ✓ eligible", "data delivery: pull, push", "connectivity: activated")
}

func TestChangesAreHighlightedAndAnnounced(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	e.fleet.mu.Lock()
	e.fleet.vehicles[1].Status = fleet.StatusApproved // WDD… pending → approved
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("r"))
	v := m.View()
	mustContain(t, v, "changed: WDD… approved", "1 Clearance •1", "•WDD1234567A123456")
	// The Commands pane now offers it.
	drive(t, m, keyMsg("3"))
	mustContain(t, m.View(), "WDD1234567A123456")
}

func TestStaleListReplyIsDropped(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	newer := []fleet.Vehicle{{VIN: "NEWER000000000001", Brand: "bmw", Status: fleet.StatusApproved}}
	older := []fleet.Vehicle{{VIN: "OLDER000000000001", Brand: "bmw", Status: fleet.StatusApproved}}
	base := m.clearance.seq
	drive(t, m, envelope{pane: paneClearance, seq: base + 2, msg: listResult{vehicles: newer, at: testNow}})
	drive(t, m, envelope{pane: paneClearance, seq: base + 1, msg: listResult{vehicles: older, at: testNow}})
	v := m.View()
	mustContain(t, v, "NEWER000000000001")
	mustNotContain(t, v, "OLDER000000000001")
}

func TestListErrorDoesNotFreezeInput(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	e.fleet.mu.Lock()
	// As the client returns it: wrapped with what it was doing.
	e.fleet.listErr = fmt.Errorf("list vehicles: %w", &fleet.APIError{Status: 401, Errors: []fleet.ErrorItem{{Title: "Unauthorized"}}})
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("r"))
	v := m.View()
	mustContain(t, v, "✗ list vehicles: HTTP 401", "fleet invalid")
	drive(t, m, keyMsg("down"), keyMsg("2"))
	mustContain(t, m.View(), "[2 Telemetry]")
}

// ignitionEnv scripts the documented two-step flow with a wrong code first.
func ignitionEnv() *testEnv {
	e := newEnv()
	e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
		switch {
		case c.code == "" && n == 1:
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: "123456",
				Message: "Atenção: o veículo será ligado. Confirme com o código."}}, nil
		case c.code == "":
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: "654321",
				Message: "Atenção: o veículo será ligado. Confirme com o código."}}, nil
		case c.code == "654321":
			return commands.SendResult{Command: &commands.Command{ID: "cmd-1", VIN: c.vin, Command: c.command, Status: commands.StatusPending}}, nil
		}
		return commands.SendResult{}, &commands.DetailError{HTTPStatus: 400, Kind: commands.ErrConfirmationInvalid,
			Detail: "Confirmation invalid", Hint: "send again"}
	}
	e.cmds.status = func(id string, n int) (commands.Command, error) {
		if n < 2 {
			return commands.Command{ID: id, Status: commands.StatusPending}, nil
		}
		return commands.Command{ID: id, Status: commands.StatusSuccess, Detail: []byte(`{"ignition":"on"}`), Updated: testNow.Add(3 * time.Second)}, nil
	}
	return e
}

func TestIgnitionTwoStepWrongThenRightCode(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("right"))
	for i := 0; i < 4; i++ { // lock_door unlock_door location diagnostics enable_ignition
		drive(t, m, keyMsg("down"))
	}
	drive(t, m, keyMsg("enter"))
	v := m.View()
	mustContain(t, v, "enable_ignition — switch the ignition back on", "1FTFW1ET5DFC10312  ford · clearance approved",
		"Atenção: o veículo será ligado. Confirme com o código.", "(no translation: this is the platform's message, in Portuguese)",
		"Code      123456 · valid 2m00s")
	if got := codeTyped(t, m); got != "" {
		t.Fatalf("the code input must start empty, has %q", got)
	}
	if !m.modals.capturing() {
		t.Fatal("the code input should have the keys")
	}
	typeText(t, m, "111111")
	drive(t, m, keyMsg("enter"))
	v = m.View()
	mustContain(t, v, "✗ that is not the code the platform issued for this vehicle. The platform", "issued a new code: type it.", "Code      654321")
	if got := codeTyped(t, m); got != "" {
		t.Fatalf("after a restart the input must be empty, has %q", got)
	}
	// Letters are dropped; at most six digits are taken.
	typeText(t, m, "x65a4321")
	if got := codeTyped(t, m); got != "654321" {
		t.Fatalf("code input = %q", got)
	}
	drive(t, m, keyMsg("enter"))
	if m.modals.active() {
		t.Fatalf("the modal stays open after the command was accepted:\n%s", m.View())
	}
	v = m.View()
	mustContain(t, v, "enable_ignition → 1FTFW1ET5DFC10312 Success", `{"ignition":"on"}`)
	drive(t, m, keyMsg("N")) // the toasts float over the history
	mustContain(t, m.View(), "12:00:00  1FTFW1ET5DFC10312 enable_ignition  Success")
	var codes []string
	for _, c := range e.cmds.calls() {
		codes = append(codes, c.code)
	}
	if strings.Join(codes, ",") != ",111111,,654321" {
		t.Fatalf("codes sent: %q", codes)
	}
}

func TestIgnitionEscAborts(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	typeText(t, m, "12")
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "– enable_ignition → 1FTFW1ET5DFC10312 aborted", "the code was not sent, so nothing ran on the vehicle")
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("esc must not send step two (%d sends)", n)
	}
	if m.modals.active() || m.commands.Capturing() {
		t.Fatal("esc should close the modal and release the keys")
	}
}

func TestCommandErrorShowsDetailAndHint(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
		return commands.SendResult{}, &commands.DetailError{HTTPStatus: 404, Kind: commands.ErrCommandNotFound,
			Detail: "Command not found or unauthorized access.", Hint: "pick another command"}
	}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("enter"))
	mustContain(t, m.View(), "lock_door → 1FTFW1ET5DFC10312 failed", "Command not found or unauthorized access.", "hint: pick another command")
}

func TestCommandToTypedVIN(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("G"), keyMsg("enter")) // "other VIN…"
	if !strings.Contains(m.View(), "VIN: ") || !m.commands.Capturing() {
		t.Fatalf("expected the VIN input:\n%s", m.View())
	}
	typeText(t, m, "wba12345678901234")
	drive(t, m, keyMsg("enter"))
	calls := e.cmds.calls()
	if len(calls) != 1 || calls[0].vin != "WBA12345678901234" || calls[0].command != "lock_door" {
		t.Fatalf("sends: %+v", calls)
	}
}

func TestHelpToggles(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("?"))
	v := m.View()
	mustContain(t, v, "Keys — Clearance", "reverse sort", "revoke/cancel", "close help")
	drive(t, m, keyMsg("x"))
	mustContain(t, m.View(), "8 vehicles")
	drive(t, m, keyMsg("2"), keyMsg("?"))
	mustContain(t, m.View(), "Keys — Telemetry", "pause view")

	// The help screen lists every key a pane acts on: what enter opens on a
	// property, what copy copies on the map.
	m = started(t, newEnv(), 200, 50)
	drive(t, m, keyMsg("2"), keyMsg("?"))
	mustContain(t, m.View(), "Keys — Telemetry", "chart/items of a property")
	drive(t, m, keyMsg("x"), keyMsg("4"), keyMsg("?"))
	mustContain(t, m.View(), "Keys — Map", "copy the vehicle's id")
}

// The help screen lists every console-wide key, shift+tab (prev_pane)
// among them, as the config binds it; quit comes last.
func TestHelpListsEveryGlobalKey(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Keys = map[string][]string{"prev_pane": {"shift+tab", "ctrl+p"}}
	m := started(t, e, 200, 50)
	drive(t, m, keyMsg("?"))
	v := m.View()
	mustContain(t, v, "shift+tab/ctrl+p previous pane")
	for _, b := range m.c.Keys.Scoped(keymap.ScopeGlobal) {
		mustContain(t, v, b.Help().Key, b.Help().Desc)
	}
	if i, j := strings.Index(v, "link selection on/off"), strings.Index(v, "quit"); i < 0 || j < i {
		t.Fatalf("quit is not listed after the other global keys:\n%s", v)
	}
}

func TestTabsAndFocus(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	for _, step := range []struct{ key, want string }{
		{"tab", "[2 Telemetry]"}, {"tab", "[3 Commands]"}, {"tab", "[4 Map]"}, {"tab", "[1 Clearance]"},
		{"shift+tab", "[4 Map]"}, {"1", "[1 Clearance]"}, {"2", "[2 Telemetry]"}, {"4", "[4 Map]"},
	} {
		drive(t, m, keyMsg(step.key))
		mustContain(t, m.View(), step.want)
	}
	// Mouse: a click on a tab focuses it.
	drive(t, m, tea.MouseMsg{X: m.tabs()[2].x0 + 1, Y: 0, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	mustContain(t, m.View(), "[3 Commands]")
}

func TestResizeAtAnyMoment(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	sizes := [][2]int{{200, 50}, {80, 24}, {60, 20}, {160, 40}, {159, 40}, {10, 5}, {1, 1}, {0, 0}, {80, 24}}
	for _, s := range sizes {
		drive(t, m, tea.WindowSizeMsg{Width: s[0], Height: s[1]})
		for _, k := range []string{"1", "2", "3", "?", "?"} {
			drive(t, m, keyMsg(k))
			v := m.View()
			if s[0] > 0 && s[1] > 0 {
				checkFrame(t, v, s[0], s[1])
			}
		}
	}
	// In the middle of a dialog and a form too.
	drive(t, m, keyMsg("1"), keyMsg("d"), tea.WindowSizeMsg{Width: 60, Height: 20})
	checkFrame(t, m.View(), 60, 20)
	drive(t, m, keyMsg("n"), keyMsg("a"), tea.WindowSizeMsg{Width: 200, Height: 50})
	checkFrame(t, m.View(), 200, 50)
	drive(t, m, tea.WindowSizeMsg{Width: 30, Height: 8})
	checkFrame(t, m.View(), 30, 8)
}

func TestWideShowsAllThreePanes(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 200, 50)
	v := m.View()
	mustContain(t, v, "─ Telemetry ", "─ Commands ", "━ Clearance ", "8 vehicles", "● connected", "Vehicle (approved)")
	drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	mustNotContain(t, m.View(), "─ Telemetry ")
}

func TestDisabledProviders(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Fleet, e.opts.Commands, e.opts.Telemetry, e.opts.Platform = nil, (*commands.Client)(nil), nil, nil
	m := started(t, e, 200, 50)
	v := m.View()
	mustContain(t, v, "Clearance disabled: no [fleet] section in config",
		"Telemetry disabled: no [telemetry] section in config",
		"Commands disabled: no [commands] section in config")
	for _, k := range []string{"a", "d", "e", "r", "enter", "/", "x", "esc", "p", "3", "enter"} {
		drive(t, m, keyMsg(k))
	}
	checkFrame(t, m.View(), 200, 50)
}

func TestProductionFrame(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Production, e.opts.Sandbox, e.opts.Profile = true, false, "fleet-eu"
	m := started(t, e, 80, 24)
	v := m.View()
	checkFrame(t, v, 80, 24)
	lines := strings.Split(v, "\n")
	if !strings.HasPrefix(lines[0], "┏━ PRODUCTION · fleet-eu ") || !strings.HasPrefix(lines[23], "┗━") {
		t.Fatalf("no production frame:\n%s", v)
	}
	mustContain(t, v, " PRODUCTION  fleet-eu │")
	mustNotContain(t, v, "SANDBOX")
}

func TestReadOnlyRefusesMutations(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.ReadOnly = true
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("a"))
	mustContain(t, m.View(), "read-only session")
	drive(t, m, keyMsg("x"), keyMsg("d"))
	mustContain(t, m.View(), "read-only session")
	drive(t, m, keyMsg("x"), keyMsg("3"), keyMsg("enter"))
	mustContain(t, m.View(), "read-only session: sending commands is disabled")
	_, added, del := e.fleet.calls()
	if len(added)+len(del)+len(e.cmds.calls()) != 0 {
		t.Fatal("read-only session mutated something")
	}
	mustNotContain(t, m.View(), "enter send")
}

func TestBadKeysConfig(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Keys = map[string][]string{"revokee": {"D"}}
	if _, err := New(context.Background(), e.opts); err == nil || !strings.Contains(err.Error(), "revokee") {
		t.Fatalf("err = %v", err)
	}
	e.opts.Keys = map[string][]string{"revoke": {"D"}}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("d"))
	mustNotContain(t, m.View(), "Revoke the clearance")
	drive(t, m, keyMsg("D"))
	mustContain(t, m.View(), "Revoke the clearance")
}

func TestTelemetryBatchesAndPause(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"))
	add := func(id string) {
		e.tele.mu.Lock()
		e.tele.vehicles = append(e.tele.vehicles, stream.VehicleSummary{ID: id, LastSeen: testNow, Rate: 2})
		e.tele.mu.Unlock()
	}
	// Batches are delivered as the feed reader would wrap them (the
	// channel-reading command itself runs in TestFeedThroughProgram).
	push := func(seq uint64, id string) {
		b := stream.Batch{Seq: seq, Changed: []string{id}, State: stream.ConnState{Phase: stream.Connected},
			Stats: stream.Stats{Received: seq * 10, Dropped: 2, Malformed: 3}, At: testNow.Add(time.Duration(seq) * 100 * time.Millisecond)}
		drive(t, m, envelope{pane: paneTelemetry, seq: seq, msg: batchMsg{b: b, ok: true}})
	}
	add("XTA21000000000001")
	push(1, "XTA21000000000001")
	mustContain(t, m.View(), "XTA21000000000001", "dropped 2 · malformed 3")
	drive(t, m, keyMsg("p"))
	mustContain(t, m.View(), "PAUSED")
	add("XTA21000000000002")
	push(2, "XTA21000000000002")
	mustNotContain(t, m.View(), "XTA21000000000002")
	drive(t, m, keyMsg("p"))
	mustContain(t, m.View(), "XTA21000000000002")
	mustNotContain(t, m.View(), "PAUSED")
}

func TestTelemetrySelectionAndFilter(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("2"))
	v := m.View()
	mustContain(t, v, "⧉ 26ace794…", "pseudonym", "charging.battery_level", "81 %", "▁", "⚠ unsupported: not available for this model")
	drive(t, m, keyMsg("down"))
	mustContain(t, m.View(), "(pseudonym)")
	drive(t, m, keyMsg("/"))
	typeText(t, m, "wba")
	drive(t, m, keyMsg("enter"))
	v = m.View()
	mustContain(t, v, `filter "wba": 1`, "WBA12345678901234")
	mustNotContain(t, v, "26ace794")
}

// A property that arrives for the first time sorts in above the selected
// one: the selection stays on its property (enter would open the chart of
// another one otherwise).
func TestTelemetryPropertyCursorStaysOnItsProperty(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"), keyMsg("right"), keyMsg("down"))
	selected := func() string {
		p := m.telemetry.props[m.telemetry.pwin.cursor]
		return p.Capability + "." + p.Name
	}
	if got := selected(); got != "diagnostics.odometer" {
		t.Fatalf("selected %s", got)
	}
	e.tele.mu.Lock()
	props := e.tele.props["1FTFW1ET5DFC10312"]
	e.tele.props["1FTFW1ET5DFC10312"] = append([]stream.Property{props[0],
		{Capability: "charging", Name: "charging_rate", Value: "0", Unit: "kW", Numeric: true, SourceTime: testNow}}, props[1:]...)
	e.tele.mu.Unlock()
	drive(t, m, envelope{pane: paneTelemetry, seq: 1, msg: batchMsg{ok: true, b: stream.Batch{Seq: 1, Changed: []string{"1FTFW1ET5DFC10312"},
		State: stream.ConnState{Phase: stream.Connected}, At: testNow}}})
	mustContain(t, m.View(), "charging.charging_rate")
	if got := selected(); got != "diagnostics.odometer" {
		t.Fatalf("after a new property arrived, selected %s", got)
	}
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "Chart · diagnostics.odometer")
}

func TestMouseSelectsAndScrolls(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet = bigFleet(500)
	e.opts.Fleet = e.fleet
	m := started(t, e, 80, 24)
	// Screen line 0 is the tab bar; the pane starts with its title and the
	// column header, so line 3 is the first row.
	drive(t, m, tea.MouseMsg{X: 5, Y: 6, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if m.clearance.win.cursor != 3 {
		t.Fatalf("click on the 4th row selected row %d", m.clearance.win.cursor)
	}
	for i := 0; i < 10; i++ {
		drive(t, m, tea.MouseMsg{X: 5, Y: 10, Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	}
	if m.clearance.win.offset != 30 {
		t.Fatalf("10 wheel notches scrolled to %d, want 30", m.clearance.win.offset)
	}
	mustContain(t, m.View(), "WBA00000000000030")
	mustNotContain(t, m.View(), "WBA00000000000029")
	// In the wide layout a click lands in the pane under the pointer.
	drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 50})
	x := m.lay.box[paneTelemetry].x + 3
	drive(t, m, tea.MouseMsg{X: x, Y: 1 + 1 + 2 + 1, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if m.focus != paneTelemetry || m.telemetry.vwin.cursor != 1 {
		t.Fatalf("focus %v, telemetry row %d", m.focus, m.telemetry.vwin.cursor)
	}
}

// A reply to a flow the operator already left must not take over the panel;
// if it registered a command, the history still shows it.
func TestLateSendReplyDoesNotHijackTheFlow(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	mustContain(t, m.View(), "Code      123456")
	stale := m.commands.flow.seq - 1
	drive(t, m, envelope{pane: paneCommands, seq: stale, msg: sendResult{vin: "WBA12345678901234", command: "lock_door", step: 1,
		res: commands.SendResult{Confirmation: &commands.Confirmation{Code: "999999", Message: "velho"}}}})
	v := m.View()
	mustContain(t, v, "Code      123456")
	mustNotContain(t, v, "999999", "velho")
	drive(t, m, envelope{pane: paneCommands, seq: stale, msg: sendResult{vin: "WBA12345678901234", command: "lock_door", step: 1,
		res: commands.SendResult{Command: &commands.Command{ID: "late-1", Status: commands.StatusSuccess}}}})
	m.notes.dismiss() // its toast floats over the history line (the prompt has the keys)
	v = m.View()
	mustContain(t, v, "Code      123456")
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "WBA12345678901234 lock_door        Success")
}

func TestParseOdometerBounds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"45210", 45210, true}, {" 0 ", 0, true}, {"10000000", 10_000_000, true},
		{"10000001", 0, false}, {"99999999999999999999", 0, false}, {"12a", 0, false}, {"-5", 0, false},
	} {
		n, err := parseOdometer(tc.in, true)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("parseOdometer(%q) = %d, %v", tc.in, n, err)
		}
	}
	if _, err := parseOdometer("", true); err == nil {
		t.Error("an empty required odometer was accepted")
	}
}

// codeTyped is what the open confirmation modal's input holds.
func codeTyped(t *testing.T, m *Model) string {
	t.Helper()
	md, ok := m.modals.top().(*sendModal)
	if !ok {
		t.Fatalf("no confirmation modal open:\n%s", m.View())
	}
	return md.input.Value()
}

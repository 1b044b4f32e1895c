package ui

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
)

// Strings a hostile broker, API or vehicle could send: a window title
// change (OSC), a screen clear (CSI), an 8-bit CSI, a bell, a bidi override.
const (
	oscTitle = "\x1b]0;pwned\x07"
	csiClear = "\x1b[2J\x1b[H"
	c1CSI    = "\u009b31m"
	bidi     = "\u202e"
)

func hostile(s string) string { return oscTitle + s + csiClear + c1CSI + bidi + "\a" }

// assertInert fails if anything in view could steer the terminal.
func assertInert(t *testing.T, view string) {
	t.Helper()
	for i, r := range view {
		if r == '\n' {
			continue
		}
		if r == 0x1b || unicode.IsControl(r) || r == '\u202e' {
			t.Fatalf("control character %U at byte %d of the view:\n%q", r, i, view)
		}
	}
	if strings.Contains(view, "]0;pwned") && strings.Contains(view, "\x07") {
		t.Fatal("OSC sequence survived")
	}
}

func TestHostileStringsNeverReachTheTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.vehicles = append(e.fleet.vehicles, fleet.Vehicle{
		VIN: hostile("BADC0DE0000000001"), Brand: hostile("bmw"), Status: fleet.Status(hostile("approved")),
		Changelog: []fleet.Change{{Timestamp: testNow, Status: fleet.Status(hostile("rejected")), Reason: hostile("reason")}},
		Tags:      map[string]string{hostile("k"): hostile("v")},
	})
	e.fleet.addRes = func(vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
		return []fleet.AddResult{{VIN: hostile(vs[0].VIN), Status: fleet.StatusError, Description: hostile("no")}}, nil
	}
	e.fleet.elig = fleet.Eligibility{DataDelivery: []string{hostile("push")}, ConnectivityStatus: hostile("on")}
	e.tele.vehicles = append(e.tele.vehicles, stream.VehicleSummary{ID: hostile("EVILCAR"), LastSeen: testNow})
	e.tele.props[hostile("EVILCAR")] = []stream.Property{
		{Capability: hostile("cap"), Name: hostile("prop"), Value: hostile("42"), Unit: hostile("km"), Numeric: true, History: []float64{1, 2}},
		{Capability: "doors", Name: "locks", Failure: &stream.Failure{Reason: hostile("r"), Description: hostile("d")}},
	}
	e.tele.state = stream.ConnState{Phase: stream.Failed, Reason: hostile("tls")}
	e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
		if n == 1 {
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: hostile("123456"), Message: hostile("Atenção")}}, nil
		}
		return commands.SendResult{}, &commands.DetailError{HTTPStatus: 400, Detail: hostile("detail"), Hint: hostile("hint")}
	}
	m := started(t, e, 200, 50)
	views := []string{m.View()}
	snap := func() { views = append(views, m.View()) }

	// Clearance: the row, its detail, the add result, eligibility, an error.
	drive(t, m, keyMsg("/"))
	typeText(t, m, "badc0de")
	drive(t, m, keyMsg("enter"), keyMsg("enter"))
	snap()
	drive(t, m, keyMsg("esc"), keyMsg("e"), keyMsg("enter"), keyMsg("enter"))
	snap()
	drive(t, m, keyMsg("x"), keyMsg("a"), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("WBA12345678901234")}, keyMsg("enter"))
	pickBrand(t, m, "bmw")
	snap()
	e.fleet.mu.Lock()
	e.fleet.listErr = errors.New(hostile("list failed"))
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("x"), keyMsg("r"))
	snap()

	// Telemetry: the hostile vehicle selected, its properties shown.
	drive(t, m, keyMsg("2"), keyMsg("G"))
	snap()
	drive(t, m, envelope{pane: paneTelemetry, seq: 1, msg: batchMsg{ok: true, b: stream.Batch{Seq: 1, Full: true, State: e.tele.state, At: testNow}}})
	snap()

	// Commands: a confirmation, then an error with detail and hint.
	drive(t, m, keyMsg("3"), keyMsg("enter"))
	snap()
	typeText(t, m, "123456")
	drive(t, m, keyMsg("enter"))
	snap()
	for _, w := range [][2]int{{80, 24}, {60, 20}} {
		drive(t, m, tea.WindowSizeMsg{Width: w[0], Height: w[1]})
		for _, k := range []string{"1", "2", "3"} {
			drive(t, m, keyMsg(k))
			snap()
		}
	}
	for _, v := range views {
		assertInert(t, v)
	}
	all := strings.Join(views, "\n")
	// The hostile data was shown (made inert), not dropped.
	mustContain(t, all, "BADC0DE0000000001", "reason", "EVILCAR", "cap.prop", "Atenção", "detail", "list failed")
}

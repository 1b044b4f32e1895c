package ui

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
)

// With the back and send actions bound elsewhere, every text-entry mode
// follows the keymap: the filter, the form, the code prompt, the detail.
func TestRemappedKeysDriveTextEntry(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	e.opts.Keys = map[string][]string{"back": {"x"}, "send": {"f5"}}
	m := started(t, e, 80, 24)

	// Clearance filter: x clears and leaves it; esc is just a key now.
	drive(t, m, keyMsg("/"))
	typeText(t, m, "wdd")
	mustContain(t, m.View(), "1 of 8", "x clear")
	drive(t, m, keyMsg("x"))
	if m.clearance.Capturing() {
		t.Fatal("x (back) should leave the filter")
	}
	mustContain(t, m.View(), "8 vehicles")

	// The add form: x gives up.
	drive(t, m, keyMsg("a"))
	topIs[*formOverlay](t, &m.clearance.overlays)
	mustContain(t, m.View(), "x cancel")
	drive(t, m, keyMsg("esc"))
	topIs[*formOverlay](t, &m.clearance.overlays)
	drive(t, m, keyMsg("x"))
	if m.clearance.overlays.active() {
		t.Fatal("x (back) should close the form")
	}

	// The detail: x goes back, and its hint says so.
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "x: back · ↑/↓: scroll")
	drive(t, m, keyMsg("x"))
	mustContain(t, m.View(), "8 vehicles")

	// Commands: f5 sends; in the code prompt enter is only a key, f5
	// accepts and x aborts.
	drive(t, m, keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"))
	drive(t, m, keyMsg("enter"))
	if n := len(e.cmds.calls()); n != 0 {
		t.Fatalf("enter sent a command though send is f5 (%d sends)", n)
	}
	drive(t, m, tea.KeyMsg{Type: tea.KeyF5})
	v := m.View()
	mustContain(t, v, "Code      123456", "f5 confirm with the code", "x abort")
	typeText(t, m, "654321")
	drive(t, m, keyMsg("enter"))
	if n := len(e.cmds.calls()); n != 1 {
		t.Fatalf("enter sent the code though send is f5 (%d sends)", n)
	}
	drive(t, m, keyMsg("x"))
	mustContain(t, m.View(), "aborted", "the code was not sent")
	if m.modals.active() {
		t.Fatal("x (back) should close the code modal")
	}
}

// The status bar's broker comes from one place: a closed feed stays closed
// when the clock ticks, instead of being overwritten by a poll.
func TestBrokerStateHasOneSource(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	mustContain(t, m.View(), "broker connected")
	drive(t, m, envelope{pane: paneTelemetry, seq: 1, msg: batchMsg{ok: true, b: stream.Batch{
		Seq: 1, State: stream.ConnState{Phase: stream.Connecting, Attempt: 2}, At: testNow}}})
	connecting := "connecting (attempt 2), down 0s"
	mustContain(t, m.View(), "broker "+connecting)
	drive(t, m, clockMsg{})
	mustContain(t, m.View(), "broker "+connecting) // the source still says connected
	drive(t, m, envelope{pane: paneTelemetry, msg: batchMsg{ok: false}})
	mustContain(t, m.View(), "broker feed closed")
	drive(t, m, clockMsg{})
	mustContain(t, m.View(), "broker feed closed")
}

// fakeModal is a console-wide overlay that records what reached it.
type fakeModal struct {
	keys      []string
	ticks     int
	capturing bool
	w, h      int
}

type modalTick struct{}

func (f *fakeModal) Init() tea.Cmd { return nil }
func (f *fakeModal) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if msg.String() == "enter" {
			return nil, nil
		}
		f.keys = append(f.keys, msg.String())
	case envelope:
		if _, ok := msg.msg.(modalTick); ok {
			f.ticks++
		}
	}
	return f, nil
}
func (f *fakeModal) View() string {
	return fmt.Sprintf("MODAL %dx%d keys=%s ticks=%d", f.w, f.h, strings.Join(f.keys, ","), f.ticks)
}
func (f *fakeModal) SetSize(w, h int) { f.w, f.h = w, h }
func (f *fakeModal) ShortHelp() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "close modal"))}
}
func (f *fakeModal) Capturing() bool { return f.capturing }

// A pane opens a modal over the whole console: it gets the whole body, every
// key (q and the pane keys included), its timers, and the help line; closing
// it gives the panes back.
func TestConsoleWideModal(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 200, 50)
	fm := &fakeModal{capturing: true}
	settle(t, m, openModal(fm))
	v := m.View()
	checkFrame(t, v, 200, 50)
	mustContain(t, v, "MODAL 200x47", "enter close modal", "SANDBOX")
	mustNotContain(t, v, "─ Telemetry ", "8 vehicles", "? help")
	drive(t, m, keyMsg("q"), keyMsg("2"), keyMsg("?"), envelope{pane: paneModal, msg: modalTick{}})
	if got := strings.Join(fm.keys, ","); got != "q,2,?" || fm.ticks != 1 {
		t.Fatalf("modal got keys %q, %d ticks", got, fm.ticks)
	}
	if m.focus != paneClearance {
		t.Fatal("a key meant for the modal switched panes")
	}
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "─ Telemetry ", "8 vehicles")

	// One that does not capture still leaves quit to the console.
	drive(t, m, openModalMsg{ov: &fakeModal{}})
	mustContain(t, m.View(), "q/ctrl+c quit")
	if _, cmd := m.Update(keyMsg("q")); cmd == nil {
		t.Fatal("q should quit past a modal that does not capture")
	} else if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q should quit past a modal that does not capture")
	}
}

// state fingerprints a model's fields, one level deep (pointers as
// addresses): enough to see a View that writes to its model.
func state(v any) string { return fmt.Sprintf("%+v", v) }

// fingerprint is the state of the console, its panes and every open
// overlay, each one level deep.
func fingerprint(m *Model) []string {
	out := []string{state(*m), state(*m.clearance), state(*m.telemetry), state(*m.commands), state(*m.mapv), state(m.notes)}
	for _, ov := range append(append(append([]overlay{}, m.clearance.overlays.stack...), m.commands.prompts.stack...), m.modals.stack...) {
		out = append(out, state(ov))
	}
	return out
}

// viewIsPure draws m and fails if that changed anything.
func viewIsPure(t *testing.T, m *Model, what string) {
	t.Helper()
	before := fingerprint(m)
	_ = m.View()
	after := fingerprint(m)
	if len(before) != len(after) {
		t.Fatalf("%s: View opened or closed an overlay", what)
	}
	for i := range before {
		if before[i] != after[i] {
			t.Fatalf("%s: View changed the model (part %d):\nbefore %s\nafter  %s", what, i, before[i], after[i])
		}
	}
}

// View draws; it changes nothing, on any screen.
func TestViewChangesNoState(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	e.opts.Audit = &fakeAudit{}
	m := started(t, e, 200, 50)
	check := func(what string) {
		t.Helper()
		viewIsPure(t, m, what)
	}
	check("wide start")
	drive(t, m, keyMsg("enter"), keyMsg("down"), keyMsg("down"))
	check("detail")
	drive(t, m, keyMsg("d"))
	check("dialog")
	drive(t, m, keyMsg("n"), keyMsg("esc"), keyMsg("a"))
	check("form")
	drive(t, m, keyMsg("esc"), keyMsg("3"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	check("code modal")
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	check("code modal, resized")
	drive(t, m, keyMsg("esc"), keyMsg("A"))
	check("approvals")
	drive(t, m, keyMsg("esc"), keyMsg("2"))
	check("narrow telemetry")
	drive(t, m, keyMsg("?"))
	check("help")
}

// The screens this round added draw without changing anything either: the
// map, the timeline, a chart, a list's items, the palette as it completes,
// the notification history, and a bulk action before, while and after it
// runs (with the code modal of one of its vehicles over it).
func TestViewChangesNoStateOnEveryTool(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{200, 50}, {80, 24}} {
		e, src := timelineEnv(t)
		e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: "123456", Message: "Confirme com o código."}}, nil
		}
		m := started(t, e, sz[0], sz[1])
		check := func(what string) {
			t.Helper()
			viewIsPure(t, m, fmt.Sprintf("%dx%d %s", sz[0], sz[1], what))
		}
		drive(t, m, keyMsg("4"))
		check("map")
		drive(t, m, keyMsg("+"), keyMsg("l"), keyMsg("enter"))
		check("map, panned and selected")
		drive(t, m, keyMsg("t"))
		topIs[*timelineView](t, &m.modals)
		check("timeline")
		drive(t, m, keyMsg("f"))
		check("timeline, one kind")
		drive(t, m, keyMsg("esc"))
		openSpeedChart(t, m, src.s)
		topIs[*chartView](t, &m.modals)
		check("chart")
		drive(t, m, keyMsg("esc"), keyMsg(":"))
		check("palette")
		typeText(t, m, "se")
		check("palette, a verb half typed")
		typeText(t, m, "nd lo")
		check("palette, an argument half typed")
		drive(t, m, keyMsg("esc"), keyMsg("n"))
		check("notifications")
		drive(t, m, keyMsg("down"), keyMsg("esc"), keyMsg("1"))
		markRows(t, m, "1FTFW1ET5DFC10312", "WDD1234567A123456")
		drive(t, m, keyMsg("d"))
		topIs[*bulkAction](t, &m.modals)
		check("bulk, before")
		drive(t, m, keyMsg("y"))
		if b := topIs[*bulkAction](t, &m.modals); !b.finished() {
			t.Fatal("the bulk revoke should have finished")
		}
		check("bulk, finished")
		drive(t, m, keyMsg("esc"), keyMsg("3"), keyMsg(" "), keyMsg(" "), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"), keyMsg("y"))
		topIs[*sendModal](t, &m.modals)
		if b, ok := m.modals.stack[0].(*bulkAction); !ok || !b.observing {
			t.Fatalf("under the code modal: %T, want a bulk send following its rows", m.modals.stack[0])
		}
		check("bulk ignition, a code asked")
	}
	m := started(t, itemsEnv(), 80, 24)
	openTroubleCodes(t, m)
	topIs[*itemsView](t, &m.modals)
	viewIsPure(t, m, "items")
}

// A click in the Commands pane lands on the row drawn under it, in either
// list, in the narrow and the wide layout.
func TestMouseInCommandsFollowsTheLayout(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		m := started(t, newEnv(), sz[0], sz[1])
		drive(t, m, keyMsg("3"))
		c := m.lay.content[paneCommands]
		l := m.commands.lay
		drive(t, m, tea.MouseMsg{X: c.x + l.rightX + 2, Y: c.y + l.listTop + 3, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
		if m.commands.col != 1 || m.commands.cwin.cursor != 3 {
			t.Fatalf("%v: click on the 4th command selected column %d row %d", sz, m.commands.col, m.commands.cwin.cursor)
		}
		v := m.View()
		mustContain(t, v, "▸ diagnostics")
		drive(t, m, tea.MouseMsg{X: c.x + 1, Y: c.y + l.listTop + 1, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
		if m.commands.col != 0 || m.commands.vwin.cursor != 1 {
			t.Fatalf("%v: click on the 2nd vehicle selected column %d row %d", sz, m.commands.col, m.commands.vwin.cursor)
		}
	}
}

// A changed row keeps its background across the whole row: a coloured
// status badge inside it used to end the background where it ended.
func TestChangedRowBackgroundSpansTheRow(t *testing.T) {
	t.Parallel()
	e := newEnv()
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	e.opts.Renderer = r
	m := started(t, e, 80, 24)
	e.fleet.mu.Lock()
	e.fleet.vehicles[1].Status = fleet.StatusApproved // WDD… pending → approved
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("r"))
	var row string
	for _, l := range strings.Split(m.View(), "\n") {
		if strings.Contains(l, "WDD1234567A123456") && strings.Contains(l, "mercedes-benz") {
			row = l
		}
	}
	if row == "" {
		t.Fatalf("no row for WDD…:\n%s", m.View())
	}
	if n := strings.Count(row, "\x1b[0m"); n != 1 {
		t.Fatalf("the changed row's styling is reset %d times inside it:\n%q", n, row)
	}
}

// scripted is an overlay whose Update does what the test says.
type scripted struct {
	name   string
	inits  int
	w, h   int
	update func(msg tea.Msg) (overlay, tea.Cmd)
}

func (s *scripted) Init() tea.Cmd                         { s.inits++; return nil }
func (s *scripted) Update(msg tea.Msg) (overlay, tea.Cmd) { return s.update(msg) }
func (s *scripted) View() string                          { return s.name }
func (s *scripted) SetSize(w, h int)                      { s.w, s.h = w, h }
func (s *scripted) ShortHelp() []key.Binding              { return nil }
func (s *scripted) Capturing() bool                       { return true }

// The stack's three outcomes: an overlay stays, is replaced by the next
// step (sized and started), or closes while leaving what its closure opened
// on top.
func TestOverlayStack(t *testing.T) {
	var o overlays
	o.setSize(40, 10)
	second := &scripted{name: "second", update: func(tea.Msg) (overlay, tea.Cmd) { return nil, nil }}
	above := &scripted{name: "above"}
	var first *scripted
	first = &scripted{name: "first", update: func(msg tea.Msg) (overlay, tea.Cmd) {
		switch msg {
		case "stay":
			return first, nil
		case "next":
			return second, nil
		}
		return first, nil
	}}
	o.open(first)
	if first.inits != 1 || first.w != 40 || first.h != 10 {
		t.Fatalf("open: %d inits, %dx%d", first.inits, first.w, first.h)
	}
	o.update("stay")
	if o.top() != first {
		t.Fatal("an overlay that returns itself stays")
	}
	o.update("next")
	if o.top() != second || len(o.stack) != 1 || second.inits != 1 || second.w != 40 {
		t.Fatalf("replaced by %v (stack %d, %d inits, width %d)", o.top(), len(o.stack), second.inits, second.w)
	}
	second.update = func(tea.Msg) (overlay, tea.Cmd) { return nil, o.open(above) }
	o.update("close")
	if o.top() != above || len(o.stack) != 1 {
		t.Fatalf("after closing: top %v, %d open", o.top(), len(o.stack))
	}
	above.update = func(tea.Msg) (overlay, tea.Cmd) { return nil, nil }
	o.update("close")
	if o.active() {
		t.Fatal("the last overlay closed, yet the stack is active")
	}
}

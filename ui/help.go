package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/fleetdeck/fleetdeck/keymap"
)

// The help line under the status bar, and the help screen ? opens: every
// key of the focused pane and the console, and what the numbers mean.

// globalKeys are the keys that work in every pane, in the keymap's order
// but quit last, where every help line has it.
func (m *Model) globalKeys() []key.Binding {
	k := m.c.Keys
	var out []key.Binding
	for _, b := range k.Scoped(keymap.ScopeGlobal) {
		if b != &k.Quit {
			out = append(out, *b)
		}
	}
	return append(out, k.Quit)
}

func (m *Model) helpLine(w int) string {
	k := m.c.Keys
	if m.modals.active() {
		bindings := m.modals.shortHelp()
		if !m.modals.capturing() {
			bindings = append(bindings, k.Quit)
		}
		return pad(m.help.ShortHelpView(bindings), w)
	}
	if m.showHelp {
		return pad(m.help.ShortHelpView([]key.Binding{withHelp(k.Down, "scroll"), withHelp(k.Back, "close help"), k.Quit}), w)
	}
	bindings := m.panes[m.focus].ShortHelp()
	if !m.panes[m.focus].Capturing() {
		bindings = append(bindings, k.Help, k.Palette, k.NextPane, k.Quit)
	}
	return pad(m.help.ShortHelpView(bindings), w)
}

// helpKey scrolls the help screen; any other key closes it.
func (m *Model) helpKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	lines := strings.Count(m.fullHelp(m.lay.body.w), "\n") + 1
	last := max(lines-m.lay.body.h, 0)
	page := max(m.lay.body.h-1, 1)
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Down):
		m.helpOff = min(m.helpOff+1, last)
	case key.Matches(msg, k.Up):
		m.helpOff = max(m.helpOff-1, 0)
	case key.Matches(msg, k.PageDown):
		m.helpOff = min(m.helpOff+page, last)
	case key.Matches(msg, k.PageUp):
		m.helpOff = max(m.helpOff-page, 0)
	case key.Matches(msg, k.Bottom):
		m.helpOff = last
	case key.Matches(msg, k.Top):
		m.helpOff = 0
	default:
		m.showHelp, m.helpOff = false, 0
	}
	return nil
}

// helpView is the help screen from the line scrolled to; the last line
// says when there is more below.
func (m *Model) helpView(w, h int) string {
	lines := strings.Split(m.fullHelp(w), "\n")
	off := clamp(m.helpOff, 0, max(len(lines)-h, 0))
	lines = lines[off:]
	if len(lines) > h && h > 1 {
		lines = append(lines[:h-1], m.c.Styles.Notice.Render(fmt.Sprintf("↓ %d more lines (%s/%s scroll)", len(lines)-h+1, keyName(m.c.Keys.Down), keyName(m.c.Keys.PageDown))))
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

func (m *Model) fullHelp(w int) string {
	st := m.c.Styles
	groups := [][]key.Binding{m.globalKeys()}
	groups = append(groups, m.panes[m.focus].FullHelp()...)
	var b strings.Builder
	b.WriteString(st.Header.Render("Keys — " + m.focus.String()))
	b.WriteString("\n\n")
	// Columns flow onto a new row when the next would not fit: help's own
	// full view would cut them off with an ellipsis on narrow terminals.
	var row []string
	rowW := 0
	flush := func() {
		if len(row) > 0 {
			b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, row...))
			b.WriteString("\n\n")
		}
		row, rowW = nil, 0
	}
	for _, g := range groups {
		col := m.help.FullHelpView([][]key.Binding{g})
		cw := lipgloss.Width(col) + 4
		if rowW+cw > w && len(row) > 0 {
			flush()
		}
		row = append(row, col+"    ")
		rowW += cw
	}
	flush()
	b.WriteString(st.Header.Render("What the numbers and marks mean") + "\n")
	for _, l := range numbersLegend {
		for _, wl := range wrapText(l, w, 3) {
			b.WriteString(st.Dim.Render(wl) + "\n")
		}
	}
	b.WriteByte('\n')
	for _, l := range wrapText("Mouse: wheel scrolls, click selects a row or a tab. Keys can be changed in the [keys] table of the config, colours in [theme].", w, 3) {
		b.WriteString(st.Dim.Render(l) + "\n")
	}
	return b.String()
}

// numbersLegend explains every number and mark the screen shows.
var numbersLegend = []string{
	"Tabs: •N changed = clearance rows whose status changed at the last refresh; … = a command in flight; ⏸ = Telemetry paused.",
	"Header: ⚑ N to approve = other operators' requests waiting for a second pair of eyes; ✗ N new = errors since you last opened the notifications; ✓ N marked = vehicles marked for a bulk action; ⇄ linked = a selection follows across the views. When they do not all fit, they shorten to ⚑ N, ✗ N, ✓ N, ⇄, and then the last ones go.",
	"Status bar: token valid = time left on the fleet API token; broker = the MQTT connection (attempt N = reconnection attempts so far, down = time since it was lost); fleet/cmds/mrv = how the last call to each API went (ok, error, invalid credentials, … none yet).",
	"Telemetry: msg/s = messages per second (the feed, each vehicle); dropped = messages lost because the decoder fell behind; malformed = messages not in the documented format; ● fresh, ◐ late (quieter than 1.5× its usual interval), ○ stale (3×, dimmed); AGE = time since the value's own timestamp.",
	"Clearance: N vehicles in the list; filter \"…\": N = rows that match; ✓ = marked. Commands: history times are when sent and when it ended.",
}

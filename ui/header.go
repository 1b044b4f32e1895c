package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The tab bar: the title, a tab per pane (their labels carry state), and at
// its right end what waits for the operator.

// tab is one pane's label in the tab bar and the columns it covers (inside
// the frame).
type tab struct {
	pane   paneID
	label  string
	x0, x1 int
}

const titleText = " fleetdeck "

// tabs labels the panes as the tab bar shows them now: the labels carry
// state (changes, pause, commands in flight), so the header and the mouse
// both ask here rather than remember what was drawn.
func (m *Model) tabs() []tab {
	out := m.tabsNamed(false)
	// Four tabs and the state at the right do not all fit 80 columns:
	// the tabs without focus then go by short names.
	if last := out[len(out)-1]; m.lay.iw > 0 && last.x1+1+ansi.StringWidth(m.headerRight()) >= m.lay.iw {
		out = m.tabsNamed(true)
	}
	return out
}

// shortNames are the tab names used when the full ones do not fit.
var shortNames = [paneCount]string{"Clear", "Tele", "Cmds", "Map"}

func (m *Model) tabsNamed(short bool) []tab {
	out := make([]tab, 0, paneCount)
	x := len(titleText)
	for i := range m.panes {
		p := paneID(i)
		name := p.String()
		if short && p != m.focus {
			name = shortNames[p]
		}
		label := fmt.Sprintf("%d %s", i+1, name)
		if p == paneClearance && m.clearance.Changes() > 0 {
			label += fmt.Sprintf(" •%d changed", m.clearance.Changes())
		}
		if p == paneTelemetry && m.telemetry.paused {
			label += " ⏸"
		}
		if p == paneCommands && m.commands.inFlight() {
			label += " …"
		}
		if p == m.focus {
			label = "[" + label + "]"
		} else {
			label = " " + label + " "
		}
		lw := len([]rune(label))
		out = append(out, tab{pane: p, label: label, x0: x, x1: x + lw})
		x += lw + 1
	}
	return out
}

func (m *Model) headerView(w int) string {
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(titleText))
	for _, t := range m.tabs() {
		if t.pane == m.focus {
			b.WriteString(st.TabActive.Render(t.label))
		} else {
			b.WriteString(st.TabInactive.Render(t.label))
		}
		b.WriteByte(' ')
	}
	left := b.String()
	state := m.headerState()
	badge := m.approvalBadge()
	for _, right := range []string{badge + state, badge} {
		if gap := w - ansi.StringWidth(left) - ansi.StringWidth(right); gap >= 1 {
			return left + strings.Repeat(" ", gap) + right
		}
	}
	if badge != "" {
		return truncate(left, max(w-ansi.StringWidth(badge), 0)) + truncate(badge, w)
	}
	return pad(left, w)
}

// approvalBadge: another operator waits for a second pair of eyes. Every
// screen says so, at the right of the tabs, before anything else there.
func (m *Model) approvalBadge() string {
	if n := m.safety.desk.waiting(); n > 0 {
		return m.c.Styles.Notice.Render(fmt.Sprintf(" ⚑ %d to approve (%s) ", n, keyName(m.c.Keys.Approvals)))
	}
	return ""
}

// headerRight is what the tab bar shows at its right end.
func (m *Model) headerRight() string { return m.approvalBadge() + m.headerState() }

// headerState is the right end of the tab bar: unread errors, marks, and
// whether selection is linked.
func (m *Model) headerState() string {
	st := m.c.Styles
	var parts []string
	if n := m.notes.unseenErrors(m.seenNotes); n > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("✗ %d new (%s)", n, keyName(m.c.Keys.Notifications))))
	}
	if n := m.c.marks.len(); n > 0 {
		parts = append(parts, st.Notice.Render(fmt.Sprintf("✓ %d marked", n)))
	}
	if m.linked {
		parts = append(parts, st.Accent.Render("⇄ linked"))
	} else {
		parts = append(parts, st.Dim.Render("unlinked"))
	}
	return strings.Join(parts, st.Dim.Render(" · ")) + " "
}

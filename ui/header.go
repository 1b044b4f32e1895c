package ui

import (
	"fmt"
	"math"
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
	if last := out[len(out)-1]; m.lay.iw > 0 && last.x1+1+ansi.StringWidth(m.headerRight(math.MaxInt)) >= m.lay.iw {
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
	if right := m.headerRight(w - ansi.StringWidth(left) - 1); right != "" {
		return left + strings.Repeat(" ", w-ansi.StringWidth(left)-ansi.StringWidth(right)) + right
	}
	// Not even the badge's short form fits beside the tabs: the tabs give
	// way, since every screen must say that a request waits.
	if b := m.approvalBadge(); b.full != "" {
		badge := b.text(true)
		return truncate(left, max(w-ansi.StringWidth(badge), 0)) + truncate(badge, w)
	}
	return pad(left, w)
}

// headerPart is one piece of the tab bar's right end, as drawn in full and
// in the short form a narrow terminal gets ("" when it has none).
type headerPart struct {
	full, short string
	// badge parts carry their own padding and no separator.
	badge bool
}

func (p headerPart) text(short bool) string {
	if short && p.short != "" {
		return p.short
	}
	return p.full
}

// approvalBadge: another operator waits for a second pair of eyes. Every
// screen says so, at the right of the tabs, before anything else there.
func (m *Model) approvalBadge() headerPart {
	n := m.safety.desk.waiting()
	if n == 0 {
		return headerPart{}
	}
	st, k := m.c.Styles, keyName(m.c.Keys.Approvals)
	return headerPart{
		full:  st.Notice.Render(fmt.Sprintf(" ⚑ %d to approve (%s) ", n, k)),
		short: st.Notice.Render(fmt.Sprintf(" ⚑ %d (%s) ", n, k)),
		badge: true,
	}
}

// headerParts is what waits for the operator, most important first: a
// request to approve, errors not yet seen, marks, whether selection is
// linked.
func (m *Model) headerParts() []headerPart {
	st := m.c.Styles
	var parts []headerPart
	if b := m.approvalBadge(); b.full != "" {
		parts = append(parts, b)
	}
	if n := m.notes.unseenErrors(m.seenNotes); n > 0 {
		k := keyName(m.c.Keys.Notifications)
		parts = append(parts, headerPart{
			full:  st.Error.Render(fmt.Sprintf("✗ %d new (%s)", n, k)),
			short: st.Error.Render(fmt.Sprintf("✗ %d (%s)", n, k)),
		})
	}
	if n := m.c.marks.len(); n > 0 {
		parts = append(parts, headerPart{
			full:  st.Notice.Render(fmt.Sprintf("✓ %d marked", n)),
			short: st.Notice.Render(fmt.Sprintf("✓ %d", n)),
		})
	}
	if m.linked {
		parts = append(parts, headerPart{full: st.Accent.Render("⇄ linked"), short: st.Accent.Render("⇄")})
	} else {
		parts = append(parts, headerPart{full: st.Dim.Render("unlinked")})
	}
	return parts
}

// headerRight is the right end of the tab bar in at most room cells. When
// it does not fit, every part is tried in its short form before any is
// dropped, and then the least important go first; room left over gives
// the most important parts their full form back, in that order.
func (m *Model) headerRight(room int) string {
	parts := m.headerParts()
	short := make([]bool, len(parts))
	for i := range short {
		short[i] = true
	}
	keep := len(parts)
	for keep > 0 && ansi.StringWidth(m.joinHeader(parts[:keep], short)) > room {
		keep--
	}
	for i := range keep {
		short[i] = false
		if ansi.StringWidth(m.joinHeader(parts[:keep], short)) > room {
			short[i] = true
		}
	}
	return m.joinHeader(parts[:keep], short)
}

func (m *Model) joinHeader(parts []headerPart, short []bool) string {
	var b strings.Builder
	n := 0
	for i, p := range parts {
		if p.badge {
			b.WriteString(p.text(short[i]))
			continue
		}
		if n > 0 {
			b.WriteString(m.c.Styles.Dim.Render(" · "))
		}
		b.WriteString(p.text(short[i]))
		n++
	}
	if n > 0 {
		b.WriteByte(' ')
	}
	return b.String()
}

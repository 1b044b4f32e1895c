package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The screen's geometry and how the panes are put together in it: one at
// a time with tabs on a narrow terminal (with a journal strip when it is
// tall), three boxed columns on a wide one, the production frame around it
// all.

// rect is an area of the screen, in cells from its top left corner.
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool {
	return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h
}

// rootLayout is the screen's geometry for its size, computed on resize and
// read by View and the mouse (screen coordinates, the production frame
// included).
type rootLayout struct {
	frame    int  // 1 when the production frame surrounds the screen
	iw, ih   int  // inside the frame
	tooSmall bool // below the minimum: View says so and nothing else
	wide     bool // all panes side by side, each in a box
	body     rect // between the tab bar and the status bar
	// box is the area each pane owns (its border included in the wide
	// layout); content is where the pane itself draws.
	box, content [paneCount]rect
	// strip is the journal under the Clearance and Telemetry panes on a
	// narrow but tall screen (h 0: none); Commands shows its own.
	strip rect
}

// Where the journal strip fits: a narrow screen with a body this tall.
const (
	stripMinBody = 30
	stripMaxH    = 10
)

func newRootLayout(w, h int, production, journal bool) rootLayout {
	var l rootLayout
	if production {
		l.frame = 1
	}
	l.iw, l.ih = w-2*l.frame, h-2*l.frame
	l.tooSmall = l.iw < minUsableWidth || l.ih < minUsableHeight
	l.body = rect{x: l.frame, y: l.frame + 1, w: max(l.iw, 0), h: max(l.ih-3, 1)}
	l.wide = l.iw >= wideWidth
	if !l.wide {
		for i := range l.box {
			l.box[i], l.content[i] = l.body, l.body
		}
		if journal && l.body.h >= stripMinBody {
			sh := min(stripMaxH, l.body.h/4)
			l.strip = rect{x: l.body.x, y: l.body.y + l.body.h - sh, w: l.body.w, h: sh}
			for _, p := range []paneID{paneClearance, paneTelemetry, paneMap} {
				l.box[p].h -= sh
				l.content[p].h -= sh
			}
		}
		return l
	}
	widths := [paneCount]int{l.iw * 36 / 100, l.iw * 38 / 100, 0}
	widths[2] = l.iw - widths[0] - widths[1]
	x := l.body.x
	for i, w := range widths[:paneMap] {
		l.box[i] = rect{x: x, y: l.body.y, w: w, h: l.body.h}
		l.content[i] = rect{x: x + 1, y: l.body.y + 1, w: max(w-2, 1), h: max(l.body.h-2, 1)}
		x += w
	}
	// The Map takes the Telemetry column while it is shown.
	l.box[paneMap], l.content[paneMap] = l.box[paneTelemetry], l.content[paneTelemetry]
	return l
}

// resize lays the screen out for the current size and tells every pane.
func (m *Model) resize() {
	m.lay = newRootLayout(m.w, m.h, m.production, m.commands.journal != nil)
	l := m.lay
	m.help.Width = max(l.iw, 0)
	for i := range m.panes {
		c := l.content[i]
		m.panes[i].SetSize(max(c.w, 1), c.h)
	}
	m.modals.setSize(l.body.w, l.body.h)
}

func (m *Model) bodyView() string {
	l := m.lay
	w, h := l.body.w, l.body.h
	if top := m.modals.top(); top != nil {
		return fit(top.View(), w, h)
	}
	if m.showHelp {
		return m.helpView(w, h)
	}
	if !l.wide {
		if l.strip.h > 0 && m.focus != paneCommands {
			c := l.content[m.focus]
			rule := m.c.Styles.Dim.Render(strings.Repeat("─", w))
			return fit(m.panes[m.focus].View(), w, c.h) + "\n" + rule + "\n" + fit(m.commands.journal.view(w, l.strip.h-1), w, l.strip.h-1)
		}
		return fit(m.panes[m.focus].View(), w, h)
	}
	cols := make([][]string, 0, paneCount)
	for _, id := range []paneID{paneClearance, m.middle, paneCommands} {
		cols = append(cols, strings.Split(m.box(id.String(), id == m.focus, m.panes[id].View(), l.box[id].w, h), "\n"))
	}
	var b strings.Builder
	for y := 0; y < h; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		for i := range cols {
			if y < len(cols[i]) {
				b.WriteString(cols[i][y])
			}
		}
	}
	return b.String()
}

// box draws a titled border around content (already sized w-2 × h-2). The
// focused pane gets a heavy border so focus shows without colour too.
func (m *Model) box(title string, focused bool, content string, w, h int) string {
	st := m.c.Styles
	bs, ts := st.Border, st.PaneTitle
	tl, tr, bl, br, hz, vt := "╭", "╮", "╰", "╯", "─", "│"
	if focused {
		bs, ts = st.BorderFocused, st.PaneTitleFocused
		tl, tr, bl, br, hz, vt = "┏", "┓", "┗", "┛", "━", "┃"
	}
	inner := max(w-2, 0)
	t := truncate(" "+title+" ", max(inner-2, 0))
	top := bs.Render(tl+hz) + ts.Render(t) + bs.Render(strings.Repeat(hz, max(inner-1-len([]rune(t)), 0))+tr)
	side := bs.Render(vt)
	body := fit(content, inner, max(h-2, 0))
	bottom := bs.Render(bl + strings.Repeat(hz, inner) + br)
	// One allocation: this runs for three panes on every frame.
	var b strings.Builder
	b.Grow(len(top) + len(body) + h*(2*len(side)+1) + len(bottom))
	b.WriteString(top)
	for l := range strings.SplitSeq(body, "\n") {
		b.WriteByte('\n')
		b.WriteString(side)
		b.WriteString(l)
		b.WriteString(side)
	}
	b.WriteByte('\n')
	b.WriteString(bottom)
	return b.String()
}

// inColumn reports whether the wide layout shows pane p: Telemetry and the
// Map share a column.
func (m *Model) inColumn(p paneID) bool {
	return (p != paneTelemetry && p != paneMap) || p == m.middle
}

// productionFrame surrounds the screen with a heavy red border labelled
// PRODUCTION: this console talks to real vehicles.
func (m *Model) productionFrame(screen string) string {
	st := m.c.Styles
	iw := m.w - 2
	label := " PRODUCTION "
	if m.profile != "" {
		label += "· " + termsafe.String(m.profile) + " "
	}
	label = truncate(label, max(iw-1, 0))
	rest := max(iw-1-ansi.StringWidth(label), 0)
	top := st.Production.Render("┏━") + st.StatusProd.Render(label) + st.Production.Render(strings.Repeat("━", rest)+"┓")
	side := st.Production.Render("┃")
	var b strings.Builder
	b.WriteString(top)
	for _, l := range strings.Split(screen, "\n") {
		b.WriteByte('\n')
		b.WriteString(side + l + side)
	}
	b.WriteByte('\n')
	b.WriteString(st.Production.Render("┗" + strings.Repeat("━", iw) + "┛"))
	return b.String()
}

package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// notificationsView is the notification history, a console-wide overlay:
// every notification newest first with its time and its whole text
// wrapped, one of them selected; the copy key copies the selected one's
// text. It reads the history on every draw, so what arrives while it is
// open shows at once.
type notificationsView struct {
	c     *Common
	notes *notifier
	// sel counts from the newest entry (0), so arrivals do not move it.
	sel  int
	w, h int
}

func newNotificationsView(c *Common, notes *notifier) *notificationsView {
	return &notificationsView{c: c, notes: notes}
}

func (v *notificationsView) Init() tea.Cmd { return nil }

func (v *notificationsView) Update(msg tea.Msg) (overlay, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		if mm, ok := msg.(tea.MouseMsg); ok {
			switch mm.Button {
			case tea.MouseButtonWheelUp:
				v.move(-1)
			case tea.MouseButtonWheelDown:
				v.move(1)
			}
		}
		return v, nil
	}
	k := v.c.Keys
	switch {
	case key.Matches(km, k.Back), key.Matches(km, k.Notifications):
		return nil, nil
	case key.Matches(km, k.Up):
		v.move(-1)
	case key.Matches(km, k.Down):
		v.move(1)
	case key.Matches(km, k.Top):
		v.sel = 0
	case key.Matches(km, k.Bottom):
		v.move(len(v.notes.entries))
	case key.Matches(km, k.Copy):
		if e, ok := v.selected(); ok {
			return v, v.c.copy("the notification", e.text)
		}
	case key.Matches(km, k.Dismiss):
		v.notes.dismiss()
	}
	return v, nil
}

func (v *notificationsView) move(d int) {
	v.sel = clamp(v.sel+d, 0, len(v.notes.entries)-1)
}

func (v *notificationsView) selected() (notification, bool) {
	n := len(v.notes.entries)
	if n == 0 {
		return notification{}, false
	}
	i := n - 1 - clamp(v.sel, 0, n-1)
	return v.notes.entries[i], true
}

func (v *notificationsView) SetSize(w, h int) { v.w, v.h = w, h }

// Capturing: q and the pane keys would otherwise act behind it.
func (v *notificationsView) Capturing() bool { return true }

func (v *notificationsView) ShortHelp() []key.Binding {
	k := v.c.Keys
	return []key.Binding{k.Up, k.Down, withHelp(k.Copy, "copy text"), k.Dismiss, withHelp(k.Back, "close")}
}

// View lists the entries newest first, the selected one marked, from the
// one that keeps the selection in sight.
func (v *notificationsView) View() string {
	st := v.c.Styles
	entries := v.notes.entries
	head := st.Header.Render("Notifications") + st.Dim.Render(" (newest first, your time zone; the last 200 are kept)")
	lines := []string{head, ""}
	if len(entries) == 0 {
		lines = append(lines, st.Dim.Render("  nothing yet"))
		return fit(strings.Join(lines, "\n"), v.w, v.h)
	}
	sel := clamp(v.sel, 0, len(entries)-1)
	textW := max(v.w-13, 10)
	// Each entry's lines; the window starts where the selected entry still
	// fits below.
	blocks := make([][]string, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		n := len(entries) - 1 - i
		marker := "  "
		if n == sel {
			marker = "▸ "
		}
		style := st.OK
		icon := "✓ "
		if e.level == levelError {
			style, icon = st.Error, "✗ "
		}
		text := e.text
		if e.count > 1 {
			text = "×" + strconv.Itoa(e.count) + " " + text
		}
		wrapped := wrapText(text, textW, 1<<20)
		block := []string{marker + e.at.In(v.c.zone()).Format("15:04:05") + " " + style.Render(icon+wrapped[0])}
		for _, more := range wrapped[1:] {
			block = append(block, strings.Repeat(" ", 13)+style.Render(more))
		}
		blocks = append(blocks, block)
	}
	room := max(v.h-len(lines), 1)
	first := 0
	used := 0
	for i := sel; i >= 0; i-- {
		if used+len(blocks[i]) > room && i < sel {
			first = i + 1
			break
		}
		used += len(blocks[i])
	}
	for i := first; i < len(blocks) && len(lines) < v.h; i++ {
		lines = append(lines, blocks[i]...)
	}
	return fit(strings.Join(lines, "\n"), v.w, v.h)
}

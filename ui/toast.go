package ui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// Notifications: what happened in the background (an error from a call, a
// command that ended, a clearance that changed, a copy, an export) shows as
// a toast in the bottom right corner of the body and then goes away by
// itself; errors stay longer. Every notification also goes to the history
// (the notifications key), where its full text can be read and copied:
// a toast cut at the width says so.

// level is how a notification is shown.
type level uint8

const (
	levelInfo level = iota
	levelError
)

// How long a toast stays; the history keeps the last maxNotifications.
const (
	infoToastFor     = 5 * time.Second
	errorToastFor    = 15 * time.Second
	maxNotifications = 200
	maxToasts        = 3
)

// notifyMsg asks the root for a notification. quiet ones go to the history
// only: their text is already on the screen (a result dialog).
type notifyMsg struct {
	level level
	text  string
	quiet bool
}

// notify is the command a pane returns to notify the operator.
func notify(l level, text string) tea.Cmd {
	return func() tea.Msg { return notifyMsg{level: l, text: text} }
}

// notifyQuiet is notify for the history only.
func notifyQuiet(l level, text string) tea.Cmd {
	return func() tea.Msg { return notifyMsg{level: l, text: text, quiet: true} }
}

// notification is one entry of the history.
type notification struct {
	at    time.Time
	level level
	text  string
	count int       // the same text repeated this many times in a row
	until time.Time // the toast shows until then (zero: history only)
}

// notifier is the history and which of its entries are toasts now.
type notifier struct {
	c       *Common
	entries []notification // oldest first
	// dismissed: entries before this index show no toast any more.
	dismissed int
}

// add records a notification. The same text again (an error every poll)
// counts up the newest entry instead of filling the history.
func (n *notifier) add(msg notifyMsg) {
	now := n.c.Now()
	until := time.Time{}
	if !msg.quiet {
		until = now.Add(infoToastFor)
		if msg.level == levelError {
			until = now.Add(errorToastFor)
		}
	}
	if k := len(n.entries) - 1; k >= 0 && n.entries[k].text == msg.text && n.entries[k].level == msg.level {
		e := &n.entries[k]
		e.at, e.count = now, e.count+1
		if until.After(e.until) {
			e.until = until
		}
		if k < n.dismissed && !msg.quiet {
			n.dismissed = k // it came back: show it again
		}
		return
	}
	n.entries = append(n.entries, notification{at: now, level: msg.level, text: msg.text, count: 1, until: until})
	if over := len(n.entries) - maxNotifications; over > 0 {
		n.entries = append(n.entries[:0], n.entries[over:]...)
		n.dismissed = max(n.dismissed-over, 0)
	}
}

// toasts are the entries to show now, newest last.
func (n *notifier) toasts(now time.Time) []notification {
	var out []notification
	for i := len(n.entries) - 1; i >= n.dismissed && len(out) < maxToasts; i-- {
		if e := n.entries[i]; now.Before(e.until) {
			out = append(out, e)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// dismiss hides every toast shown now (the history keeps them).
func (n *notifier) dismiss() { n.dismissed = len(n.entries) }

// errors counts the error entries that arrived after the history was last
// opened (seen).
func (n *notifier) unseenErrors(seen int) int {
	c := 0
	for i := max(seen, 0); i < len(n.entries); i++ {
		if n.entries[i].level == levelError {
			c++
		}
	}
	return c
}

// line renders e for one line of width w: icon, time, text (and how often
// it came).
func (e notification) line(c *Common, w int) (string, bool) {
	icon := "✓ "
	if e.level == levelError {
		icon = "✗ "
	}
	text := strings.ReplaceAll(e.text, "\n", " ")
	if e.count > 1 {
		text = fmt.Sprintf("×%d ", e.count) + text
	}
	s := icon + e.at.In(c.zone()).Format("15:04:05") + " " + text
	cut := ansi.StringWidth(s) > w
	return truncate(s, w), cut
}

// toastBox draws the toasts for a body w cells wide: a box of three
// quarters of the width, at most 72 cells, whose title names the keys.
func (m *Model) toastBox(toasts []notification, w int) []string {
	st := m.c.Styles
	bw := min(clamp(w*3/4, 40, 72), w)
	inner := bw - 4
	k := m.c.Keys
	anyCut := false
	rows := make([]string, 0, len(toasts))
	for _, t := range toasts {
		line, cut := t.line(m.c, inner)
		anyCut = anyCut || cut
		style := st.OK
		if t.level == levelError {
			style = st.Error
		}
		rows = append(rows, style.Render(pad(line, inner)))
	}
	title := " " + keyName(k.Notifications) + ": history · " + keyName(k.Dismiss) + ": dismiss "
	if anyCut {
		title = " cut: " + keyName(k.Notifications) + " shows it all · " + keyName(k.Dismiss) + ": dismiss "
	}
	title = truncate(title, max(bw-4, 0))
	bs := st.Border
	out := []string{bs.Render("╭─") + st.Dim.Render(title) + bs.Render(strings.Repeat("─", max(bw-3-ansi.StringWidth(title), 0))+"╮")}
	for _, r := range rows {
		out = append(out, bs.Render("│ ")+r+bs.Render(" │"))
	}
	return append(out, bs.Render("╰"+strings.Repeat("─", bw-2)+"╯"))
}

// withToasts draws the toasts over the bottom right corner of body (lines
// exactly w cells wide), above its last line: the panes keep their notice
// line (a list error, what changed) there. A console-wide overlay (the history itself, the
// palette, a bulk action) has the whole body: no toasts over it.
func (m *Model) withToasts(body string, w, h int) string {
	if m.modals.active() {
		return body
	}
	toasts := m.notes.toasts(m.c.Now())
	if len(toasts) == 0 || w < 20 || h < 4 {
		return body
	}
	box := m.toastBox(toasts, w)
	if len(box) > h-1 {
		box = box[len(box)-(h-1):]
	}
	lines := strings.Split(body, "\n")
	bw := ansi.StringWidth(box[0])
	top := len(lines) - 1 - len(box)
	for i, b := range box {
		y := top + i
		if y < 0 || y >= len(lines) {
			continue
		}
		lines[y] = ansi.Truncate(lines[y], w-bw, "") + b
	}
	return strings.Join(lines, "\n")
}

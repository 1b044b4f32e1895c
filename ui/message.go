package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// message shows the outcome of an action (or why it was refused) until any
// key is pressed.
type message struct {
	c     *Common
	lines []string
	isErr bool
	w, h  int
}

func newMessage(c *Common, isErr bool, lines ...string) *message {
	return &message{c: c, lines: lines, isErr: isErr}
}

func (m *message) Init() tea.Cmd { return nil }

// Update: the copy key copies the message and keeps it open; any other key
// closes it.
func (m *message) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		if key.Matches(k, m.c.Keys.Copy) {
			return m, m.c.copy("the message", strings.Join(m.lines, "\n"))
		}
		return nil, nil
	}
	return m, nil
}

func (m *message) SetSize(w, h int) { m.w, m.h = w, h }

// Capturing: the key that dismisses the message must not also quit (q) or
// switch panes.
func (m *message) Capturing() bool { return true }

// anyKey is for help only: help leaves out a binding without keys.
var anyKey = key.NewBinding(key.WithKeys("enter"), key.WithHelp("any key", "back"))

func (m *message) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(m.c.Keys.Copy, "copy"), anyKey}
}

func (m *message) View() string {
	st := m.c.Styles
	style := st.OK
	if m.isErr {
		style = st.Error
	}
	lines := make([]string, 0, len(m.lines)+2)
	for _, l := range m.lines {
		for _, wl := range wrapText(l, max(m.w-2, 10), 6) {
			lines = append(lines, style.Render(wl))
		}
	}
	lines = append(lines, "", st.Dim.Render(keyName(m.c.Keys.Copy)+": copy · any other key: back"))
	return fit(strings.Join(lines, "\n"), m.w, m.h)
}

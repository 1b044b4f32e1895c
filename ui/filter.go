package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// filterInput is the one-line filter each pane draws in its own title line.
// While it is active it takes every key: the keep key (Open or Send) leaves
// it and keeps the query, Back leaves it and clears the query.
type filterInput struct {
	c      *Common
	ti     textinput.Model
	keep   key.Binding
	active bool
}

func newFilter(c *Common, placeholder string, limit int, keep key.Binding) filterInput {
	ti := textinput.New()
	ti.Prompt = "/ "
	ti.Placeholder = placeholder
	ti.CharLimit = limit
	styleInput(&ti, c.Styles)
	return filterInput{c: c, ti: ti, keep: keep}
}

// focus starts typing into the filter.
func (f *filterInput) focus() tea.Cmd {
	f.active = true
	return f.ti.Focus()
}

// key handles a key while the filter is active and reports whether the
// query changed.
func (f *filterInput) key(msg tea.KeyMsg) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, f.keep):
		f.active = false
		f.ti.Blur()
		return false, nil
	case key.Matches(msg, f.c.Keys.Back):
		f.active = false
		f.ti.Blur()
		return f.clear(), nil
	}
	before := f.ti.Value()
	var cmd tea.Cmd
	f.ti, cmd = f.ti.Update(msg)
	return f.ti.Value() != before, cmd
}

// update passes the text input's own messages on.
func (f *filterInput) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.ti, cmd = f.ti.Update(msg)
	return cmd
}

// clear empties the query and reports whether there was one.
func (f *filterInput) clear() bool {
	had := f.ti.Value() != ""
	f.ti.SetValue("")
	return had
}

// query is the filter's text as typed.
func (f *filterInput) query() string { return f.ti.Value() }

// match is the lower-cased, trimmed query to match against.
func (f *filterInput) match() string { return strings.ToLower(strings.TrimSpace(f.ti.Value())) }

func (f *filterInput) setWidth(w int) { f.ti.Width = max(w, 1) }

func (f *filterInput) View() string { return f.ti.View() }

func (f *filterInput) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(f.keep, "keep filter"), withHelp(f.c.Keys.Back, "clear")}
}

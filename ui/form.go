package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// formOverlay is a huh form and what to do with its values: submit runs
// once the form completes (its closure holds the values the fields write
// to). The back key gives up without submitting. A fresh form is built for
// every use, as huh wants.
type formOverlay struct {
	c      *Common
	form   *huh.Form
	submit func() tea.Cmd
}

func newForm(c *Common, submit func() tea.Cmd, groups ...*huh.Group) *formOverlay {
	f := huh.NewForm(groups...).
		WithTheme(c.Styles.FormTheme()).
		// The console's help line lists the form's keys (ShortHelp).
		WithShowHelp(false)
	return &formOverlay{c: c, form: f, submit: submit}
}

func (f *formOverlay) Init() tea.Cmd { return f.form.Init() }

// Update feeds the form; huh's own messages (next field, next group) reach
// it here too, since they carry no envelope.
func (f *formOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && key.Matches(k, f.c.Keys.Back) {
		return nil, nil
	}
	if _, ok := msg.(tea.MouseMsg); ok {
		return f, nil
	}
	m, cmd := f.form.Update(msg)
	if ff, ok := m.(*huh.Form); ok {
		f.form = ff
	}
	switch f.form.State {
	case huh.StateCompleted:
		return nil, tea.Batch(cmd, f.submit())
	case huh.StateAborted:
		return nil, cmd
	}
	return f, cmd
}

func (f *formOverlay) SetSize(w, h int) { f.form.WithWidth(max(w-1, 10)) }
func (f *formOverlay) Capturing() bool  { return true }
func (f *formOverlay) View() string     { return f.form.View() }

// TakesText: a burst of keys is text in an input field, single keys in a
// select.
func (f *formOverlay) TakesText() bool { return formTakesText(f.form) }

// ShortHelp is the focused field's keys (next, back, select, submit),
// then how to give up.
func (f *formOverlay) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, b := range f.form.KeyBinds() {
		if b.Enabled() && b.Help().Key != "" {
			out = append(out, b)
		}
	}
	return append(out, withHelp(f.c.Keys.Back, "cancel"))
}

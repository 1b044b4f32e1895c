package ui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// Bursts. Bubble Tea v1 reads the terminal in chunks and hands every run of
// printable characters in a chunk over as one KeyMsg with several runes:
// `tmux send-keys -l jjj`, a paste without bracketed paste, or keys that an
// SSH connection delivered together all arrive that way. Outside a text
// entry each rune is a key press of its own, in order; once a key of the
// burst has opened a text entry (the filter, a prompt, a form field, the
// palette) the rest of the burst is text typed into it. Splitting here, at
// the root, serves every pane and overlay alike.

// textTaker is implemented by what can take typed text: TakesText reports
// whether it does now. A capturing overlay that does not implement it (a
// confirmation) gets a burst one key at a time, which is also right.
type textTaker interface {
	TakesText() bool
}

func takesText(v any) bool {
	t, ok := v.(textTaker)
	return ok && t.TakesText()
}

// takingText reports whether the next key goes into a text entry.
func (m *Model) takingText() bool {
	if top := m.modals.top(); top != nil {
		return takesText(top)
	}
	if m.showHelp {
		return false
	}
	return takesText(m.panes[m.focus])
}

// keyBurst hands msg to the console as the key presses it holds.
func (m *Model) keyBurst(msg tea.KeyMsg) tea.Cmd {
	if msg.Paste {
		// Bracketed paste is text, never keys: pasted "dy" must not
		// revoke anything.
		if m.takingText() {
			return m.key(msg)
		}
		return notify(levelInfo, "paste ignored: no text field is open (press "+keyName(m.c.Keys.Filter)+" to filter or "+keyName(m.c.Keys.Palette)+" for the palette first)")
	}
	if msg.Type != tea.KeyRunes || len(msg.Runes) < 2 {
		return m.key(msg)
	}
	runes := msg.Runes
	cmds := make([]tea.Cmd, 0, len(runes))
	for i := range runes {
		if m.takingText() {
			rest := msg
			rest.Runes = runes[i:]
			cmds = append(cmds, m.key(rest))
			break
		}
		one := msg
		one.Runes = runes[i : i+1]
		// The next key lands on the console as this one left it (a pane
		// shown by it has read its data), as if they came apart.
		cmds = append(cmds, m.key(one), m.propagate())
	}
	return tea.Batch(cmds...)
}

// formTakesText reports whether f's focused field is a text input (a
// select takes single keys, so a burst there is split).
func formTakesText(f *huh.Form) bool {
	switch f.GetFocusedField().(type) {
	case *huh.Input, *huh.Text:
		return true
	}
	return false
}

package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// prompt asks for one line of text: a VIN, a command name, the
// confirmation code of an ignition command. The keymap's Send key accepts
// and its Back key gives up, whatever they are bound to.
type prompt struct {
	c     *Common
	input textinput.Model
	// head draws the lines above the input for width w (the code prompt
	// shows the platform's message and code there).
	head   func(w int) []string
	indent string
	// allow filters typed characters (nil: any); the code takes digits only.
	allow func(r rune) bool
	// accept is given the typed value. A non-empty problem keeps the prompt
	// open and shows it under the input; otherwise the prompt closes.
	accept func(value string) (cmd tea.Cmd, problem string)
	cancel func() tea.Cmd // nil: nothing to undo
	// note is shown under the input until the next key.
	note string

	acceptHelp, cancelHelp string
	w, h                   int
}

// promptSpec is what a caller decides about a prompt.
type promptSpec struct {
	label, placeholder string
	value              string // pre-filled (an export's file name; never a code)
	limit              int
	head               func(w int) []string
	indent             string
	allow              func(r rune) bool
	note               string
	accept             func(string) (tea.Cmd, string)
	cancel             func() tea.Cmd
	acceptHelp         string
	cancelHelp         string
}

func newPrompt(c *Common, s promptSpec) *prompt {
	ti := textinput.New()
	ti.Prompt, ti.Placeholder, ti.CharLimit = s.label, s.placeholder, s.limit
	if s.value != "" {
		ti.SetValue(s.value)
	}
	styleInput(&ti, c.Styles)
	p := &prompt{
		c: c, input: ti, head: s.head, indent: s.indent, allow: s.allow, note: s.note,
		accept: s.accept, cancel: s.cancel, acceptHelp: s.acceptHelp, cancelHelp: s.cancelHelp,
	}
	if p.acceptHelp == "" {
		p.acceptHelp = "accept"
	}
	if p.cancelHelp == "" {
		p.cancelHelp = "cancel"
	}
	return p
}

// Init focuses the input (a code is never pre-filled: the operator types it).
func (p *prompt) Init() tea.Cmd { return p.input.Focus() }

func (p *prompt) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, feedInput(&p.input, msg)
	}
	keys := p.c.Keys
	switch {
	case key.Matches(k, keys.Back):
		p.input.Blur()
		if p.cancel != nil {
			return nil, p.cancel()
		}
		return nil, nil
	case key.Matches(k, keys.Send):
		cmd, problem := p.accept(p.input.Value())
		if problem != "" {
			p.note = problem
			return p, cmd
		}
		p.input.Blur()
		return nil, cmd
	}
	k, ok = keepRunes(k, p.allow)
	if !ok {
		return p, nil
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(k)
	p.note = ""
	return p, cmd
}

func (p *prompt) SetSize(w, h int) {
	p.w, p.h = w, h
	p.input.Width = max(w-12, 6)
}

func (p *prompt) Capturing() bool { return true }
func (p *prompt) TakesText() bool { return true }

func (p *prompt) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(p.c.Keys.Send, p.acceptHelp), withHelp(p.c.Keys.Back, p.cancelHelp)}
}

func (p *prompt) View() string {
	var lines []string
	if p.head != nil {
		lines = append(lines, p.head(p.w)...)
	}
	lines = append(lines, p.indent+p.input.View())
	if p.note != "" {
		for _, l := range wrapText(p.note, max(p.w, 10), 3) {
			lines = append(lines, p.c.Styles.Warning.Render(l))
		}
	}
	return strings.Join(lines, "\n")
}

// keepRunes drops from a typed key the characters a field cannot take
// (allow nil: any), before the input sees them; ok is false when nothing
// is left.
func keepRunes(k tea.KeyMsg, allow func(rune) bool) (tea.KeyMsg, bool) {
	if allow == nil || k.Type != tea.KeyRunes {
		return k, true
	}
	kept := make([]rune, 0, len(k.Runes))
	for _, r := range k.Runes {
		if allow(r) {
			kept = append(kept, r)
		}
	}
	k.Runes = kept
	return k, len(kept) > 0
}

// feedInput passes a text input its own messages (the cursor's); mouse
// events are not for it.
func feedInput(ti *textinput.Model, msg tea.Msg) tea.Cmd {
	if _, mouse := msg.(tea.MouseMsg); mouse {
		return nil
	}
	var cmd tea.Cmd
	*ti, cmd = ti.Update(msg)
	return cmd
}

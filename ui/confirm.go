package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// confirmDialog asks one yes/no question in a box: the confirm key goes
// ahead (onYes), any other key keeps things as they are. "Any other key"
// includes q and the pane keys, so the dialog captures them all.
type confirmDialog struct {
	c     *Common
	title string // the question, in bold
	text  string // what will happen, wrapped
	verb  string // what the confirm key does ("revoke")
	onYes func() tea.Cmd
	w, h  int
}

func newConfirm(c *Common, title, text, verb string, onYes func() tea.Cmd) *confirmDialog {
	return &confirmDialog{c: c, title: title, text: text, verb: verb, onYes: onYes}
}

func (d *confirmDialog) Init() tea.Cmd { return nil }

func (d *confirmDialog) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return d, nil
	}
	if key.Matches(k, d.c.Keys.Confirm) && d.onYes != nil {
		return nil, d.onYes()
	}
	return nil, nil
}

func (d *confirmDialog) SetSize(w, h int) { d.w, d.h = w, h }
func (d *confirmDialog) Capturing() bool  { return true }

func (d *confirmDialog) ShortHelp() []key.Binding { return []key.Binding{d.c.Keys.Confirm} }

func (d *confirmDialog) View() string {
	st := d.c.Styles
	w := clamp(d.w-4, 20, 64)
	body := []string{st.Bold.Render(d.title), ""}
	body = append(body, wrapText(d.text, w-4, 3)...)
	body = append(body, "", fmt.Sprintf("%s: %s    any other key: keep it", d.c.Keys.Confirm.Help().Key, d.verb))
	box := st.Dialog.Width(w - 2).Render(strings.Join(body, "\n"))
	return fit(center(box, d.w, d.h-1), d.w, d.h)
}

// center places block in the middle of a w×h area.
func center(block string, w, h int) string {
	lines := strings.Split(block, "\n")
	top := max((h-len(lines))/2, 0)
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	left := strings.Repeat(" ", max((w-bw)/2, 0))
	var b strings.Builder
	b.WriteString(strings.Repeat("\n", top))
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(left + l)
	}
	return b.String()
}

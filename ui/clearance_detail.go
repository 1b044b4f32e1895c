package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// clearanceDetail shows one vehicle and its changelog over the table. It
// reads the vehicle from the pane on every draw, so a refresh shows at once;
// revoke and eligibility open their overlays above it. It does not capture:
// the pane keys and q still work.
type clearanceDetail struct {
	pane *Clearance
	vin  string
	off  int // first changelog line shown
	w, h int
}

func newClearanceDetail(pane *Clearance, vin string) *clearanceDetail {
	return &clearanceDetail{pane: pane, vin: vin}
}

func (d *clearanceDetail) Init() tea.Cmd { return nil }

func (d *clearanceDetail) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k := d.pane.c.Keys
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Back), key.Matches(msg, k.Open):
			return nil, nil
		case key.Matches(msg, k.Up):
			d.scroll(-1)
		case key.Matches(msg, k.Down):
			d.scroll(1)
		case key.Matches(msg, k.Revoke):
			return d, d.pane.openRevoke(d.vin)
		case key.Matches(msg, k.Eligibility):
			return d, d.pane.openEligibility(d.vin)
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			d.scroll(-3)
		case tea.MouseButtonWheelDown:
			d.scroll(3)
		}
	}
	return d, nil
}

// scroll moves the changelog within what there is to show now.
func (d *clearanceDetail) scroll(delta int) {
	d.off = clamp(d.off+delta, 0, d.maxOff(len(d.lines())))
}

// body is how many lines the vehicle and its changelog get (the last line
// is the key hint).
func (d *clearanceDetail) body() int { return max(d.h-1, 1) }

func (d *clearanceDetail) maxOff(lines int) int { return max(lines-d.body(), 0) }

func (d *clearanceDetail) SetSize(w, h int) { d.w, d.h = w, h }
func (d *clearanceDetail) Capturing() bool  { return false }

func (d *clearanceDetail) ShortHelp() []key.Binding {
	k := d.pane.c.Keys
	return []key.Binding{k.Back, k.Up, k.Down}
}

// lines is the vehicle's header and changelog, newest first.
func (d *clearanceDetail) lines() []string {
	c := d.pane.c
	st := c.Styles
	v, ok := d.pane.find(d.vin)
	if !ok {
		return []string{st.Dim.Render(d.vin + " is no longer in the list."), "", st.Dim.Render(keyName(c.Keys.Back) + ": back")}
	}
	lines := []string{
		st.Bold.Render(v.VIN) + "  " + v.Brand + "  " + st.Badge(string(v.Status), len(v.Status)),
	}
	if t := fleet.TagText(v.Tags, " "); t != "" {
		lines = append(lines, st.Dim.Render("tags: ")+t)
	}
	lines = append(lines, "", st.Header.Render("Changelog (newest first, your time zone)"))
	if len(v.Changelog) == 0 {
		lines = append(lines, st.Dim.Render("  no changes recorded"))
	}
	for i := len(v.Changelog) - 1; i >= 0; i-- {
		ch := v.Changelog[i]
		line := "  " + c.localTime(ch.Timestamp) + "  " + st.Badge(string(ch.Status), 10)
		if ch.Reason != "" {
			reasons := wrapText("reason: "+ch.Reason, max(d.w-32, 10), 4)
			line += " " + reasons[0]
			lines = append(lines, line)
			for _, more := range reasons[1:] {
				lines = append(lines, strings.Repeat(" ", 31)+more)
			}
			continue
		}
		lines = append(lines, line)
	}
	return lines
}

func (d *clearanceDetail) View() string {
	c := d.pane.c
	lines := d.lines()
	if _, ok := d.pane.find(d.vin); !ok {
		return strings.Join(lines, "\n")
	}
	// The list may have shrunk since the last scroll: clamp here too, in a
	// copy, since View changes nothing.
	off := clamp(d.off, 0, d.maxOff(len(lines)))
	lines = fitLines(lines[off:], d.body())
	k := c.Keys
	help := keyName(k.Back) + ": back · " + keyName(k.Up) + "/" + keyName(k.Down) + ": scroll"
	if !c.ReadOnly {
		help += " · " + keyName(k.Revoke) + ": revoke/cancel · " + keyName(k.Eligibility) + ": eligibility"
	}
	lines = append(lines, c.Styles.Dim.Render(help))
	return strings.Join(lines, "\n")
}

// keyName is the first key of b as help shows it ("esc", "↑").
func keyName(b key.Binding) string {
	ks := b.Keys()
	if len(ks) == 0 {
		return b.Help().Key
	}
	switch ks[0] {
	case "up":
		return "↑"
	case "down":
		return "↓"
	case "left":
		return "←"
	case "right":
		return "→"
	case " ":
		return "space"
	}
	return ks[0]
}

// Package ui is fleetdeck's terminal console: a root model composing the
// Clearance, Telemetry and Commands panes, a status bar and help.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Options wire the console to its backends. A nil backend disables its view
// (the view says so).
type Options struct {
	Renderer   *lipgloss.Renderer // one per session (SSH: bubbletea.MakeRenderer)
	Profile    string
	Sandbox    bool // running on the embedded sandbox
	Production bool // frame the console in red

	Fleet     FleetService
	Commands  CommandService
	Telemetry TelemetrySource
	Platform  PlatformStatus
	Audit     AuditLog // nil: the Commands view shows no journal

	PollInterval time.Duration // clearance list; default 10s, at least 2s (the API allows 60 calls a minute)
	Keys         map[string][]string
	Logger       *slog.Logger
	Now          func() time.Time
	ReadOnly     bool // hide and refuse add, revoke and send

	// User and Role name who is at the console (SSH sessions); the status
	// bar shows them when set.
	User, Role string
}

// Layout thresholds.
const (
	wideWidth       = 160 // all three panes side by side from here
	defaultPoll     = 10 * time.Second
	minPoll         = 2 * time.Second
	clockInterval   = time.Second
	minUsableWidth  = 20
	minUsableHeight = 6
)

// clockMsg refreshes ages and countdowns, once a second.
type clockMsg struct{}

// Model is the root of the console. It implements tea.Model.
type Model struct {
	c *Common

	clearance *Clearance
	telemetry *Telemetry
	commands  *Commands
	panes     [paneCount]component

	status   statusBar
	help     help.Model
	showHelp bool
	focus    paneID

	w, h       int
	production bool
	profile    string
	approvedV  uint64

	// geometry of the last layout, for the mouse
	frame   int
	bodyTop int
	bodyH   int
	paneX   [paneCount][2]int
	tabX    [paneCount][2]int
	wide    bool
}

// New builds the console. It fails only on a bad [keys] table.
func New(ctx context.Context, o Options) (*Model, error) {
	if ctx == nil {
		return nil, errors.New("ui: nil context")
	}
	keys := keymap.Default()
	if err := keys.Apply(o.Keys); err != nil {
		return nil, fmt.Errorf("ui: [keys]: %w", err)
	}
	r := o.Renderer
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	// Ask the terminal for its background now, before Bubble Tea owns the
	// input: asking from the first View would race the key reader.
	r.HasDarkBackground()
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	poll := o.PollInterval
	if poll <= 0 {
		poll = defaultPoll
	}
	poll = max(poll, minPoll)
	c := &Common{Ctx: ctx, Styles: NewStyles(r), Keys: keys, Logger: logger, Now: now, ReadOnly: o.ReadOnly}

	m := &Model{c: c, production: o.Production, profile: o.Profile}
	// Interfaces holding typed nil pointers are disabled too.
	m.clearance = newClearance(c, orNil(o.Fleet), poll)
	m.telemetry = newTelemetry(c, orNil(o.Telemetry))
	m.commands = newCommands(c, orNil(o.Commands), orNil(o.Audit))
	m.panes = [paneCount]component{m.clearance, m.telemetry, m.commands}
	m.status = statusBar{
		c: c, profile: o.Profile, sandbox: o.Sandbox, production: o.Production,
		fleet: m.clearance.svc, tele: m.telemetry.src, platform: orNil(o.Platform), commands: m.commands.svc != nil,
		user: o.User, role: o.Role,
	}
	m.status.refresh()
	m.help = help.New()
	m.help.Styles = c.Styles.Help
	return m, nil
}

// Busy reports whether a call the user started is still in flight: an add,
// a revoke, a command being sent or followed to its end. A server shutting
// down waits for it before closing the session.
func (m *Model) Busy() bool {
	return m.commands.inFlight() || m.clearance.busy != ""
}

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.EnableMouseCellMotion, m.tick()}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	return tea.Batch(cmds...)
}

func (m *Model) tick() tea.Cmd {
	return m.c.after(clockInterval, clockMsg{})
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.resize()
		return m, nil
	case clockMsg:
		m.status.refresh()
		return m, m.tick()
	case providerMsg:
		m.status.provider(msg)
		return m, nil
	case brokerMsg:
		m.status.setBroker(msg.text, msg.ok)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	case envelope:
		if msg.pane >= paneCount {
			return m, nil
		}
		cmd := m.update(msg.pane, msg)
		return m, tea.Batch(cmd, m.syncApproved())
	}
	// Messages of the widgets inside the panes (huh, spinner, textinput)
	// carry no envelope: every pane gets them and ignores what is not its own.
	var cmds []tea.Cmd
	for i := range m.panes {
		cmds = append(cmds, m.update(paneID(i), msg))
	}
	return m, tea.Batch(cmds...)
}

func (m *Model) update(p paneID, msg tea.Msg) tea.Cmd {
	_, cmd := m.panes[p].Update(msg)
	return cmd
}

// syncApproved hands Clearance's approved vehicles to the Commands pane.
func (m *Model) syncApproved() tea.Cmd {
	vs, v := m.clearance.Approved()
	if v != m.approvedV {
		m.approvedV = v
		m.commands.SetVehicles(vs)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	pane := m.panes[m.focus]
	if pane.Capturing() {
		return m.update(m.focus, msg)
	}
	if m.showHelp {
		if key.Matches(msg, k.Quit) {
			return tea.Quit
		}
		m.showHelp = false
		return nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, k.NextPane):
		m.setFocus((m.focus + 1) % paneCount)
		return nil
	case key.Matches(msg, k.PrevPane):
		m.setFocus((m.focus + paneCount - 1) % paneCount)
		return nil
	case key.Matches(msg, k.PaneClearance):
		m.setFocus(paneClearance)
		return nil
	case key.Matches(msg, k.PaneTelemetry):
		m.setFocus(paneTelemetry)
		return nil
	case key.Matches(msg, k.PaneCommands):
		m.setFocus(paneCommands)
		return nil
	}
	return m.update(m.focus, msg)
}

func (m *Model) setFocus(p paneID) {
	m.focus = p
}

func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	y := msg.Y - m.frame
	x := msg.X - m.frame
	if y == 0 && msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft {
		for i, r := range m.tabX {
			if x >= r[0] && x < r[1] {
				m.setFocus(paneID(i))
			}
		}
		return nil
	}
	if m.showHelp || y < m.bodyTop-m.frame || y >= m.bodyTop-m.frame+m.bodyH {
		return nil
	}
	target := m.focus
	local := msg
	local.Y = y - (m.bodyTop - m.frame)
	local.X = x
	if m.wide {
		for i, r := range m.paneX {
			if x >= r[0] && x < r[1] {
				target = paneID(i)
				local.X = x - r[0] - 1
				local.Y--
			}
		}
	}
	if msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft {
		m.setFocus(target)
	}
	if m.panes[target].Capturing() && target != m.focus {
		return nil
	}
	return m.update(target, local)
}

// resize lays the screen out for the current size and tells every pane.
func (m *Model) resize() {
	m.frame = 0
	if m.production {
		m.frame = 1
	}
	iw, ih := m.w-2*m.frame, m.h-2*m.frame
	m.bodyTop = m.frame + 1
	m.bodyH = max(ih-3, 1)
	m.wide = iw >= wideWidth
	m.help.Width = max(iw, 0)
	if m.wide {
		widths := [paneCount]int{iw * 36 / 100, iw * 38 / 100, 0}
		widths[2] = iw - widths[0] - widths[1]
		x := 0
		for i, w := range widths {
			m.paneX[i] = [2]int{x, x + w}
			m.panes[i].SetSize(max(w-2, 1), max(m.bodyH-2, 1))
			x += w
		}
		return
	}
	for i := range m.panes {
		m.paneX[i] = [2]int{0, iw}
		m.panes[i].SetSize(max(iw, 1), m.bodyH)
	}
}

func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	iw, ih := m.w-2*m.frame, m.h-2*m.frame
	if iw < minUsableWidth || ih < minUsableHeight {
		return fit(fmt.Sprintf("fleetdeck needs at least %d×%d (now %d×%d)", minUsableWidth+2*m.frame, minUsableHeight+2*m.frame, m.w, m.h), m.w, m.h)
	}
	var b strings.Builder
	b.Grow(m.w * m.h * 2)
	b.WriteString(m.headerView(iw))
	b.WriteByte('\n')
	b.WriteString(m.bodyView(iw))
	b.WriteByte('\n')
	b.WriteString(m.status.View(iw))
	b.WriteByte('\n')
	b.WriteString(m.helpLine(iw))
	screen := b.String()
	if m.production {
		return m.productionFrame(screen)
	}
	return screen
}

func (m *Model) headerView(w int) string {
	st := m.c.Styles
	var b strings.Builder
	title := " fleetdeck "
	b.WriteString(st.Title.Render(title))
	x := len(title)
	for i := range m.panes {
		p := paneID(i)
		label := fmt.Sprintf("%d %s", i+1, p)
		if p == paneClearance && m.clearance.Changes() > 0 {
			label += fmt.Sprintf(" •%d", m.clearance.Changes())
		}
		if p == paneTelemetry && m.telemetry.paused {
			label += " ⏸"
		}
		if p == paneCommands && m.commands.inFlight() {
			label += " …"
		}
		if p == m.focus {
			label = "[" + label + "]"
			b.WriteString(st.TabActive.Render(label))
		} else {
			label = " " + label + " "
			b.WriteString(st.TabInactive.Render(label))
		}
		lw := len([]rune(label))
		m.tabX[i] = [2]int{x, x + lw}
		x += lw
		b.WriteByte(' ')
		x++
	}
	return pad(b.String(), w)
}

func (m *Model) bodyView(w int) string {
	h := m.bodyH
	if m.showHelp {
		return fit(m.fullHelp(w), w, h)
	}
	if !m.wide {
		return fit(m.panes[m.focus].View(), w, h)
	}
	cols := make([][]string, paneCount)
	for i, p := range m.panes {
		r := m.paneX[i]
		cols[i] = strings.Split(m.box(paneID(i).String(), paneID(i) == m.focus, p.View(), r[1]-r[0], h), "\n")
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
	lines := strings.Split(fit(content, inner, max(h-2, 0)), "\n")
	var b strings.Builder
	b.WriteString(top)
	for _, l := range lines {
		b.WriteByte('\n')
		b.WriteString(side + l + side)
	}
	b.WriteByte('\n')
	b.WriteString(bs.Render(bl + strings.Repeat(hz, inner) + br))
	return b.String()
}

func (m *Model) globalKeys() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Help, k.NextPane, k.PaneClearance, k.PaneTelemetry, k.PaneCommands, k.Quit}
}

func (m *Model) helpLine(w int) string {
	m.help.Width = w
	if m.showHelp {
		return pad(m.help.ShortHelpView([]key.Binding{withHelp(m.c.Keys.Back, "close help"), m.c.Keys.Quit}), w)
	}
	k := m.c.Keys
	bindings := m.panes[m.focus].ShortHelp()
	if !m.panes[m.focus].Capturing() {
		bindings = append(bindings, k.Help, k.NextPane, k.Quit)
	}
	return pad(m.help.ShortHelpView(bindings), w)
}

func (m *Model) fullHelp(w int) string {
	st := m.c.Styles
	m.help.Width = w
	groups := [][]key.Binding{m.globalKeys()}
	groups = append(groups, m.panes[m.focus].FullHelp()...)
	var b strings.Builder
	b.WriteString(st.Header.Render("Keys — " + m.focus.String()))
	b.WriteString("\n\n")
	// Columns flow onto a new row when the next would not fit: help's own
	// full view would cut them off with an ellipsis on narrow terminals.
	var row []string
	rowW := 0
	flush := func() {
		if len(row) > 0 {
			b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, row...))
			b.WriteString("\n\n")
		}
		row, rowW = nil, 0
	}
	for _, g := range groups {
		col := m.help.FullHelpView([][]key.Binding{g})
		cw := lipgloss.Width(col) + 4
		if rowW+cw > w && len(row) > 0 {
			flush()
		}
		row = append(row, col+"    ")
		rowW += cw
	}
	flush()
	for _, l := range wrapText("Mouse: wheel scrolls, click selects a row or a tab. Keys can be changed in the [keys] table of the config.", w, 3) {
		b.WriteString(st.Dim.Render(l) + "\n")
	}
	return b.String()
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

// Package ui is fleetdeck's terminal console: a root model composing the
// Clearance, Telemetry, Commands and Map panes, a status bar and help.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/theme"
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
	// Approvals is this operator's approval desk (four eyes); nil: a
	// command the policy lists for approval cannot be sent from here.
	Approvals ApprovalService
	// Policy is [commands] approval and confirm.
	Policy config.CommandPolicy
	// Codes remembers the ignition codes issued, to tell a wrong code from
	// an expired one or another vehicle's; one per box (nil: the console
	// keeps its own).
	Codes *commands.CodeBook

	PollInterval time.Duration // clearance list; default 10s, at least 2s (the API allows 60 calls a minute)
	Keys         map[string][]string
	Logger       *slog.Logger
	Now          func() time.Time
	ReadOnly     bool // hide and refuse add, revoke and send

	// User and Role name who is at the console (SSH sessions); the status
	// bar shows them when set.
	User, Role string

	// Theme is the [theme] table: a named theme and colours per role.
	Theme theme.Spec
	// Clipboard is where a copy writes its OSC 52 sequence: the program's
	// own output (over SSH, a SerialWriter shared with tea.WithOutput). Nil:
	// copying says it cannot.
	Clipboard io.Writer
	// ExportDir is where an SSH session's exports go, on the ops box (file
	// names only); "" lets the local console write any path.
	ExportDir string
	// Profiles are the profiles beside the config file ("default" for
	// config.toml itself), for the palette's profile command; ProfileCommand
	// is the command line that starts fleetdeck on this config, to which
	// the palette adds --profile NAME.
	Profiles       []string
	ProfileCommand string
}

// Layout thresholds.
const (
	wideWidth       = 160 // three panes side by side from here (the Map shares Telemetry's column)
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
	mapv      *Map
	panes     [paneCount]component
	// middle is the pane the wide layout shows in its middle column:
	// Telemetry, or the Map once it had focus.
	middle paneID
	// mapOn: the Map was on screen after the last message; mapRead is the
	// Telemetry batch it last read the positions at (propagate).
	mapOn   bool
	mapRead uint64
	journal AuditLog
	// modals are console-wide overlays, drawn over every pane.
	modals overlays

	status   statusBar
	help     help.Model
	showHelp bool
	helpOff  int // first line of the help screen shown
	focus    paneID

	notes      notifier
	seenNotes  int  // entries the operator has seen in the history
	linked     bool // a selection follows across the views
	profiles   []string
	profileCmd string
	remote     bool // an SSH session: the process runs on the ops box

	w, h       int
	lay        rootLayout
	production bool
	profile    string
	approvedV  uint64

	safety safety // approval requests and immobilised vehicles (watch.go)
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
	pal, err := theme.Resolve(o.Theme)
	if err != nil {
		return nil, fmt.Errorf("ui: [theme]: %w", err)
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
	c := &Common{Ctx: ctx, Styles: NewStyles(r, pal), Keys: keys, Logger: logger, Now: now, ReadOnly: o.ReadOnly,
		clip: orNil(o.Clipboard), marks: newMarkSet(), exportDir: o.ExportDir, sandbox: o.Sandbox}

	m := &Model{c: c, production: o.Production, profile: o.Profile, linked: true,
		profiles: o.Profiles, profileCmd: o.ProfileCommand, remote: o.User != "" || o.Role != ""}
	if m.profileCmd == "" {
		m.profileCmd = "fleetdeck"
	}
	m.notes.c = c
	// Interfaces holding typed nil pointers are disabled too.
	m.clearance = newClearance(c, orNil(o.Fleet), poll)
	m.telemetry = newTelemetry(c, orNil(o.Telemetry))
	m.commands = newCommands(c, orNil(o.Commands), orNil(o.Audit))
	m.mapv = newMap(c, orNil(o.Telemetry))
	m.panes = [paneCount]component{m.clearance, m.telemetry, m.commands, m.mapv}
	m.middle, m.journal = paneTelemetry, orNil(o.Audit)
	m.wireSafety(o)
	m.status = statusBar{
		c: c, profile: o.Profile, sandbox: o.Sandbox, production: o.Production, immob: c.immob,
		fleet: m.clearance.svc, platform: orNil(o.Platform), commands: m.commands.svc != nil,
		user: o.User, role: o.Role,
	}
	if m.telemetry.src != nil {
		m.status.broker = m.telemetry.broker
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
	for _, ov := range m.modals.stack {
		if b, ok := ov.(*bulkAction); ok && b.busy() {
			return true
		}
	}
	return m.commands.inFlight() || m.clearance.busy != ""
}

func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.EnableMouseCellMotion, m.tick()}
	for _, p := range m.panes {
		cmds = append(cmds, p.Init())
	}
	if w := m.safety.watch; w != nil {
		cmds = append(cmds, m.safety.reload(m.c), w.next(), w.tick())
	}
	return tea.Batch(cmds...)
}

func (m *Model) tick() tea.Cmd {
	return m.c.after(clockInterval, clockMsg{})
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := m.route(msg)
	return m, tea.Batch(cmd, m.propagate())
}

// route hands msg to what it is for.
func (m *Model) route(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = ClampSize(msg.Width, msg.Height)
		m.resize()
		return nil
	case ReadOnlyMsg:
		m.readOnly(msg)
		return nil
	case clockMsg:
		m.status.refresh()
		m.telemetry.tick(m.c.Now())
		// The top console-wide overlay counts down with the clock.
		return tea.Batch(m.tick(), m.modals.update(msg))
	case closeModalMsg:
		m.modals.remove(msg.ov)
		return nil
	case providerMsg:
		m.status.provider(msg)
		if msg.err != nil {
			m.notes.add(notifyMsg{level: levelError, text: errorText(msg.err)})
		}
		return nil
	case notifyMsg:
		m.notes.add(msg)
		return nil
	case openModalMsg:
		return m.modals.open(msg.ov)
	case tea.KeyMsg:
		return m.keyBurst(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	case envelope:
		switch {
		case msg.pane == paneModal:
			return m.modals.update(msg)
		case msg.pane == paneRoot:
			return m.rootEnvelope(msg)
		case msg.pane < paneCount:
			return m.update(msg.pane, msg)
		}
		return nil
	}
	// Messages of the widgets inside the panes (huh, spinner, textinput)
	// carry no envelope: every pane and the top console-wide overlay get
	// them, and each ignores what is not its own.
	cmds := []tea.Cmd{m.modals.update(msg)}
	for i := range m.panes {
		cmds = append(cmds, m.update(paneID(i), msg))
	}
	return tea.Batch(cmds...)
}

func (m *Model) update(p paneID, msg tea.Msg) tea.Cmd {
	_, cmd := m.panes[p].Update(msg)
	return cmd
}

// propagate carries what a message changed in one part of the console
// into the others, after every message: wherever the change came from (a
// reply, a key, a click, the palette, a modal that closed), nothing has to
// remember to pass it on. Each step is a comparison when nothing changed.
func (m *Model) propagate() tea.Cmd {
	m.syncApproved()
	m.syncMap()
	// A bulk send follows its rows in the Commands pane's flows, which
	// answer the pane, not the overlay.
	return m.nudgeBulk()
}

// syncApproved hands Clearance's approved vehicles to the Commands pane
// and the Map when they changed.
func (m *Model) syncApproved() {
	vs, v := m.clearance.Approved()
	if v != m.approvedV {
		m.approvedV = v
		m.commands.SetVehicles(vs)
		m.mapv.SetApproved(vs)
	}
}

// mapShown reports whether the Map is on screen (it reads the feed only
// then).
func (m *Model) mapShown() bool {
	return m.focus == paneMap || m.lay.wide && m.middle == paneMap && !m.modals.active() && !m.showHelp
}

// syncMap puts the focused one of Telemetry and Map in the wide layout's
// middle column, and has the Map read the positions when it comes on
// screen and after each feed batch while it is there.
func (m *Model) syncMap() {
	if m.focus == paneTelemetry || m.focus == paneMap {
		m.middle = m.focus
	}
	shown := m.mapShown()
	appeared := shown && !m.mapOn
	m.mapOn = shown
	if !appeared && (!shown || m.mapRead == m.telemetry.batches) {
		return
	}
	if appeared && m.mapv.SelectedVehicle() == "" {
		// The map starts on Telemetry's vehicle, linked or not.
		m.mapv.selID = m.telemetry.selID
	}
	m.mapRead = m.telemetry.batches
	m.mapv.setTotal(len(m.telemetry.vehicles))
	m.mapv.reload()
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if m.modals.active() {
		// A console-wide overlay has every key; one that does not capture
		// leaves quit to the console.
		if !m.modals.capturing() && key.Matches(msg, k.Quit) {
			return tea.Quit
		}
		return m.modals.update(msg)
	}
	pane := m.panes[m.focus]
	if pane.Capturing() {
		return m.paneKey(msg)
	}
	if m.showHelp {
		return m.helpKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % paneCount
		return nil
	case key.Matches(msg, k.PrevPane):
		m.focus = (m.focus + paneCount - 1) % paneCount
		return nil
	case key.Matches(msg, k.PaneClearance):
		m.focus = paneClearance
		return nil
	case key.Matches(msg, k.PaneTelemetry):
		m.focus = paneTelemetry
		return nil
	case key.Matches(msg, k.PaneCommands):
		m.focus = paneCommands
		return nil
	case key.Matches(msg, k.Approvals):
		return m.openApprovals()
	case key.Matches(msg, k.Palette):
		return m.openPalette()
	case key.Matches(msg, k.Notifications):
		m.seenNotes = len(m.notes.entries)
		return m.modals.open(newNotificationsView(m.c, &m.notes))
	case key.Matches(msg, k.Dismiss):
		m.notes.dismiss()
		return nil
	case key.Matches(msg, k.Link):
		m.linked = !m.linked
		return notify(levelInfo, "linked selection "+onOff(m.linked)+": choosing a vehicle "+map[bool]string{true: "chooses it in every view", false: "stays in its view"}[m.linked])
	case key.Matches(msg, k.Copy):
		if c, ok := pane.(interface{ copyTarget() (string, string) }); ok {
			return m.c.copy(c.copyTarget())
		}
		return nil
	case key.Matches(msg, k.Export):
		return m.openExport()
	case key.Matches(msg, k.PaneMap):
		m.focus = paneMap
		return nil
	case key.Matches(msg, k.Timeline):
		return m.openTimeline(m.selectedVehicle())
	}
	return m.paneKey(msg)
}

// paneKey hands msg to the focused pane and lets its selection follow into
// the others.
func (m *Model) paneKey(msg tea.KeyMsg) tea.Cmd {
	before := m.selectedIn(m.focus)
	cmd := m.update(m.focus, msg)
	m.follow(m.focus, before)
	return cmd
}

func (m *Model) mouse(msg tea.MouseMsg) tea.Cmd {
	l := m.lay
	if l.tooSmall {
		return nil
	}
	press := msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft
	if msg.Y == l.frame && press && !m.modals.active() {
		for _, t := range m.tabs() {
			if x := msg.X - l.frame; x >= t.x0 && x < t.x1 {
				m.focus = t.pane
			}
		}
		return nil
	}
	if !l.body.contains(msg.X, msg.Y) {
		return nil
	}
	if m.modals.active() {
		local := msg
		local.X, local.Y = msg.X-l.body.x, msg.Y-l.body.y
		return m.modals.update(local)
	}
	if m.showHelp {
		return nil
	}
	target := m.focus
	if l.wide {
		for i, b := range l.box {
			if b.contains(msg.X, msg.Y) && m.inColumn(paneID(i)) {
				target = paneID(i)
			}
		}
	}
	if press {
		m.focus = target
	}
	if m.panes[target].Capturing() && target != m.focus {
		return nil
	}
	if !l.content[target].contains(msg.X, msg.Y) && !l.wide {
		return nil // the journal strip
	}
	local := msg
	local.X, local.Y = msg.X-l.content[target].x, msg.Y-l.content[target].y
	before := m.selectedIn(target)
	cmd := m.update(target, local)
	m.follow(target, before)
	return cmd
}

func (m *Model) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	l := m.lay
	if l.tooSmall {
		return fit(fmt.Sprintf("fleetdeck needs at least %d×%d (now %d×%d)", minUsableWidth+2*l.frame, minUsableHeight+2*l.frame, m.w, m.h), m.w, m.h)
	}
	var b strings.Builder
	b.Grow(m.w * m.h * 2)
	b.WriteString(m.headerView(l.iw))
	b.WriteByte('\n')
	b.WriteString(m.withToasts(m.bodyView(), l.body.w, l.body.h))
	b.WriteByte('\n')
	b.WriteString(m.status.View(l.iw))
	b.WriteByte('\n')
	b.WriteString(m.helpLine(l.iw))
	screen := b.String()
	if m.production {
		return m.productionFrame(screen)
	}
	return screen
}

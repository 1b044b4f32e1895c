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
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/termsafe"
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

// rect is an area of the screen, in cells from its top left corner.
type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool {
	return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h
}

// rootLayout is the screen's geometry for its size, computed on resize and
// read by View and the mouse (screen coordinates, the production frame
// included).
type rootLayout struct {
	frame    int  // 1 when the production frame surrounds the screen
	iw, ih   int  // inside the frame
	tooSmall bool // below the minimum: View says so and nothing else
	wide     bool // all panes side by side, each in a box
	body     rect // between the tab bar and the status bar
	// box is the area each pane owns (its border included in the wide
	// layout); content is where the pane itself draws.
	box, content [paneCount]rect
	// strip is the journal under the Clearance and Telemetry panes on a
	// narrow but tall screen (h 0: none); Commands shows its own.
	strip rect
}

// Where the journal strip fits: a narrow screen with a body this tall.
const (
	stripMinBody = 30
	stripMaxH    = 10
)

func newRootLayout(w, h int, production, journal bool) rootLayout {
	var l rootLayout
	if production {
		l.frame = 1
	}
	l.iw, l.ih = w-2*l.frame, h-2*l.frame
	l.tooSmall = l.iw < minUsableWidth || l.ih < minUsableHeight
	l.body = rect{x: l.frame, y: l.frame + 1, w: max(l.iw, 0), h: max(l.ih-3, 1)}
	l.wide = l.iw >= wideWidth
	if !l.wide {
		for i := range l.box {
			l.box[i], l.content[i] = l.body, l.body
		}
		if journal && l.body.h >= stripMinBody {
			sh := min(stripMaxH, l.body.h/4)
			l.strip = rect{x: l.body.x, y: l.body.y + l.body.h - sh, w: l.body.w, h: sh}
			for _, p := range []paneID{paneClearance, paneTelemetry, paneMap} {
				l.box[p].h -= sh
				l.content[p].h -= sh
			}
		}
		return l
	}
	widths := [paneCount]int{l.iw * 36 / 100, l.iw * 38 / 100, 0}
	widths[2] = l.iw - widths[0] - widths[1]
	x := l.body.x
	for i, w := range widths[:paneMap] {
		l.box[i] = rect{x: x, y: l.body.y, w: w, h: l.body.h}
		l.content[i] = rect{x: x + 1, y: l.body.y + 1, w: max(w-2, 1), h: max(l.body.h-2, 1)}
		x += w
	}
	// The Map takes the Telemetry column while it is shown.
	l.box[paneMap], l.content[paneMap] = l.box[paneTelemetry], l.content[paneTelemetry]
	return l
}

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

// resize lays the screen out for the current size and tells every pane.
func (m *Model) resize() {
	m.lay = newRootLayout(m.w, m.h, m.production, m.commands.journal != nil)
	l := m.lay
	m.help.Width = max(l.iw, 0)
	for i := range m.panes {
		c := l.content[i]
		m.panes[i].SetSize(max(c.w, 1), c.h)
	}
	m.modals.setSize(l.body.w, l.body.h)
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

// tab is one pane's label in the tab bar and the columns it covers (inside
// the frame).
type tab struct {
	pane   paneID
	label  string
	x0, x1 int
}

const titleText = " fleetdeck "

// tabs labels the panes as the tab bar shows them now: the labels carry
// state (changes, pause, commands in flight), so the header and the mouse
// both ask here rather than remember what was drawn.
func (m *Model) tabs() []tab {
	out := m.tabsNamed(false)
	// Four tabs and the state at the right do not all fit 80 columns:
	// the tabs without focus then go by short names.
	if last := out[len(out)-1]; m.lay.iw > 0 && last.x1+1+ansi.StringWidth(m.headerRight()) >= m.lay.iw {
		out = m.tabsNamed(true)
	}
	return out
}

// shortNames are the tab names used when the full ones do not fit.
var shortNames = [paneCount]string{"Clear", "Tele", "Cmds", "Map"}

func (m *Model) tabsNamed(short bool) []tab {
	out := make([]tab, 0, paneCount)
	x := len(titleText)
	for i := range m.panes {
		p := paneID(i)
		name := p.String()
		if short && p != m.focus {
			name = shortNames[p]
		}
		label := fmt.Sprintf("%d %s", i+1, name)
		if p == paneClearance && m.clearance.Changes() > 0 {
			label += fmt.Sprintf(" •%d changed", m.clearance.Changes())
		}
		if p == paneTelemetry && m.telemetry.paused {
			label += " ⏸"
		}
		if p == paneCommands && m.commands.inFlight() {
			label += " …"
		}
		if p == m.focus {
			label = "[" + label + "]"
		} else {
			label = " " + label + " "
		}
		lw := len([]rune(label))
		out = append(out, tab{pane: p, label: label, x0: x, x1: x + lw})
		x += lw + 1
	}
	return out
}

func (m *Model) headerView(w int) string {
	st := m.c.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(titleText))
	for _, t := range m.tabs() {
		if t.pane == m.focus {
			b.WriteString(st.TabActive.Render(t.label))
		} else {
			b.WriteString(st.TabInactive.Render(t.label))
		}
		b.WriteByte(' ')
	}
	left := b.String()
	state := m.headerState()
	badge := m.approvalBadge()
	for _, right := range []string{badge + state, badge} {
		if gap := w - ansi.StringWidth(left) - ansi.StringWidth(right); gap >= 1 {
			return left + strings.Repeat(" ", gap) + right
		}
	}
	if badge != "" {
		return truncate(left, max(w-ansi.StringWidth(badge), 0)) + truncate(badge, w)
	}
	return pad(left, w)
}

// approvalBadge: another operator waits for a second pair of eyes. Every
// screen says so, at the right of the tabs, before anything else there.
func (m *Model) approvalBadge() string {
	if n := m.safety.desk.waiting(); n > 0 {
		return m.c.Styles.Notice.Render(fmt.Sprintf(" ⚑ %d to approve (%s) ", n, keyName(m.c.Keys.Approvals)))
	}
	return ""
}

// headerRight is what the tab bar shows at its right end.
func (m *Model) headerRight() string { return m.approvalBadge() + m.headerState() }

// headerState is the right end of the tab bar: unread errors, marks, and
// whether selection is linked.
func (m *Model) headerState() string {
	st := m.c.Styles
	var parts []string
	if n := m.notes.unseenErrors(m.seenNotes); n > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("✗ %d new (%s)", n, keyName(m.c.Keys.Notifications))))
	}
	if n := m.c.marks.len(); n > 0 {
		parts = append(parts, st.Notice.Render(fmt.Sprintf("✓ %d marked", n)))
	}
	if m.linked {
		parts = append(parts, st.Accent.Render("⇄ linked"))
	} else {
		parts = append(parts, st.Dim.Render("unlinked"))
	}
	return strings.Join(parts, st.Dim.Render(" · ")) + " "
}

// wireSafety builds what four eyes and the immobilised list need: the
// policy and desk for the send flow, the vehicle lookups every
// confirmation reads, and the journal watch.
func (m *Model) wireSafety(o Options) {
	c := m.c
	c.lookup = m.clearance.find
	c.live = m.telemetry.src
	c.immob = &immobilisedSet{}
	m.safety.immob = c.immob
	m.commands.policy = o.Policy
	if o.Codes != nil {
		m.commands.codes = o.Codes
	}
	if svc := orNil(o.Approvals); svc != nil {
		m.commands.approvals = svc
		m.safety.desk = newApprovalDesk(c, svc)
	}
	log := orNil(o.Audit)
	if src, ok := log.(ImmobilisedSource); ok {
		m.safety.src = src
	}
	if log != nil || m.safety.desk != nil {
		m.safety.watch = newWatch(c, log)
	}
}

func (m *Model) bodyView() string {
	l := m.lay
	w, h := l.body.w, l.body.h
	if top := m.modals.top(); top != nil {
		return fit(top.View(), w, h)
	}
	if m.showHelp {
		return m.helpView(w, h)
	}
	if !l.wide {
		if l.strip.h > 0 && m.focus != paneCommands {
			c := l.content[m.focus]
			rule := m.c.Styles.Dim.Render(strings.Repeat("─", w))
			return fit(m.panes[m.focus].View(), w, c.h) + "\n" + rule + "\n" + fit(m.commands.journal.view(w, l.strip.h-1), w, l.strip.h-1)
		}
		return fit(m.panes[m.focus].View(), w, h)
	}
	cols := make([][]string, 0, paneCount)
	for _, id := range []paneID{paneClearance, m.middle, paneCommands} {
		cols = append(cols, strings.Split(m.box(id.String(), id == m.focus, m.panes[id].View(), l.box[id].w, h), "\n"))
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
	body := fit(content, inner, max(h-2, 0))
	bottom := bs.Render(bl + strings.Repeat(hz, inner) + br)
	// One allocation: this runs for three panes on every frame.
	var b strings.Builder
	b.Grow(len(top) + len(body) + h*(2*len(side)+1) + len(bottom))
	b.WriteString(top)
	for l := range strings.SplitSeq(body, "\n") {
		b.WriteByte('\n')
		b.WriteString(side)
		b.WriteString(l)
		b.WriteString(side)
	}
	b.WriteByte('\n')
	b.WriteString(bottom)
	return b.String()
}

// inColumn reports whether the wide layout shows pane p: Telemetry and the
// Map share a column.
func (m *Model) inColumn(p paneID) bool {
	return (p != paneTelemetry && p != paneMap) || p == m.middle
}

func (m *Model) globalKeys() []key.Binding {
	k := m.c.Keys
	return []key.Binding{k.Help, k.NextPane, k.PaneClearance, k.PaneTelemetry, k.PaneCommands, k.PaneMap, k.Timeline, k.Approvals, k.Palette, k.Notifications, k.Dismiss, k.Link, k.Quit}
}

func (m *Model) helpLine(w int) string {
	k := m.c.Keys
	if m.modals.active() {
		bindings := m.modals.shortHelp()
		if !m.modals.capturing() {
			bindings = append(bindings, k.Quit)
		}
		return pad(m.help.ShortHelpView(bindings), w)
	}
	if m.showHelp {
		return pad(m.help.ShortHelpView([]key.Binding{withHelp(k.Down, "scroll"), withHelp(k.Back, "close help"), k.Quit}), w)
	}
	bindings := m.panes[m.focus].ShortHelp()
	if !m.panes[m.focus].Capturing() {
		bindings = append(bindings, k.Help, k.Palette, k.NextPane, k.Quit)
	}
	return pad(m.help.ShortHelpView(bindings), w)
}

// helpKey scrolls the help screen; any other key closes it.
func (m *Model) helpKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	lines := strings.Count(m.fullHelp(m.lay.body.w), "\n") + 1
	last := max(lines-m.lay.body.h, 0)
	page := max(m.lay.body.h-1, 1)
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Down):
		m.helpOff = min(m.helpOff+1, last)
	case key.Matches(msg, k.Up):
		m.helpOff = max(m.helpOff-1, 0)
	case key.Matches(msg, k.PageDown):
		m.helpOff = min(m.helpOff+page, last)
	case key.Matches(msg, k.PageUp):
		m.helpOff = max(m.helpOff-page, 0)
	case key.Matches(msg, k.Bottom):
		m.helpOff = last
	case key.Matches(msg, k.Top):
		m.helpOff = 0
	default:
		m.showHelp, m.helpOff = false, 0
	}
	return nil
}

// helpView is the help screen from the line scrolled to; the last line
// says when there is more below.
func (m *Model) helpView(w, h int) string {
	lines := strings.Split(m.fullHelp(w), "\n")
	off := clamp(m.helpOff, 0, max(len(lines)-h, 0))
	lines = lines[off:]
	if len(lines) > h && h > 1 {
		lines = append(lines[:h-1], m.c.Styles.Notice.Render(fmt.Sprintf("↓ %d more lines (%s/%s scroll)", len(lines)-h+1, keyName(m.c.Keys.Down), keyName(m.c.Keys.PageDown))))
	}
	return fit(strings.Join(lines, "\n"), w, h)
}

func (m *Model) fullHelp(w int) string {
	st := m.c.Styles
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
	b.WriteString(st.Header.Render("What the numbers and marks mean") + "\n")
	for _, l := range numbersLegend {
		for _, wl := range wrapText(l, w, 3) {
			b.WriteString(st.Dim.Render(wl) + "\n")
		}
	}
	b.WriteByte('\n')
	for _, l := range wrapText("Mouse: wheel scrolls, click selects a row or a tab. Keys can be changed in the [keys] table of the config, colours in [theme].", w, 3) {
		b.WriteString(st.Dim.Render(l) + "\n")
	}
	return b.String()
}

// numbersLegend explains every number and mark the screen shows.
var numbersLegend = []string{
	"Tabs: •N changed = clearance rows whose status changed at the last refresh; … = a command in flight; ⏸ = Telemetry paused.",
	"Header: ✗ N new = errors since you last opened the notifications; ✓ N marked = vehicles marked for a bulk action; ⇄ linked = a selection follows across the views.",
	"Status bar: token valid = time left on the fleet API token; broker = the MQTT connection (attempt N = reconnection attempts so far, down = time since it was lost); fleet/cmds/mrv = how the last call to each API went (ok, error, invalid credentials, … none yet).",
	"Telemetry: msg/s = messages per second (the feed, each vehicle); dropped = messages lost because the decoder fell behind; malformed = messages not in the documented format; ● fresh, ◐ late (quieter than 1.5× its usual interval), ○ stale (3×, dimmed); AGE = time since the value's own timestamp.",
	"Clearance: N vehicles in the list; filter \"…\": N = rows that match; ✓ = marked. Commands: history times are when sent and when it ended.",
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

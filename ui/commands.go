package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

const otherChoice = "other…"

// cmdLayout is the Commands pane's geometry for its size, read by View and
// the mouse: two pickers side by side, the flow area (where the prompts
// appear too), then the history and the journal.
type cmdLayout struct {
	left, right int // widths of the vehicle and command lists
	rightX      int // first column of the command list (after " │ ")
	listTop     int // line of the first picker row
	listRows    int
	flowTop     int
	flowH       int
	restTop     int // history, then the journal
	restH       int
}

func newCmdLayout(w, h int) cmdLayout {
	// The command list gets room for "disable_ignition (code)", the
	// vehicle list the rest (at least a VIN).
	right := min(26, max(w-3-19, 6))
	left := max(w-right-3, 6)
	if w >= 90 {
		left = w * 55 / 100
		right = w - left - 3
	}
	l := cmdLayout{left: left, right: right, rightX: left + 3, listTop: 1, flowH: 6}
	// The pickers get what is left after the flow area, two rules, their
	// header and three lines of history, up to all seven commands.
	l.listRows = clamp(h-12, 2, 7)
	l.flowTop = l.listTop + l.listRows + 1
	l.restTop = l.flowTop + l.flowH + 1
	l.restH = max(h-l.restTop, 0)
	return l
}

// Commands is the command panel: pick an approved vehicle and a command,
// send it, follow it, confirm ignition commands by typing the code; the
// audit journal below.
type Commands struct {
	c    *Common
	svc  CommandService
	w, h int
	lay  cmdLayout

	vehicles []fleet.Vehicle
	vview    []int
	vwin     window
	names    []string
	cwin     window
	col      int // 0: vehicles, 1: commands
	filter   filterInput

	typedVIN  string
	customCmd string

	// prompts are the VIN, command and code prompts, drawn in the flow area.
	prompts  overlays
	flow     *cmdFlow
	history  []*sentCommand // newest first
	seq      uint64
	spin     spinner.Model
	spinning bool

	pollFirst, pollMax time.Duration

	journal *journal // nil: no audit journal

	// The send flow's policy and services (sendflow.go).
	policy    config.CommandPolicy
	approvals ApprovalService // nil: no approval desk
	codes     *commands.CodeBook
	queue     []sendRequest
	// lastFlow is the newest flow for each vehicle and command (a bulk
	// send follows its rows here).
	lastFlow map[string]*cmdFlow
}

func newCommands(c *Common, svc CommandService, log AuditLog) *Commands {
	names := append(append([]string{}, commands.KnownCommands...), otherChoice)
	m := &Commands{
		c: c, svc: svc, names: names, codes: &commands.CodeBook{},
		filter:    newFilter(c, "filter VINs", 32, c.Keys.Send),
		pollFirst: defaultPollFirst, pollMax: defaultPollMax,
	}
	if log != nil {
		m.journal = newJournal(c, log, paneCommands)
	}
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(c.Styles.Accent))
	m.cwin.setCount(len(names))
	m.refilter()
	return m
}

func (m *Commands) Init() tea.Cmd {
	if m.journal == nil {
		return nil
	}
	return tea.Batch(m.journal.load(), m.journal.watch())
}

// journalWritten has the journal look again after this console wrote to
// it (a command's answer, which the journal has just recorded); the root
// looks again too (a command that ended may have immobilised a vehicle or
// freed one).
func (m *Commands) journalWritten() tea.Cmd {
	if m.journal == nil {
		return nil
	}
	return tea.Batch(m.journal.load(), touchJournal())
}

func (m *Commands) SetSize(w, h int) {
	m.w, m.h = w, h
	m.lay = newCmdLayout(w, h)
	m.vwin.setHeight(m.lay.listRows)
	m.cwin.setHeight(m.lay.listRows)
	m.filter.setWidth(w - 12)
	m.prompts.setSize(w, m.lay.flowH)
	if m.journal != nil {
		m.journal.SetSize(w, max(m.lay.restH-min(2, m.lay.restH), 0))
	}
}

func (m *Commands) Capturing() bool { return m.filter.active || m.prompts.capturing() }

// SetVehicles replaces the approved vehicles offered (from Clearance).
func (m *Commands) SetVehicles(vs []fleet.Vehicle) {
	keep := m.selectedVIN()
	m.vehicles = vs
	m.refilter()
	for i, vi := range m.vview {
		if vi >= 0 && m.vehicles[vi].VIN == keep {
			m.vwin.set(i)
		}
	}
}

// refilter rebuilds the vehicle list; the last row (-1) types a VIN.
func (m *Commands) refilter() {
	q := m.filter.match()
	m.vview = m.vview[:0]
	for i := range m.vehicles {
		if q == "" || strings.Contains(strings.ToLower(m.vehicles[i].VIN+" "+m.vehicles[i].Brand), q) {
			m.vview = append(m.vview, i)
		}
	}
	m.vview = append(m.vview, -1)
	m.vwin.setCount(len(m.vview))
}

func (m *Commands) selectedVIN() string {
	if m.vwin.cursor < 0 || m.vwin.cursor >= len(m.vview) {
		return ""
	}
	if vi := m.vview[m.vwin.cursor]; vi >= 0 {
		return m.vehicles[vi].VIN
	}
	return m.typedVIN
}

func (m *Commands) selectedCommand() string {
	name := m.names[m.cwin.cursor]
	if name == otherChoice {
		return m.customCmd
	}
	return name
}

func (m *Commands) nextSeq() uint64 { m.seq++; return m.seq }

// inFlight reports whether anything is being sent or followed: only then
// does the spinner tick.
func (m *Commands) inFlight() bool {
	if m.flow != nil && (m.flow.phase == flowSending || m.flow.phase == flowSendingCode || m.flow.phase == flowRequesting) {
		return true
	}
	for _, h := range m.history {
		if !h.done {
			return true
		}
	}
	return false
}

func (m *Commands) startSpinner() tea.Cmd {
	if m.spinning || !m.inFlight() {
		return nil
	}
	m.spinning = true
	return m.spin.Tick
}

func (m *Commands) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		cmd := m.handle(msg)
		return m, tea.Batch(cmd, m.nextQueued(), m.startSpinner())
	case spinner.TickMsg:
		if !m.inFlight() {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		cmd := m.key(msg)
		return m, tea.Batch(cmd, m.nextQueued(), m.startSpinner())
	case tea.MouseMsg:
		m.mouse(msg)
		return m, nil
	}
	// A widget's own message belongs to what has the keys.
	if m.prompts.active() {
		return m, m.prompts.update(msg)
	}
	if m.filter.active {
		return m, m.filter.update(msg)
	}
	return m, nil
}

func (m *Commands) handle(env envelope) tea.Cmd {
	if m.journal != nil && m.journal.handles(env.msg) {
		return m.journal.update(env)
	}
	switch msg := env.msg.(type) {
	case sendRequest:
		return m.startFlow(msg)
	case approvalRequested:
		return m.approvalDone(env.seq, msg)
	case sendResult:
		// The journal has just recorded this answer.
		return tea.Batch(m.sent(env.seq, msg), m.journalWritten())
	case statusPoll:
		return m.poll(msg.key)
	case statusResult:
		cmd := m.polled(msg)
		if e := m.entry(msg.key); e != nil && e.done {
			cmd = tea.Batch(cmd, m.journalWritten())
		}
		return cmd
	}
	return nil
}

func (m *Commands) key(msg tea.KeyMsg) tea.Cmd {
	if m.prompts.active() {
		return m.prompts.update(msg)
	}
	if m.filter.active {
		changed, cmd := m.filter.key(msg)
		if changed {
			m.refilter()
		}
		return cmd
	}
	if m.svc == nil {
		return nil
	}
	k := m.c.Keys
	lst := &m.vwin
	if m.col == 1 {
		lst = &m.cwin
	}
	switch {
	case key.Matches(msg, k.Back):
		if m.flow != nil && m.flow.phase != flowFollowing {
			m.flow = nil
		} else if m.filter.clear() {
			m.refilter()
		}
	case key.Matches(msg, k.Send):
		return m.sendKey()
	case key.Matches(msg, k.Mark) && m.col == 0:
		m.toggleMark()
	case key.Matches(msg, k.ClearMarks):
		m.c.marks.clear()
	case key.Matches(msg, k.Left):
		m.col = 0
	case key.Matches(msg, k.Right):
		m.col = 1
	case lst.navigate(msg, k): // moved the cursor
	case key.Matches(msg, k.Filter):
		m.col = 0
		return m.filter.focus()
	}
	return nil
}

func (m *Commands) mouse(msg tea.MouseMsg) {
	if m.prompts.active() || m.filter.active || m.svc == nil {
		return
	}
	col := 0
	if msg.X >= m.lay.rightX {
		col = 1
	}
	lst := &m.vwin
	if col == 1 {
		lst = &m.cwin
	}
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		lst.scroll(-1)
	case msg.Button == tea.MouseButtonWheelDown:
		lst.scroll(1)
	case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
		if lst.click(msg.Y - m.lay.listTop) {
			m.col = col
		}
	}
}

// --- view ------------------------------------------------------------------

func (m *Commands) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.svc == nil {
		why := "Commands disabled: no [commands] section in config"
		if m.c.ReadOnly {
			// A viewer's session holds no command client at all; the
			// journal is still theirs to read.
			why = "read-only session: sending commands is disabled; the journal below is every operator's"
		}
		lines := []string{st.Dim.Render(truncate(why, m.w))}
		if m.journal != nil {
			lines = append(lines, "", m.journal.view(m.w, m.h-2))
		}
		return fit(strings.Join(lines, "\n"), m.w, m.h)
	}
	l := m.lay
	ruleLine := st.Dim.Render(strings.Repeat("─", m.w))
	lines := make([]string, 0, m.h)
	lines = append(lines, m.pickers()...)
	lines = append(lines, ruleLine)
	if top := m.prompts.top(); top != nil {
		lines = append(lines, fitLines(strings.Split(top.View(), "\n"), l.flowH)...)
	} else {
		lines = append(lines, m.flowView(l.flowH)...)
	}
	lines = append(lines, ruleLine)
	rest := l.restH
	if m.journal == nil {
		lines = append(lines, m.historyView(rest)...)
		return fit(strings.Join(lines, "\n"), m.w, m.h)
	}
	histH := clamp(min(len(m.history)+1, rest/2), min(2, rest), rest)
	lines = append(lines, fitLines(m.historyView(histH), histH)...)
	if jh := rest - histH; jh > 0 {
		lines = append(lines, fitLines(strings.Split(m.journal.View(), "\n"), jh)...)
	}
	return fit(strings.Join(lines, "\n"), m.w, m.h)
}

// fitLines pads or cuts lines to exactly h.
func fitLines(lines []string, h int) []string {
	if len(lines) > h {
		return lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}

func (m *Commands) pickers() []string {
	st := m.c.Styles
	lw, rw := m.lay.left, m.lay.right
	head := func(s string, focused bool, w int) string {
		if focused {
			return st.PaneTitleFocused.Render(pad(s, w))
		}
		return st.Header.Render(pad(s, w))
	}
	vt := "Vehicle (approved)"
	if q := m.filter.query(); q != "" {
		vt += fmt.Sprintf(" /%s", q)
	}
	out := []string{head(vt, m.col == 0, lw) + " │ " + head("Command", m.col == 1, rw)}
	if m.filter.active {
		out[0] = pad(m.filter.View(), lw) + " │ " + head("Command", false, rw)
	}
	vs, ve := m.vwin.visible()
	cs, ce := m.cwin.visible()
	for i := 0; i < m.lay.listRows; i++ {
		left, right := strings.Repeat(" ", lw), strings.Repeat(" ", rw)
		if vi := vs + i; vi < ve {
			label, v := m.typedVIN, m.typedVIN
			if idx := m.vview[vi]; idx >= 0 {
				v = m.vehicles[idx].VIN
				label = v + " " + st.Dim.Render(m.vehicles[idx].Brand)
			} else if label == "" {
				label = st.Dim.Render("other VIN…")
			} else {
				label += " " + st.Dim.Render("(typed)")
			}
			if idx := m.vview[vi]; idx >= 0 && m.c.marks.has(m.vehicles[idx].VIN) {
				label = "✓ " + label
			}
			left = m.pickRow(label, vi == m.vwin.cursor, m.col == 0, lw)
			if _, ok := m.c.immob.get(v); ok && v != "" {
				left = m.pickRow(immobilisedMark+label, vi == m.vwin.cursor, m.col == 0, lw)
			}
		}
		if ci := cs + i; ci < ce {
			label := m.names[ci]
			if label == otherChoice && m.customCmd != "" {
				label = m.customCmd + " " + st.Dim.Render("(typed)")
			}
			if commands.NeedsConfirmation(label) {
				label += " " + st.Dim.Render("(code)")
			}
			right = m.pickRow(label, ci == m.cwin.cursor, m.col == 1, rw)
		}
		out = append(out, left+" │ "+right)
	}
	return out
}

// pickRow draws a picker row; a label that starts with the immobilised
// mark puts it in the marker's second cell.
func (m *Commands) pickRow(label string, selected, focused bool, w int) string {
	marker := "  "
	if selected {
		marker = "▸ "
	}
	if rest, ok := strings.CutPrefix(label, immobilisedMark); ok {
		marker, label = immobilisedMarker(selected), rest
	}
	line := pad(marker+label, w)
	if selected && focused {
		return m.c.Styles.Selected.Render(line)
	}
	return line
}

func (m *Commands) flowView(h int) []string {
	st := m.c.Styles
	f := m.flow
	w := m.w
	var out []string
	switch {
	case m.c.ReadOnly:
		out = append(out, st.Dim.Render("read-only session: sending commands is disabled"))
	case f == nil:
		k := m.c.Keys
		out = append(out, st.Dim.Render(fmt.Sprintf("%s: send the command · %s %s: switch list · %s: filter VINs",
			k.Send.Help().Key, k.Left.Help().Key, k.Right.Help().Key, k.Filter.Help().Key)))
	default:
		title := st.Bold.Render(termsafe.String(f.command)) + " → " + termsafe.String(f.vin)
		switch f.phase {
		case flowSending:
			out = append(out, m.spin.View()+" sending "+title)
		case flowSendingCode:
			out = append(out, m.spin.View()+" sending "+title+" with the code")
		case flowConfirm, flowPreparing:
			// The modal asks; this says where the flow stands under it.
			out = append(out, st.Notice.Render("Confirmation required: ")+title)
		case flowRequesting:
			out = append(out, m.spin.View()+" asking for approval: "+title)
		case flowFollowing:
			s := "Pending"
			if f.entry != nil {
				s = string(f.entry.status)
			}
			out = append(out, m.spin.View()+" "+title+" "+st.Badge(s, len(s)))
		case flowDone:
			out = append(out, m.doneView(f)...)
		}
		if f.note != "" {
			out = append(out, st.Warning.Render(truncate(f.note, w)))
		}
	}
	// A reminder under whatever the flow says: the selected vehicle is
	// immobilised until an enable_ignition succeeds on it.
	if v := m.selectedVIN(); v != "" && len(out) < h {
		if im, ok := m.c.immob.get(v); ok {
			text := immobilisedMark + " " + termsafe.String(v) + " immobilised " + age(m.c.Now(), im.since)
			if im.by != "" {
				text += " by " + termsafe.String(im.by)
			}
			if im.reason != "" {
				text += ": " + termsafe.String(im.reason)
			}
			text += " · enable_ignition re-enables it"
			out = append(out, st.Error.Render(truncate(text, w)))
		}
	}
	return fitLines(out, h)
}

func (m *Commands) doneView(f *cmdFlow) []string {
	st := m.c.Styles
	title := st.Bold.Render(termsafe.String(f.command)) + " → " + termsafe.String(f.vin)
	if f.requested != 0 {
		var out []string
		for _, l := range wrapText(requestedText(f, keyName(m.c.Keys.Approvals)), m.w, 3) {
			out = append(out, st.Notice.Render(l))
		}
		return out
	}
	if f.entry == nil {
		if f.command == "" {
			return []string{st.Error.Render(f.errText)}
		}
		if f.aborted {
			return []string{st.Dim.Render("– ") + title + " " + st.Dim.Render("aborted"), "  " + st.Dim.Render(truncate(f.errText, m.w-2))}
		}
		out := []string{st.Error.Render("✗ ") + title + " " + st.Error.Render("failed")}
		for _, l := range wrapText(f.errText, m.w-2, 2) {
			out = append(out, "  "+st.Error.Render(l))
		}
		if f.hint != "" {
			for _, l := range wrapText("hint: "+f.hint, m.w-2, 2) {
				out = append(out, "  "+st.Dim.Render(l))
			}
		}
		return out
	}
	e := f.entry
	s := string(e.status)
	out := []string{title + " " + st.Badge(s, len(s))}
	if e.detail != "" {
		style := st.Dim
		if e.status == commands.StatusError {
			style = st.Error
		}
		for _, l := range wrapText(e.detail, m.w-2, 3) {
			out = append(out, "  "+style.Render(l))
		}
	}
	if e.status == commands.StatusError {
		hint := commands.Hint(e.detail)
		if hint == "" {
			hint = "the command did not run on the vehicle; the line above is the platform's reason"
		}
		for _, l := range wrapText("hint: "+termsafe.String(hint), m.w-2, 2) {
			out = append(out, "  "+st.Dim.Render(l))
		}
	}
	if e.note != "" {
		out = append(out, "  "+st.Warning.Render(truncate(e.note, m.w-2)))
	}
	return out
}

func (m *Commands) historyView(h int) []string {
	st := m.c.Styles
	if h <= 0 {
		return nil
	}
	out := []string{st.Header.Render("History") + st.Dim.Render(" (your time zone)")}
	if len(m.history) == 0 {
		out = append(out, st.Dim.Render("  nothing sent yet"))
	}
	// time, VIN, command, status, end time; the VIN gives way first, then
	// the end time.
	const cmdW, statusW = 16, 8
	showEnd := m.w >= 8+2+17+1+cmdW+1+statusW+1+10
	fixed := 8 + 2 + 1 + cmdW + 1 + statusW
	if showEnd {
		fixed += 11
	}
	vinW := clamp(m.w-fixed, 8, 17)
	for _, e := range m.history {
		if len(out) >= h {
			break
		}
		status := string(e.status)
		var b strings.Builder
		b.WriteString(e.sent.In(m.c.zone()).Format("15:04:05"))
		b.WriteString("  ")
		b.WriteString(pad(abbrev(e.vin, vinW-1), vinW))
		b.WriteString(" ")
		b.WriteString(pad(e.command, cmdW))
		b.WriteString(" ")
		if e.done {
			b.WriteString(st.Badge(status, statusW))
		} else {
			b.WriteString(pad(m.spin.View()+" "+status, statusW))
		}
		if showEnd {
			ended := "…"
			if e.done && !e.ended.IsZero() {
				ended = e.ended.In(m.c.zone()).Format("15:04:05")
			}
			b.WriteString(" ")
			b.WriteString(st.Dim.Render("→ " + ended))
		}
		line := b.String()
		if e.reason != "" {
			if room := m.w - ansi.StringWidth(line) - 3; room >= 8 {
				line += "  " + st.Dim.Render(truncate("why: "+e.reason, room))
			}
		}
		out = append(out, line)
	}
	return out
}

// --- help ------------------------------------------------------------------

func (m *Commands) ShortHelp() []key.Binding {
	if m.prompts.active() {
		return m.prompts.shortHelp()
	}
	if m.filter.active {
		return m.filter.ShortHelp()
	}
	k := m.c.Keys
	if m.c.ReadOnly {
		return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Filter}
	}
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Send, k.Filter}
}

func (m *Commands) FullHelp() [][]key.Binding {
	k := m.c.Keys
	act := []key.Binding{k.Filter, k.Back}
	if !m.c.ReadOnly {
		act = append([]key.Binding{withHelp(k.Send, "send (to the marked vehicles, when any)"), k.Mark, k.ClearMarks}, act...)
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Left, k.Right, withHelp(k.Copy, "copy command id / VIN"), k.Export},
		act,
	}
}

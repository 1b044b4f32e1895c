package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// flowPhase is where the command being sent stands.
type flowPhase uint8

const (
	flowSending     flowPhase = iota // first (or only) step in flight
	flowConfirm                      // waiting for the operator to type the code
	flowSendingCode                  // second step in flight
	flowFollowing                    // registered: polling its status
	flowDone                         // ended: success, error, or refused
)

// Polling of a registered command: the first look soon, then backing off.
const (
	defaultPollFirst = 700 * time.Millisecond
	defaultPollMax   = 5 * time.Second
	maxPolls         = 200 // about a quarter of an hour at the slowest pace
	maxPollErrors    = 5
	maxHistory       = 100
)

const otherChoice = "other…"

// Messages of the Commands pane (inside envelopes).
type (
	sendResult struct {
		vin, command string
		step         int
		res          commands.SendResult
		err          error
	}
	statusPoll   struct{ key uint64 }
	statusResult struct {
		key uint64
		cmd commands.Command
		err error
	}
)

// sentCommand is one line of the history.
type sentCommand struct {
	key          uint64
	id           string
	vin, command string
	status       commands.Status
	detail       string
	sent, ended  time.Time
	polls, fails int
	done         bool
	note         string
}

type cmdFlow struct {
	seq          uint64
	vin, command string
	phase        flowPhase
	conf         *commands.Confirmation
	note         string // why the flow restarted, or what the operator must fix
	entry        *sentCommand
	errText      string
	hint         string
}

// input is which text input has the keys, if any.
type inputKind uint8

const (
	inputNone inputKind = iota
	inputVIN
	inputCommand
	inputCode
	inputFilter
)

// Commands is the command panel: pick an approved vehicle and a command,
// send it, follow it, confirm ignition commands by typing the code.
type Commands struct {
	c    *Common
	svc  CommandService
	w, h int

	vehicles []fleet.Vehicle
	vview    []int
	vwin     window
	names    []string
	cwin     window
	col      int // 0: vehicles, 1: commands

	filter    textinput.Model
	vinIn     textinput.Model
	customIn  textinput.Model
	codeIn    textinput.Model
	input     inputKind
	typedVIN  string
	customCmd string

	flow     *cmdFlow
	history  []*sentCommand // newest first
	seq      uint64
	spin     spinner.Model
	spinning bool

	pollFirst, pollMax time.Duration

	// The audit journal's newest records, every operator's: refreshed after
	// each answer from the command API and every journalEvery.
	audit      AuditLog
	journal    []audit.Record // oldest first, as Recent returns them
	journalErr string
	journalSeq uint64 // newest journal request; older replies are dropped
}

// journalRows is how many records the panel asks for; journalEvery is how
// often it looks again for other operators' actions.
const (
	journalRows  = 20
	journalEvery = 10 * time.Second
)

type journalResult struct {
	records []audit.Record
	err     error
}

// journalTick asks for a fresh look at the journal. seq is the look that
// armed it: a later look (after a command's answer) arms its own, and this
// one is then stale, so that one timer runs however many looks were made.
type journalTick struct{ seq uint64 }

func newCommands(c *Common, svc CommandService, log AuditLog) *Commands {
	mk := func(prompt, placeholder string, limit int) textinput.Model {
		ti := textinput.New()
		ti.Prompt, ti.Placeholder, ti.CharLimit = prompt, placeholder, limit
		styleInput(&ti, c.Styles)
		return ti
	}
	names := append(append([]string{}, commands.KnownCommands...), otherChoice)
	m := &Commands{
		c: c, svc: svc, names: names, audit: log,
		filter:    mk("/ ", "filter VINs", 32),
		vinIn:     mk("VIN: ", "17 characters", 17),
		customIn:  mk("command: ", "as mobway names it", 64),
		codeIn:    mk("code: ", "6 digits", 6),
		pollFirst: defaultPollFirst, pollMax: defaultPollMax,
	}
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(c.Styles.Accent))
	m.cwin.setCount(len(names))
	m.refilter()
	return m
}

func (m *Commands) Init() tea.Cmd { return m.loadJournal() }

// loadJournal reads the journal's newest records in the background.
func (m *Commands) loadJournal() tea.Cmd {
	if m.audit == nil {
		return nil
	}
	m.journalSeq++
	log := m.audit
	return m.c.call(paneCommands, m.journalSeq, 5*time.Second, func(ctx context.Context) tea.Msg {
		rs, err := log.Recent(ctx, journalRows)
		return journalResult{records: rs, err: err}
	})
}

func (m *Commands) SetSize(w, h int) {
	m.w, m.h = w, h
	lh := m.listRows()
	m.vwin.setHeight(lh)
	m.cwin.setHeight(lh)
	for _, ti := range []*textinput.Model{&m.filter, &m.vinIn, &m.customIn, &m.codeIn} {
		ti.Width = max(w-12, 6)
	}
}

func (m *Commands) Capturing() bool { return m.input != inputNone }

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
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
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
	if m.flow != nil && (m.flow.phase == flowSending || m.flow.phase == flowSendingCode) {
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
		return m, tea.Batch(cmd, m.startSpinner())
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
		return m, tea.Batch(cmd, m.startSpinner())
	case tea.MouseMsg:
		m.mouse(msg)
	case journalTick:
		if msg.seq != m.journalSeq {
			return m, nil
		}
		return m, m.loadJournal()
	}
	return m, nil
}

func (m *Commands) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.input != inputNone {
		return m.inputKey(msg)
	}
	if m.svc == nil {
		return nil
	}
	lst := &m.vwin
	if m.col == 1 {
		lst = &m.cwin
	}
	switch {
	case key.Matches(msg, k.Back):
		if m.flow != nil && m.flow.phase != flowFollowing {
			m.flow = nil
		} else if m.filter.Value() != "" {
			m.filter.SetValue("")
			m.refilter()
		}
	case key.Matches(msg, k.Send):
		return m.send()
	case key.Matches(msg, k.Left):
		m.col = 0
	case key.Matches(msg, k.Right):
		m.col = 1
	case lst.navigate(msg, k): // moved the cursor
	case key.Matches(msg, k.Filter):
		m.col = 0
		m.input = inputFilter
		return m.filter.Focus()
	}
	return nil
}

// inputKey feeds a text input; enter accepts, esc gives up.
func (m *Commands) inputKey(msg tea.KeyMsg) tea.Cmd {
	var ti *textinput.Model
	switch m.input {
	case inputFilter:
		ti = &m.filter
	case inputVIN:
		ti = &m.vinIn
	case inputCommand:
		ti = &m.customIn
	case inputCode:
		ti = &m.codeIn
	default:
		return nil
	}
	switch msg.Type {
	case tea.KeyEsc:
		ti.Blur()
		kind := m.input
		m.input = inputNone
		switch kind {
		case inputCode:
			// Abort the two-step flow: nothing was executed.
			m.flow.phase, m.flow.conf = flowDone, nil
			m.flow.errText, m.flow.hint, m.flow.note = "aborted: nothing was sent to the vehicle", "", ""
			m.codeIn.Reset()
		case inputFilter:
			m.filter.SetValue("")
			m.refilter()
		}
		return nil
	case tea.KeyEnter:
		return m.acceptInput()
	}
	if m.input == inputCode && msg.Type == tea.KeyRunes {
		// Digits only: anything else is dropped before the input sees it.
		digits := make([]rune, 0, len(msg.Runes))
		for _, r := range msg.Runes {
			if r >= '0' && r <= '9' {
				digits = append(digits, r)
			}
		}
		if len(digits) == 0 {
			return nil
		}
		msg.Runes = digits
	}
	var cmd tea.Cmd
	*ti, cmd = ti.Update(msg)
	if m.input == inputFilter {
		m.refilter()
	}
	if m.input == inputCode && m.flow != nil {
		m.flow.note = ""
	}
	return cmd
}

func (m *Commands) acceptInput() tea.Cmd {
	switch m.input {
	case inputFilter:
		m.filter.Blur()
		m.input = inputNone
		return nil
	case inputVIN:
		v := vin.Normalize(m.vinIn.Value())
		if !vin.Plausible(v) {
			m.vinIn.Err = errors.New("a VIN is 17 letters and digits")
			return nil
		}
		m.vinIn.Err = nil
		m.typedVIN = v
		m.vinIn.Blur()
		m.input = inputNone
		return m.send()
	case inputCommand:
		c := strings.TrimSpace(m.customIn.Value())
		if c == "" || !termsafe.Safe(c) {
			return nil
		}
		m.customCmd = c
		m.customIn.Blur()
		m.input = inputNone
		return m.send()
	case inputCode:
		code := m.codeIn.Value()
		if !commands.ValidCode(code) {
			m.flow.note = "type all 6 digits of the code"
			return nil
		}
		m.codeIn.Blur()
		m.codeIn.Reset()
		m.input = inputNone
		return m.sendStep(m.flow, 2, code)
	}
	return nil
}

// send starts the selected command on the selected vehicle, asking first
// for whatever is missing (a typed VIN, a command name).
func (m *Commands) send() tea.Cmd {
	if m.c.ReadOnly {
		m.flow = &cmdFlow{phase: flowDone, errText: "read-only session: sending commands is disabled"}
		return nil
	}
	if m.flow != nil && (m.flow.phase == flowSending || m.flow.phase == flowSendingCode || m.flow.phase == flowConfirm) {
		return nil
	}
	v := m.selectedVIN()
	if v == "" {
		m.input = inputVIN
		m.vinIn.Reset()
		return m.vinIn.Focus()
	}
	c := m.selectedCommand()
	if c == "" {
		m.input = inputCommand
		m.customIn.Reset()
		return m.customIn.Focus()
	}
	m.flow = &cmdFlow{vin: v, command: c}
	return m.sendStep(m.flow, 1, "")
}

// sendStep sends step one (code "") or step two of f.
func (m *Commands) sendStep(f *cmdFlow, step int, code string) tea.Cmd {
	f.seq = m.nextSeq()
	f.phase = flowSending
	if step == 2 {
		f.phase = flowSendingCode
	}
	f.conf = nil
	svc, vinS, cmdS := m.svc, f.vin, f.command
	m.c.Logger.Info("command send", "vin", vinS, "command", cmdS, "step", step)
	return m.c.call(paneCommands, f.seq, commandTimeout, func(ctx context.Context) tea.Msg {
		res, err := svc.Send(ctx, vinS, cmdS, code)
		return sendResult{vin: vinS, command: cmdS, step: step, res: res, err: err}
	})
}

func (m *Commands) handle(env envelope) tea.Cmd {
	switch msg := env.msg.(type) {
	case journalResult:
		if env.seq != m.journalSeq {
			return nil // a newer look is on its way
		}
		m.journal, m.journalErr = msg.records, ""
		if msg.err != nil {
			m.journalErr = errorText(msg.err)
		}
		return m.c.after(journalEvery, journalTick{seq: env.seq})
	case sendResult:
		// The journal has just recorded this answer.
		return tea.Batch(m.sent(env.seq, msg), m.loadJournal())
	case statusPoll:
		e := m.entry(msg.key)
		if e == nil || e.done {
			return nil
		}
		svc, id, k := m.svc, e.id, e.key
		return m.c.call(paneCommands, k, commandTimeout, func(ctx context.Context) tea.Msg {
			cmd, err := svc.Status(ctx, id)
			return statusResult{key: k, cmd: cmd, err: err}
		})
	case statusResult:
		cmd := m.polled(msg)
		if e := m.entry(msg.key); e != nil && e.done {
			cmd = tea.Batch(cmd, m.loadJournal())
		}
		return cmd
	}
	return nil
}

func (m *Commands) sent(seq uint64, r sendResult) tea.Cmd {
	current := m.flow != nil && m.flow.seq == seq
	if r.err != nil {
		report := reportCommands(r.err)
		if !current {
			return report
		}
		f := m.flow
		if r.step == 2 && commands.RestartsFlow(r.err) {
			// The code was wrong or spent: say so, and ask for a new one.
			f.note = "✗ " + restartReason(r.err) + " — new code requested, type it"
			return tea.Batch(report, m.sendStep(f, 1, ""))
		}
		f.phase = flowDone
		f.errText = errorText(r.err)
		var de *commands.DetailError
		if errors.As(r.err, &de) {
			f.errText = termsafe.String(de.Detail)
			if f.errText == "" && de.Kind != nil {
				f.errText = de.Kind.Error()
			}
			f.hint = termsafe.String(de.Hint)
		}
		return report
	}
	ok := reportCommands(nil)
	if c := r.res.Command; c != nil {
		e := m.record(r, *c)
		if current {
			m.flow.entry = e
			m.flow.phase = flowFollowing
			if e.done {
				m.flow.phase = flowDone
			}
		}
		return tea.Batch(ok, m.schedulePoll(e))
	}
	if conf := r.res.Confirmation; conf != nil && current {
		m.flow.phase = flowConfirm
		m.flow.conf = conf
		m.codeIn.Reset() // never pre-filled: the operator types it
		m.input = inputCode
		return tea.Batch(ok, m.codeIn.Focus())
	}
	return ok
}

// reportCommands tells the status bar how a command API call went (err
// nil: it succeeded).
func reportCommands(err error) tea.Cmd {
	return reportProvider("commands", err, errors.Is(err, commands.ErrUnauthorized))
}

func restartReason(err error) string {
	if errors.Is(err, commands.ErrConfirmationUsed) {
		return "code already used (Confirmation already used)"
	}
	return "code not accepted (Confirmation invalid)"
}

// record adds a registered command to the history.
func (m *Commands) record(r sendResult, c commands.Command) *sentCommand {
	now := m.c.Now()
	e := &sentCommand{
		key: m.nextSeq(), id: termsafe.String(c.ID), vin: termsafe.String(r.vin), command: termsafe.String(r.command),
		status: commands.Status(termsafe.String(string(c.Status))), detail: c.DetailText(), sent: now,
	}
	if !c.Created.IsZero() {
		e.sent = c.Created
	}
	if c.Terminal() || c.ID == "" {
		e.done, e.ended = true, now
		if c.ID == "" && !c.Terminal() {
			e.note = "no command id returned: its status cannot be followed"
		}
	}
	m.history = append([]*sentCommand{e}, m.history...)
	if len(m.history) > maxHistory {
		m.history = m.history[:maxHistory]
	}
	return e
}

func (m *Commands) entry(k uint64) *sentCommand {
	for _, h := range m.history {
		if h.key == k {
			return h
		}
	}
	return nil
}

func (m *Commands) schedulePoll(e *sentCommand) tea.Cmd {
	if e.done {
		return nil
	}
	d := m.pollFirst
	for i := 0; i < e.polls && d < m.pollMax; i++ {
		d *= 2
	}
	d = min(d, m.pollMax)
	k := e.key
	return m.c.after(d, envelope{pane: paneCommands, seq: k, msg: statusPoll{key: k}})
}

func (m *Commands) polled(r statusResult) tea.Cmd {
	e := m.entry(r.key)
	if e == nil || e.done {
		return nil
	}
	e.polls++
	if r.err != nil {
		e.fails++
		if e.fails >= maxPollErrors || !transientStatusErr(r.err) {
			e.done, e.ended, e.note = true, m.c.Now(), "stopped following: "+errorText(r.err)
			m.finishFlow(e)
			return reportCommands(r.err)
		}
		return m.schedulePoll(e)
	}
	e.fails = 0
	e.status = commands.Status(termsafe.String(string(r.cmd.Status)))
	if d := r.cmd.DetailText(); d != "" {
		e.detail = d
	}
	if r.cmd.Terminal() {
		e.done, e.ended = true, m.c.Now()
		if !r.cmd.Updated.IsZero() {
			e.ended = r.cmd.Updated
		}
		m.finishFlow(e)
		return nil
	}
	if e.polls >= maxPolls {
		e.done, e.ended, e.note = true, m.c.Now(), "still pending; stopped following (check with: fleetdeck command status "+e.id+")"
		m.finishFlow(e)
		return nil
	}
	return m.schedulePoll(e)
}

func transientStatusErr(err error) bool {
	var de *commands.DetailError
	if errors.As(err, &de) {
		return de.Kind == nil && (de.HTTPStatus == 429 || de.HTTPStatus >= 500)
	}
	return true // transport errors, timeouts, unexpected bodies
}

func (m *Commands) finishFlow(e *sentCommand) {
	if m.flow != nil && m.flow.entry == e {
		m.flow.phase = flowDone
	}
}

func (m *Commands) mouse(msg tea.MouseMsg) {
	if m.input != inputNone || m.svc == nil {
		return
	}
	leftW, _ := m.columns()
	col := 0
	if msg.X >= leftW+3 {
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
		if lst.click(msg.Y - 1) {
			m.col = col
		}
	}
}

// --- view ------------------------------------------------------------------

// listRows: the pickers get what is left after the flow area (6), two
// rules, their header and three lines of history, up to all seven commands.
func (m *Commands) listRows() int { return clamp(m.h-12, 2, 7) }

// columns gives the command list room for "disable_ignition (code)" and the
// vehicle list the rest.
func (m *Commands) columns() (int, int) {
	right := min(26, max(m.w-3-19, 6)) // the left keeps room for a VIN
	left := max(m.w-right-3, 6)
	if m.w >= 90 {
		left = m.w * 55 / 100
		right = m.w - left - 3
	}
	return left, right
}

func (m *Commands) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.svc == nil {
		if m.c.ReadOnly {
			// A viewer's session holds no command client at all.
			return fit(st.Dim.Render("read-only session: sending commands is disabled"), m.w, m.h)
		}
		return fit(st.Dim.Render("Commands disabled: no [commands] section in config"), m.w, m.h)
	}
	var lines []string
	lines = append(lines, m.pickers()...)
	lines = append(lines, st.Dim.Render(strings.Repeat("─", m.w)))
	flowH := 6
	lines = append(lines, m.flowView(flowH)...)
	lines = append(lines, st.Dim.Render(strings.Repeat("─", m.w)))
	rest := m.h - len(lines)
	if m.audit == nil {
		lines = append(lines, m.historyView(rest)...)
		return fit(strings.Join(lines, "\n"), m.w, m.h)
	}
	histH := clamp(min(len(m.history)+1, rest/2), min(2, rest), rest)
	lines = append(lines, fitLines(m.historyView(histH), histH)...)
	lines = append(lines, m.journalView(m.h-len(lines))...)
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

// journalView lists the audit journal's newest records, newest first: who
// did what to which vehicle, and how it ended ("outcome unknown" when the
// process died between the request and its answer). Wide panes give a record
// one line; narrow ones give it two, the outcome under the action.
func (m *Commands) journalView(h int) []string {
	st := m.c.Styles
	if h <= 0 {
		return nil
	}
	out := []string{st.Header.Render("Journal") + st.Dim.Render(" (every operator, newest first)")}
	if m.journalErr != "" {
		out = append(out, "  "+st.Error.Render(truncate(m.journalErr, m.w-2)))
	}
	if len(m.journal) == 0 && m.journalErr == "" {
		out = append(out, st.Dim.Render("  no actions recorded yet"))
	}
	const actorW, actionW, vinW = 10, 26, 17
	wide := m.w >= 8+1+actorW+1+actionW+1+vinW+1+20
	for i := len(m.journal) - 1; i >= 0 && len(out) < h; i-- {
		r := m.journal[i]
		what := journalAction(r.Action)
		if r.Command != "" {
			what += " " + termsafe.String(r.Command)
		}
		result := r.Result()
		if id := r.AcceptedID(); len(id) > 8 {
			result = strings.Replace(result, id, id[:8], 1) // the UUID's head is enough to tell them apart
		}
		result = termsafe.String(result)
		style := st.Dim
		if !r.Known() {
			style = st.Warning
		}
		head := r.At.In(m.c.zone()).Format("15:04:05") + " " + pad(abbrev(termsafe.String(r.Actor.User), actorW-1), actorW) + " "
		if wide {
			line := head + pad(abbrev(what, actionW-1), actionW) + " " + pad(termsafe.String(r.VIN), vinW) + " " + style.Render(result)
			out = append(out, truncate(line, m.w))
			continue
		}
		out = append(out, truncate(head+what+" "+termsafe.String(r.VIN), m.w))
		if len(out) < h {
			out = append(out, truncate("         → "+style.Render(result), m.w))
		}
	}
	return out
}

// journalAction names a journal action as an operator would.
func journalAction(a audit.Action) string {
	switch a {
	case audit.ActionClearanceAdd:
		return "add"
	case audit.ActionClearanceRevoke:
		return "revoke"
	case audit.ActionCommandConfirmation:
		return "code for"
	case audit.ActionCommandConfirm:
		return "confirm"
	case audit.ActionCommandSend:
		return "send"
	case audit.ActionCommandStatus:
		return "status of"
	}
	return termsafe.String(string(a))
}

func (m *Commands) pickers() []string {
	st := m.c.Styles
	lw, rw := m.columns()
	rows := m.listRows()
	head := func(s string, focused bool, w int) string {
		if focused {
			return st.PaneTitleFocused.Render(pad(s, w))
		}
		return st.Header.Render(pad(s, w))
	}
	vt := "Vehicle (approved)"
	if q := m.filter.Value(); q != "" {
		vt += fmt.Sprintf(" /%s", q)
	}
	out := []string{head(vt, m.col == 0, lw) + " │ " + head("Command", m.col == 1, rw)}
	if m.input == inputFilter {
		out[0] = pad(m.filter.View(), lw) + " │ " + head("Command", false, rw)
	}
	vs, ve := m.vwin.visible()
	cs, ce := m.cwin.visible()
	for i := 0; i < rows; i++ {
		left, right := strings.Repeat(" ", lw), strings.Repeat(" ", rw)
		if vi := vs + i; vi < ve {
			label := m.typedVIN
			if idx := m.vview[vi]; idx >= 0 {
				label = m.vehicles[idx].VIN + " " + st.Dim.Render(m.vehicles[idx].Brand)
			} else if label == "" {
				label = st.Dim.Render("other VIN…")
			} else {
				label += " " + st.Dim.Render("(typed)")
			}
			left = m.pickRow(label, vi == m.vwin.cursor, m.col == 0, lw)
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
	if m.input == inputVIN {
		out = append(out, pad(m.vinIn.View(), m.w))
		if m.vinIn.Err != nil {
			out = append(out, st.Error.Render(m.vinIn.Err.Error()))
		}
	}
	if m.input == inputCommand {
		out = append(out, pad(m.customIn.View(), m.w))
	}
	return out
}

func (m *Commands) pickRow(label string, selected, focused bool, w int) string {
	marker := "  "
	if selected {
		marker = "▸ "
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
		case flowConfirm:
			out = append(out, st.Notice.Render("Confirmation required: ")+title)
			msg := termsafe.String(f.conf.Message)
			for _, l := range wrapText(msg, w-2, 2) {
				out = append(out, "  "+l)
			}
			out = append(out, "  code from the platform: "+st.Code.Render(termsafe.String(f.conf.Code))+
				st.Dim.Render("  — type it below to confirm, esc aborts"))
			out = append(out, "  "+m.codeIn.View())
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
	if len(out) > h {
		out = out[:h]
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out
}

func (m *Commands) doneView(f *cmdFlow) []string {
	st := m.c.Styles
	title := st.Bold.Render(termsafe.String(f.command)) + " → " + termsafe.String(f.vin)
	if f.entry == nil {
		if f.command == "" {
			return []string{st.Error.Render(f.errText)}
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
		out = append(out, b.String())
	}
	return out
}

// --- help ------------------------------------------------------------------

func (m *Commands) ShortHelp() []key.Binding {
	k := m.c.Keys
	switch m.input {
	case inputCode:
		return []key.Binding{withHelp(k.Send, "send with the code"), withHelp(k.Back, "abort")}
	case inputVIN, inputCommand, inputFilter:
		return []key.Binding{withHelp(k.Send, "accept"), withHelp(k.Back, "cancel")}
	}
	if m.c.ReadOnly {
		return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Filter}
	}
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Send, k.Filter}
}

func (m *Commands) FullHelp() [][]key.Binding {
	k := m.c.Keys
	act := []key.Binding{k.Filter, k.Back}
	if !m.c.ReadOnly {
		act = append([]key.Binding{k.Send}, act...)
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Left, k.Right},
		act,
	}
}

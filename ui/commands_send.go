package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// The Commands pane's send flow: the prompts that ask for what is missing,
// the one or two calls that send a command, and the polling that follows
// it to its end.

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
	note         string // why the flow restarted, or what the operator must fix
	entry        *sentCommand
	errText      string
	hint         string
}

// busy reports whether a call of the flow is in flight or it waits for a
// code: a second send must wait.
func (f *cmdFlow) busy() bool {
	return f != nil && (f.phase == flowSending || f.phase == flowSendingCode || f.phase == flowConfirm)
}

// send starts the selected command on the selected vehicle, asking first
// for whatever is missing (a typed VIN, a command name).
func (m *Commands) send() tea.Cmd {
	if m.c.ReadOnly {
		m.flow = &cmdFlow{phase: flowDone, errText: "read-only session: sending commands is disabled"}
		return nil
	}
	if m.flow.busy() {
		return nil
	}
	v := m.selectedVIN()
	if v == "" {
		return m.prompts.open(m.vinPrompt())
	}
	c := m.selectedCommand()
	if c == "" {
		return m.prompts.open(m.commandPrompt())
	}
	m.flow = &cmdFlow{vin: v, command: c}
	return m.sendStep(m.flow, 1, "")
}

// vinPrompt asks for a VIN that is not in the approved list.
func (m *Commands) vinPrompt() *prompt {
	return newPrompt(m.c, promptSpec{
		label: "VIN: ", placeholder: "17 characters", limit: 17,
		head: func(int) []string {
			return []string{m.c.Styles.Dim.Render("a vehicle that is not in the approved list")}
		},
		accept: func(s string) (tea.Cmd, string) {
			v := vin.Normalize(s)
			if !vin.Plausible(v) {
				return nil, "a VIN is 17 letters and digits"
			}
			m.typedVIN = v
			return m.send(), ""
		},
	})
}

// commandPrompt asks for a command the list does not name.
func (m *Commands) commandPrompt() *prompt {
	return newPrompt(m.c, promptSpec{
		label: "command: ", placeholder: "as mobway names it", limit: 64,
		head: func(int) []string { return []string{m.c.Styles.Dim.Render("a command the list does not name")} },
		accept: func(s string) (tea.Cmd, string) {
			c := strings.TrimSpace(s)
			if c == "" || !termsafe.Safe(c) {
				return nil, "type the command's name as mobway spells it"
			}
			m.customCmd = c
			return m.send(), ""
		},
	})
}

// codePrompt asks for the confirmation code of an ignition command; the
// platform's message and code stand above the input, and the code is never
// pre-filled: the operator types it.
func (m *Commands) codePrompt(f *cmdFlow, conf commands.Confirmation) *prompt {
	st, k := m.c.Styles, m.c.Keys
	note := f.note
	f.note = "" // the prompt shows it now, until the next key
	return newPrompt(m.c, promptSpec{
		label: "code: ", placeholder: "6 digits", limit: 6, indent: "  ", note: note,
		head: func(w int) []string {
			title := st.Bold.Render(termsafe.String(f.command)) + " → " + termsafe.String(f.vin)
			out := []string{st.Notice.Render("Confirmation required: ") + title}
			for _, l := range wrapText(termsafe.String(conf.Message), w-2, 2) {
				out = append(out, "  "+l)
			}
			return append(out, "  code from the platform: "+st.Code.Render(termsafe.String(conf.Code))+
				st.Dim.Render("  — type it below to confirm, "+keyName(k.Back)+" aborts"))
		},
		allow: func(r rune) bool { return r >= '0' && r <= '9' },
		accept: func(code string) (tea.Cmd, string) {
			if !commands.ValidCode(code) {
				return nil, "type all 6 digits of the code"
			}
			return m.sendStep(f, 2, code), ""
		},
		cancel: func() tea.Cmd {
			// Abort the two-step flow: nothing was executed.
			f.phase = flowDone
			f.errText, f.hint, f.note = "aborted: nothing was sent to the vehicle", "", ""
			return nil
		},
		acceptHelp: "send with the code", cancelHelp: "abort",
	})
}

// sendStep sends step one (code "") or step two of f.
func (m *Commands) sendStep(f *cmdFlow, step int, code string) tea.Cmd {
	f.seq = m.nextSeq()
	f.phase = flowSending
	if step == 2 {
		f.phase = flowSendingCode
	}
	svc, vinS, cmdS := m.svc, f.vin, f.command
	m.c.Logger.Info("command send", "vin", vinS, "command", cmdS, "step", step)
	return m.c.call(paneCommands, f.seq, commandTimeout, func(ctx context.Context) tea.Msg {
		res, err := svc.Send(ctx, vinS, cmdS, code)
		return sendResult{vin: vinS, command: cmdS, step: step, res: res, err: err}
	})
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
		return tea.Batch(ok, m.prompts.open(m.codePrompt(m.flow, *conf)))
	}
	return ok
}

// reportCommands tells the status bar how a command API call went (err
// nil: it succeeded).
func reportCommands(err error) tea.Cmd {
	return reportProvider(providerCommands, err, errors.Is(err, commands.ErrUnauthorized))
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

// poll asks for the status of history entry k.
func (m *Commands) poll(k uint64) tea.Cmd {
	e := m.entry(k)
	if e == nil || e.done {
		return nil
	}
	svc, id := m.svc, e.id
	return m.c.call(paneCommands, k, commandTimeout, func(ctx context.Context) tea.Msg {
		cmd, err := svc.Status(ctx, id)
		return statusResult{key: k, cmd: cmd, err: err}
	})
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

package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
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
	flowPreparing                    // the modal asks for a confirmation or a reason
	flowRequesting                   // the approval request is being written
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
	reason       string // disable_ignition: why, as the operator gave it
}

type cmdFlow struct {
	seq          uint64
	vin, command string
	phase        flowPhase
	note         string // why the flow restarted, or what the operator must fix
	entry        *sentCommand
	errText      string
	hint         string

	// What the policy asked and the operator gave (sendflow.go).
	confirmed  bool
	askFirst   bool
	reason     string
	request    int64  // the approved request this carries out
	approvedBy string // who approved it, as the modal shows it
	requested  int64  // the approval request this flow wrote
	// The code step: what the platform issued and when, what was typed
	// (kept while the moving-vehicle check asks for the VIN), what the
	// operator was shown when confirming, and why the code was asked for
	// again.
	conf    *commands.Confirmation
	issued  time.Time
	typed   string
	shown   string
	restart string
	modal   *sendModal // nil: no modal open
	aborted bool       // the operator gave up before anything ran
}

// busy reports whether the flow needs the operator or the network: a
// second send waits in the queue.
func (f *cmdFlow) busy() bool {
	if f == nil {
		return false
	}
	switch f.phase {
	case flowSending, flowSendingCode, flowConfirm, flowPreparing, flowRequesting:
		return true
	}
	return false
}

// send starts the selected command on the selected vehicle, asking first
// for whatever is missing (a typed VIN, a command name); the send flow
// (sendflow.go) takes it from there.
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
	return m.startFlow(sendRequest{vin: v, command: c})
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

// sendStep sends step one (code "") or step two of f.
func (m *Commands) sendStep(f *cmdFlow, step int, code string) tea.Cmd {
	f.seq = m.nextSeq()
	f.phase = flowSending
	if step == 2 {
		f.phase = flowSendingCode
	}
	svc, vinS, cmdS := m.svc, f.vin, f.command
	note := f.noteFor(step)
	m.c.Logger.Info("command send", "vin", vinS, "command", cmdS, "step", step)
	return m.c.call(paneCommands, f.seq, commandTimeout, func(ctx context.Context) tea.Msg {
		if !note.IsZero() {
			ctx = audit.WithNote(ctx, note)
		}
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
			// The code was wrong, spent, expired or another vehicle's: say
			// which, and ask for a new one (document 002: restart the flow).
			why := m.codes.Explain(f.vin, f.command, f.typed, r.err, m.c.Now())
			return tea.Batch(report, m.restartCode(f, why))
		}
		f.phase = flowDone
		report = tea.Batch(report, m.closeFlowModal(f))
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
			f := m.flow
			e.reason = f.reason
			f.entry = e
			f.phase = flowFollowing
			if e.done {
				f.phase = flowDone
			}
			ok = tea.Batch(ok, m.closeFlowModal(f))
		}
		return tea.Batch(ok, m.schedulePoll(e), m.ended(e))
	}
	if conf := r.res.Confirmation; conf != nil && current {
		return tea.Batch(ok, m.codeIssued(m.flow, *conf))
	}
	return ok
}

// reportCommands tells the status bar how a command API call went (err
// nil: it succeeded).
func reportCommands(err error) tea.Cmd {
	return reportProvider(providerCommands, err, errors.Is(err, commands.ErrUnauthorized))
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
			return tea.Batch(reportCommands(r.err), m.ended(e))
		}
		return tea.Batch(reportCommands(r.err), m.schedulePoll(e))
	}
	// The status bar follows the last call: this one went through.
	ok := reportCommands(nil)
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
		return tea.Batch(ok, m.ended(e))
	}
	if e.polls >= maxPolls {
		e.done, e.ended, e.note = true, m.c.Now(), "still pending; stopped following (check with: fleetdeck command status "+e.id+")"
		m.finishFlow(e)
		return tea.Batch(ok, m.ended(e))
	}
	return tea.Batch(ok, m.schedulePoll(e))
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

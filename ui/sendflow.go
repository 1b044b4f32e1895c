package ui

import (
	"context"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The send flow: every command the console sends, from wherever it is
// asked for, goes through startFlow, which applies the policy before
// anything leaves: a y/n confirmation ([commands] confirm), a reason
// (disable_ignition, and every command that needs approval), a second
// operator's approval ([commands] approval), the ignition code, and for a
// vehicle that moves (or whose speed is unknown) the VIN's last four
// characters. The Commands pane owns the flow; the confirmation modal
// (ignition.go) is its face.

// sendRequest asks the Commands pane to send a command. Send one with
// sendCommand; the pane runs one flow at a time and queues the rest.
type sendRequest struct {
	vin, command string
	// confirmed: the caller has already shown a y/n confirmation that names
	// this vehicle (a bulk send's list), so the policy's own is skipped.
	// Nothing else is: reason, approval and code are still asked.
	confirmed bool
	// approval carries out an approved request (its reason and approver).
	approval   int64
	reason     string
	approvedBy string
	// askFirst asks y/n whatever the policy says: an approved command that
	// needs no code must not go out just because the approval arrived.
	askFirst bool
}

// sendCommand is the one way for any part of the console (the Commands
// pane, a palette's :send, a bulk send over marked rows) to send command to
// vin: the Commands pane applies the policy and asks for what it needs.
// confirmed says the caller already asked the operator y/n for this very
// vehicle and command.
func sendCommand(vin, command string, confirmed bool) tea.Cmd {
	return func() tea.Msg {
		return envelope{pane: paneCommands, msg: sendRequest{vin: vin, command: command, confirmed: confirmed}}
	}
}

// Messages of an approval request (inside envelopes for the Commands pane).
type approvalRequested struct {
	approval audit.Approval
	err      error
}

// startFlow begins req, or queues it behind the flow in progress.
func (m *Commands) startFlow(req sendRequest) tea.Cmd {
	if m.c.ReadOnly || m.svc == nil {
		m.flow = &cmdFlow{phase: flowDone, errText: "read-only session: sending commands is disabled"}
		if m.svc == nil && !m.c.ReadOnly {
			m.flow.errText = "Commands disabled: no [commands] section in config"
		}
		return nil
	}
	if m.flow.busy() {
		m.queue = append(m.queue, req)
		return nil
	}
	f := &cmdFlow{vin: req.vin, command: req.command, confirmed: req.confirmed, askFirst: req.askFirst,
		reason: req.reason, request: req.approval, approvedBy: req.approvedBy, phase: flowPreparing}
	m.flow = f
	m.noteFlow(f)
	return m.advance(f)
}

// nextQueued starts the next queued request once the flow in progress no
// longer needs the operator or the network.
func (m *Commands) nextQueued() tea.Cmd {
	if len(m.queue) == 0 || m.flow.busy() {
		return nil
	}
	req := m.queue[0]
	m.queue = m.queue[1:]
	return m.startFlow(req)
}

// advance asks for the next thing the policy wants, or sends.
func (m *Commands) advance(f *cmdFlow) tea.Cmd {
	p := m.policy
	switch {
	case (p.NeedsConfirm(f.command) || f.askFirst) && !f.confirmed:
		return m.toStage(f, stageConfirm)
	case p.NeedsReason(f.command) && f.reason == "":
		return m.toStage(f, stageReason)
	case p.NeedsApproval(f.command) && f.request == 0:
		return m.requestApproval(f)
	}
	if commands.NeedsConfirmation(f.command) {
		// The code flow always happens in the modal: the operator sees the
		// vehicle and the platform's alert in full before typing.
		return tea.Batch(m.toStage(f, stageAwaitCode), m.sendStep(f, 1, ""))
	}
	return tea.Batch(m.closeFlowModal(f), m.sendStep(f, 1, ""))
}

// toStage moves f's modal to s, opening the modal first if need be.
func (m *Commands) toStage(f *cmdFlow, s modalStage) tea.Cmd {
	if f.modal == nil {
		f.modal = newSendModal(m, f)
		f.modal.enter(s)
		return openModal(f.modal)
	}
	return f.modal.enter(s)
}

// closeFlowModal closes f's modal, if open.
func (m *Commands) closeFlowModal(f *cmdFlow) tea.Cmd {
	if f.modal == nil {
		return nil
	}
	md := f.modal
	f.modal = nil
	return closeModal(md)
}

// confirmed: the operator said yes to the policy's confirmation.
func (m *Commands) confirmed(f *cmdFlow) tea.Cmd {
	f.confirmed = true
	return m.advance(f)
}

// reasonGiven takes the operator's reason.
func (m *Commands) reasonGiven(f *cmdFlow, value string) (tea.Cmd, string) {
	r := strings.Join(strings.Fields(value), " ")
	if r == "" {
		return nil, "a reason is required: say in one line why"
	}
	f.reason = audit.Note{Reason: r}.Clean().Reason
	return m.advance(f), ""
}

// codeTyped takes the code. A code typed after its validity is not sent: a
// new one is asked for at once, and the operator told why.
func (m *Commands) codeTyped(f *cmdFlow, code string) (tea.Cmd, string) {
	now := m.c.Now()
	issued := commands.IssuedCode{VIN: f.vin, Command: f.command, At: f.issued}
	if f.conf != nil {
		issued.Code = f.conf.Code
	}
	if f.conf != nil && issued.Expired(now) {
		return m.restartCode(f, m.codes.Explain(f.vin, f.command, code, nil, now)), ""
	}
	if !commands.ValidCode(code) {
		return nil, "type all 6 digits of the code"
	}
	f.typed = code
	if f.command == "disable_ignition" && f.modal != nil && f.modal.facts.motion(now) != motionStopped {
		return m.toStage(f, stageMoving), ""
	}
	return m.sendCode(f), ""
}

// vinTyped takes the VIN's last four characters (a moving vehicle).
func (m *Commands) vinTyped(f *cmdFlow, value string) (tea.Cmd, string) {
	want := f.vin[max(len(f.vin)-4, 0):]
	if !strings.EqualFold(strings.TrimSpace(value), want) {
		return nil, "that is not how this VIN ends: read the VIN above and type its last 4 characters"
	}
	if f.conf != nil && (commands.IssuedCode{At: f.issued}).Expired(m.c.Now()) {
		return m.restartCode(f, m.codes.Explain(f.vin, f.command, f.typed, nil, m.c.Now())), ""
	}
	return m.sendCode(f), ""
}

// sendCode sends step two with the typed code, journaling what the
// operator had on screen when they confirmed.
func (m *Commands) sendCode(f *cmdFlow) tea.Cmd {
	if f.modal != nil {
		f.modal.refresh()
		f.shown = f.modal.facts.shown(m.c.Now())
		f.modal.enter(stageSendingCode)
	}
	return m.sendStep(f, 2, f.typed)
}

// restartCode asks for a new code after the old one was refused or ran
// out, and says why in the modal (and in the journal, with the new step
// one).
func (m *Commands) restartCode(f *cmdFlow, why commands.CodeRejection) tea.Cmd {
	f.restart = why.What
	f.conf, f.typed = nil, ""
	cmd := m.toStage(f, stageAwaitCode)
	if f.modal != nil {
		f.modal.note = "✗ " + why.What + ". A new code has been requested: it will appear here."
	}
	return tea.Batch(cmd, m.sendStep(f, 1, ""))
}

// codeIssued shows the code step one brought.
func (m *Commands) codeIssued(f *cmdFlow, conf commands.Confirmation) tea.Cmd {
	f.conf = &conf
	f.issued = m.c.Now()
	m.codes.Issued(commands.IssuedCode{VIN: f.vin, Command: f.command, Code: conf.Code, At: f.issued})
	f.phase = flowConfirm
	cmd := m.toStage(f, stageCode)
	if f.restart != "" {
		// Journaled with the step one just answered; the operator reads it
		// until the next key.
		f.modal.note = "✗ " + f.restart + ". The platform issued a new code: type it."
		f.restart = ""
	}
	return cmd
}

// abortFlow ends f on the operator's word: nothing more is sent, and a
// late answer to what was already sent is not taken for the flow's.
func (m *Commands) abortFlow(f *cmdFlow) tea.Cmd {
	f.modal = nil // it is closing itself
	if m.flow != f {
		return nil
	}
	f.seq = m.nextSeq()
	f.phase, f.aborted = flowDone, true
	f.errText, f.hint, f.note = "nothing was sent to the vehicle", "", ""
	if f.conf != nil {
		f.errText = "the code was not sent, so nothing ran on the vehicle"
	}
	return nil
}

// noteFor is what the journal keeps with step of f.
func (f *cmdFlow) noteFor(step int) audit.Note {
	n := audit.Note{Reason: f.reason, Request: f.request}
	if step == 1 {
		n.Restart = f.restart
	}
	if step == 2 {
		n.Shown = f.shown
	}
	return n.Clean()
}

// requestApproval writes the approval request and lets the operator go:
// the code is requested when a second operator approves.
func (m *Commands) requestApproval(f *cmdFlow) tea.Cmd {
	if m.approvals == nil {
		f.phase = flowDone
		f.errText = termsafe.String(f.command) + " needs a second operator's approval ([commands] approval), and this console has no approval desk"
		return m.closeFlowModal(f)
	}
	f.phase = flowRequesting
	cmd := m.toStage(f, stageRequest)
	f.seq = m.nextSeq()
	svc, vin, command := m.approvals, f.vin, f.command
	note := audit.Note{Reason: f.reason}
	if f.modal != nil {
		note.Shown = f.modal.facts.shown(m.c.Now())
	}
	return tea.Batch(cmd, m.c.call(paneCommands, f.seq, mutateTimeout, func(ctx context.Context) tea.Msg {
		a, err := svc.Request(ctx, vin, command, note.Clean())
		return approvalRequested{approval: a, err: err}
	}))
}

func (m *Commands) approvalDone(seq uint64, r approvalRequested) tea.Cmd {
	f := m.flow
	if f == nil || f.seq != seq || f.phase != flowRequesting {
		return nil
	}
	f.phase = flowDone
	cmd := m.closeFlowModal(f)
	if r.err != nil {
		f.errText = "approval request not written: " + errorText(r.err)
		return cmd
	}
	f.requested = r.approval.ID
	return tea.Batch(cmd, func() tea.Msg { return approvalsChanged{} })
}

// requestedText is the flow area's line for a request sent for approval.
func requestedText(f *cmdFlow, k string) string {
	return "approval requested (#" + strconv.FormatInt(f.requested, 10) + "): a second operator must approve " +
		termsafe.String(f.command) + " on " + termsafe.String(f.vin) + "; the code is requested when they do (" + k + ": approvals)"
}

package ui

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// The Commands pane's share of the console-wide tools: linked selection,
// the palette's send and filter, marks and the bulk send, copy, export.

func (m *Commands) SelectedVehicle() string { return m.selectedVIN() }

func (m *Commands) SelectVehicle(id string, force bool) bool {
	if m.svc == nil {
		return false
	}
	find := func() bool {
		for i, vi := range m.vview {
			if vi >= 0 && m.vehicles[vi].VIN == id {
				m.vwin.set(i)
				return true
			}
		}
		return false
	}
	if find() {
		return true
	}
	if !force || !slices.ContainsFunc(m.vehicles, func(v fleet.Vehicle) bool { return v.VIN == id }) {
		return false
	}
	m.filter.clear()
	m.refilter()
	return find()
}

func (m *Commands) setFilter(q string) {
	m.filter.ti.SetValue(q)
	m.refilter()
}

func (m *Commands) TakesText() bool {
	return m.filter.active || takesText(m.prompts.top())
}

// cannotSend says why no command can be sent from here ("" when one can).
func (m *Commands) cannotSend() string {
	switch {
	case m.c.ReadOnly:
		return "read-only session: sending commands is disabled"
	case m.svc == nil:
		return "no [commands] section in the config"
	case m.flow.busy():
		return "a command is still being sent (or waits for its code)"
	}
	return ""
}

// sendNamed chooses command name in the list and sends it the way the send
// key does: to the selected vehicle, or to the marked ones behind one
// confirmation, with the code prompt for ignition commands.
func (m *Commands) sendNamed(name string) tea.Cmd {
	if i := slices.Index(m.names, name); i >= 0 {
		m.cwin.set(i)
	} else {
		m.cwin.set(len(m.names) - 1) // other…
		m.customCmd = name
	}
	m.col = 1
	return m.sendKey()
}

// sendKey is the send key: the marked vehicles when there are any.
func (m *Commands) sendKey() tea.Cmd {
	if m.c.marks.len() > 0 && !m.c.ReadOnly {
		return m.openBulkSend()
	}
	return m.send()
}

func (m *Commands) toggleMark() {
	if m.vwin.cursor < 0 || m.vwin.cursor >= len(m.vview) || m.vview[m.vwin.cursor] < 0 {
		return // the "other VIN…" row
	}
	m.c.marks.toggle(m.vehicles[m.vview[m.vwin.cursor]].VIN)
	m.vwin.move(1)
}

// openBulkSend sends the selected command to every marked vehicle that is
// approved, behind one confirmation that lists them. Each vehicle then goes
// through the send flow like a single send (sendCommand): the list was the
// y/n, but a reason, a second operator's approval and an ignition code are
// asked for each vehicle as the policy says, and the Commands pane runs
// them one after the other. The list follows each row to its end.
func (m *Commands) openBulkSend() tea.Cmd {
	if why := m.cannotSend(); why != "" {
		return notify(levelError, "send: "+why)
	}
	name := m.selectedCommand()
	if name == "" {
		return m.prompts.open(m.commandPrompt())
	}
	marked := m.c.marks.list()
	approved := make(map[string]bool, len(m.vehicles))
	for _, v := range m.vehicles {
		approved[v.VIN] = true
	}
	items := make([]bulkItem, 0, len(marked))
	for _, vinS := range marked {
		it := bulkItem{vin: vinS, label: "send " + name}
		if !approved[vinS] {
			it.skip = "not approved (not in Commands' list)"
		}
		items = append(items, it)
	}
	how := "each through the send flow in turn, journaled"
	if commands.NeedsConfirmation(name) || m.policy.NeedsReason(name) || m.policy.NeedsApproval(name) {
		how += "; each asks for its own " + strings.Join(m.asks(name), ", ")
	}
	var before map[string]*cmdFlow
	spec := bulkSpec{
		title: fmt.Sprintf("Send %s to %d marked vehicles?", name, len(marked)),
		verb:  "send", how: how, items: items,
		start: func(its []bulkItem) tea.Cmd {
			before = maps.Clone(m.lastFlow)
			cmds := make([]tea.Cmd, 0, len(its))
			for _, it := range its {
				m.c.Logger.Info("command send (bulk)", "vin", it.vin, "command", name)
				cmds = append(cmds, sendCommand(it.vin, name, true))
			}
			return tea.Sequence(cmds...)
		},
		observe: func(it bulkItem) (bulkState, string) {
			return m.bulkOutcome(it.vin, name, before[flowKey(it.vin, name)])
		},
		dequeue: func(it bulkItem) bool { return m.dequeue(it.vin, name) },
		done: func(ok []string) tea.Cmd {
			m.c.marks.remove(ok...)
			return nil
		},
	}
	return openModal(newBulk(m.c, spec))
}

// asks names what the policy asks for before name is sent.
func (m *Commands) asks(name string) []string {
	var out []string
	if m.policy.NeedsReason(name) {
		out = append(out, "reason")
	}
	if m.policy.NeedsApproval(name) {
		out = append(out, "second operator's approval")
	}
	if commands.NeedsConfirmation(name) {
		out = append(out, "code from the platform")
	}
	return out
}

func flowKey(vin, command string) string { return vin + "\x00" + command }

// noteFlow remembers f as the newest flow for its vehicle and command.
func (m *Commands) noteFlow(f *cmdFlow) {
	if m.lastFlow == nil {
		m.lastFlow = map[string]*cmdFlow{}
	}
	m.lastFlow[flowKey(f.vin, f.command)] = f
}

// dequeue takes back a queued request for vin that has not started.
func (m *Commands) dequeue(vin, command string) bool {
	for i, q := range m.queue {
		if q.vin == vin && q.command == command {
			m.queue = slices.Delete(m.queue, i, i+1)
			return true
		}
	}
	return false
}

// bulkOutcome is where the send of command to vin stands: queued, in its
// flow (and at which step), registered and followed, or ended. before is
// the flow there was for it when the bulk send began (an older one is not
// this send's).
func (m *Commands) bulkOutcome(vin, command string, before *cmdFlow) (bulkState, string) {
	f := m.lastFlow[flowKey(vin, command)]
	if f == nil || f == before {
		return bulkWaiting, "queued"
	}
	if e := f.entry; e != nil {
		text := "registered " + abbrev(e.id, 8) + ": " + string(e.status)
		if e.detail != "" {
			text += ": " + e.detail
		}
		switch {
		case !e.done:
			return bulkRunning, text
		case e.status == commands.StatusSuccess:
			return bulkOK, text
		}
		if e.note != "" {
			text += " (" + e.note + ")"
		}
		return bulkFailed, text
	}
	switch f.phase {
	case flowDone:
		if f.requested != 0 {
			return bulkOK, fmt.Sprintf("approval requested (#%d): it goes out once a second operator approves", f.requested)
		}
		if f.errText == "" {
			return bulkFailed, "ended without a command"
		}
		return bulkFailed, f.errText
	case flowConfirm:
		return bulkRunning, "waiting for the code"
	case flowRequesting:
		return bulkRunning, "writing the approval request"
	case flowSending, flowSendingCode:
		return bulkRunning, "sending"
	}
	return bulkRunning, "waiting for the operator"
}

// ended notifies the end of a command followed to its end ("" while it
// runs).
func (m *Commands) ended(e *sentCommand) tea.Cmd {
	if e == nil || !e.done {
		return nil
	}
	lvl := levelInfo
	if e.status == commands.StatusError || e.note != "" {
		lvl = levelError
	}
	text := fmt.Sprintf("%s → %s: %s", e.command, e.vin, e.status)
	if e.detail != "" {
		text += ": " + e.detail
	}
	if e.note != "" {
		text += " (" + e.note + ")"
	}
	return notify(lvl, text)
}

// copyTarget: the command id of the command followed, the error shown, or
// the selected VIN.
func (m *Commands) copyTarget() (string, string) {
	if f := m.flow; f != nil {
		switch {
		case f.entry != nil && f.entry.id != "":
			return "the command id", f.entry.id
		case f.phase == flowDone && f.errText != "":
			text := f.errText
			if f.hint != "" {
				text += " (hint: " + f.hint + ")"
			}
			return "the message", text
		}
	}
	return "the VIN", m.selectedVIN()
}

// exportTable is the history of commands sent from this session.
func (m *Commands) exportTable() table {
	t := table{name: "commands", note: fmt.Sprintf("%d commands sent in this session", len(m.history)),
		cols: []string{"sent", "vin", "command", "id", "status", "detail", "ended", "note"}}
	for _, e := range m.history {
		var ended time.Time
		if e.done {
			ended = e.ended
		}
		t.rows = append(t.rows, []any{e.sent, e.vin, e.command, e.id, string(e.status), e.detail, ended, e.note})
	}
	return t
}

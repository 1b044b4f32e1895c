package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
)

// The root watches the journal for what every console must see soon after
// another operator (another SSH session, another box, a CLI) writes it:
// approval requests and decisions, and immobilised vehicles. A journal that
// announces its appends (Changes) is read again on each; otherwise, and as
// a safety net, it is read on a timer.

// How often the journal is read again without (and despite) notices.
const (
	watchPoll       = 3 * time.Second
	watchPollNotify = 30 * time.Second
)

// Messages of the watch (inside envelopes for the root).
type (
	// safetyChanged: the journal may hold new requests or decisions, or a
	// vehicle immobilised or freed. external says it announced so itself
	// (its next notice is then awaited).
	safetyChanged struct{ external bool }
	watchTick     struct{}
)

// touchJournal tells the root that this console wrote to the journal
// (a command ended, a request was written).
func touchJournal() tea.Cmd {
	return func() tea.Msg { return envelope{pane: paneRoot, msg: safetyChanged{}} }
}

// watch is the root's journal watch.
type watch struct {
	c       *Common
	changes <-chan struct{} // nil: the journal does not announce
	every   time.Duration
}

func newWatch(c *Common, log AuditLog) *watch {
	w := &watch{c: c, every: watchPoll}
	if jc, ok := log.(AuditWatcher); ok {
		w.changes = jc.Changes(c.Ctx)
		w.every = watchPollNotify
	}
	return w
}

// next waits for the journal's next notice.
func (w *watch) next() tea.Cmd {
	ch := w.changes
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return nil
		}
		return envelope{pane: paneRoot, msg: safetyChanged{external: true}}
	}
}

func (w *watch) tick() tea.Cmd {
	return w.c.after(w.every, envelope{pane: paneRoot, msg: watchTick{}})
}

// safety is what the root keeps for four eyes and immobilised vehicles.
type safety struct {
	desk     *approvalDesk     // nil: no approval desk
	immob    *immobilisedSet   // never nil
	src      ImmobilisedSource // nil: no journal to derive it from
	immobSeq uint64
	watch    *watch
}

// loadImmobilised reads the immobilised vehicles again.
func (s *safety) loadImmobilised(c *Common) tea.Cmd {
	if s.src == nil {
		return nil
	}
	s.immobSeq++
	return loadImmobilised(c, s.src, s.immobSeq)
}

// reload reads everything the watch keeps.
func (s *safety) reload(c *Common) tea.Cmd {
	return tea.Batch(s.desk.load(), s.loadImmobilised(c))
}

// rootEnvelope handles what is addressed to the root itself.
func (m *Model) rootEnvelope(env envelope) tea.Cmd {
	s := &m.safety
	switch msg := env.msg.(type) {
	case immobilisedResult:
		if env.seq == s.immobSeq {
			s.immob.apply(msg)
		}
	case approvalsResult:
		if s.desk == nil {
			return nil
		}
		var cmds []tea.Cmd
		for _, req := range s.desk.apply(env.seq, msg) {
			// The requester's console asks for the code now.
			cmds = append(cmds, m.update(paneCommands, envelope{pane: paneCommands, msg: req}))
		}
		return tea.Batch(cmds...)
	case approvalActed:
		if s.desk != nil {
			return s.desk.acted(msg)
		}
	case approvalsChanged:
		return s.desk.load()
	case safetyChanged:
		// (The Commands pane's journal view watches the journal itself.)
		cmd := s.reload(m.c)
		if msg.external {
			cmd = tea.Batch(cmd, s.watch.next())
		}
		return cmd
	case watchTick:
		return tea.Batch(s.reload(m.c), s.watch.tick())
	}
	return nil
}

// openApprovals opens the list of requests and immobilised vehicles.
func (m *Model) openApprovals() tea.Cmd {
	cont := func(a audit.Approval) tea.Cmd {
		req := m.safety.desk.continueRequest(a)
		return func() tea.Msg { return envelope{pane: paneCommands, msg: req} }
	}
	l := newApprovalsList(m.c, m.safety.desk, m.safety.immob, cont)
	return tea.Batch(m.modals.open(l), m.safety.reload(m.c))
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

package ui

import (
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// journalRows is how many records the journal asks for; journalEvery is how
// often it looks again for other operators' actions.
const (
	journalRows    = 20
	journalEvery   = 10 * time.Second
	journalTimeout = 5 * time.Second
)

// Messages of the journal, inside envelopes addressed to the Commands pane
// that lays it out; seq is the look they belong to.
type (
	journalResult struct {
		records []audit.Record
		err     error
	}
	// journalTick asks for a fresh look. A later look (after a command's
	// answer) arms its own timer and makes this one stale, so that one timer
	// runs however many looks were made.
	journalTick struct{}
	// journalChanged: the journal said it changed (AuditWatcher).
	journalChanged struct{}
)

// journal shows the audit journal's newest records, every operator's,
// newest first. It looks again every journalEvery and whenever its host
// asks (after each answer from the command API).
type journal struct {
	c       *Common
	log     AuditLog
	host    paneID
	records []audit.Record // oldest first, as Recent returns them
	err     string
	seq     uint64          // newest look; older answers and timers are dropped
	changes <-chan struct{} // from an AuditWatcher; nil until watched
	w, h    int
}

func newJournal(c *Common, log AuditLog, host paneID) *journal {
	return &journal{c: c, log: log, host: host}
}

// load reads the newest records in the background.
func (j *journal) load() tea.Cmd {
	j.seq++
	log := j.log
	return j.c.call(j.host, j.seq, journalTimeout, func(ctx context.Context) tea.Msg {
		rs, err := log.Recent(ctx, journalRows)
		return journalResult{records: rs, err: err}
	})
}

// watch waits for the journal to say it changed, when it can (an
// AuditWatcher); the wait ends with the session (the channel closes).
func (j *journal) watch() tea.Cmd {
	w, ok := j.log.(AuditWatcher)
	if !ok {
		return nil
	}
	if j.changes == nil {
		j.changes = w.Changes(j.c.Ctx)
	}
	ch, host := j.changes, j.host
	return func() tea.Msg {
		if _, ok := <-ch; !ok {
			return nil
		}
		return envelope{pane: host, msg: journalChanged{}}
	}
}

// handles reports whether msg is one of the journal's.
func (j *journal) handles(msg tea.Msg) bool {
	switch msg.(type) {
	case journalResult, journalTick, journalChanged:
		return true
	}
	return false
}

func (j *journal) update(env envelope) tea.Cmd {
	if _, ok := env.msg.(journalChanged); ok {
		return tea.Batch(j.load(), j.watch())
	}
	if env.seq != j.seq {
		return nil // a newer look is on its way, with its own timer
	}
	switch msg := env.msg.(type) {
	case journalResult:
		j.records, j.err = msg.records, ""
		if msg.err != nil {
			j.err = errorText(msg.err)
		}
		return j.c.after(journalEvery, envelope{pane: j.host, seq: env.seq, msg: journalTick{}})
	case journalTick:
		return j.load()
	}
	return nil
}

func (j *journal) SetSize(w, h int) { j.w, j.h = w, h }

// View lists who did what to which vehicle, and how it ended ("outcome
// unknown" when the process died between the request and its answer). Wide
// panes give a record one line; narrow ones give it two, the outcome under
// the action.
func (j *journal) View() string { return j.view(j.w, j.h) }

// view draws the journal in w×h: the Commands pane gives it its own
// size, the root a strip under another pane.
func (j *journal) view(w, h int) string {
	st := j.c.Styles
	if h <= 0 {
		return ""
	}
	out := []string{st.Header.Render("Journal") + st.Dim.Render(" (every operator, newest first)")}
	if j.err != "" {
		out = append(out, "  "+st.Error.Render(truncate(j.err, w-2)))
	}
	if len(j.records) == 0 && j.err == "" {
		out = append(out, st.Dim.Render("  no actions recorded yet"))
	}
	const actorW, actionW, vinW = 10, 26, 17
	wide := w >= 8+1+actorW+1+actionW+1+vinW+1+20
	for i := len(j.records) - 1; i >= 0 && len(out) < h; i-- {
		r := j.records[i]
		what := journalAction(r.Action)
		if r.Command != "" {
			what += " " + termsafe.String(r.Command)
		}
		result := r.Result()
		if id := r.AcceptedID(); len(id) > 8 {
			result = strings.Replace(result, id, id[:8], 1) // the UUID's head is enough to tell them apart
		}
		if n, ok := r.Note(); ok && n.Reason != "" {
			result += " · why: " + n.Reason
		}
		result = termsafe.String(result)
		style := st.Dim
		if !r.Known() {
			style = st.Warning
		}
		head := r.At.In(j.c.zone()).Format("15:04:05") + " " + pad(abbrev(termsafe.String(r.Actor.User), actorW-1), actorW) + " "
		if wide {
			line := head + pad(abbrev(what, actionW-1), actionW) + " " + pad(termsafe.String(r.VIN), vinW) + " " + style.Render(result)
			out = append(out, truncate(line, w))
			continue
		}
		out = append(out, truncate(head+what+" "+termsafe.String(r.VIN), w))
		if len(out) < h {
			out = append(out, truncate("         → "+style.Render(result), w))
		}
	}
	return strings.Join(out, "\n")
}

// journalAction names a journal action as an operator would.
func journalAction(a audit.Action) string {
	switch a {
	case audit.ActionClearanceAdd:
		return "add"
	case audit.ActionClearanceRevoke:
		return "revoke"
	case audit.ActionClearanceCancel:
		return "cancel"
	case audit.ActionCommandConfirmation:
		return "code for"
	case audit.ActionCommandConfirm:
		return "confirm"
	case audit.ActionCommandSend:
		return "send"
	case audit.ActionCommandStatus:
		return "status of"
	case audit.ActionApprovalRequest:
		return "asks approval:"
	}
	return termsafe.String(string(a))
}

package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Four eyes: a command the policy lists under [commands] approval is
// requested, not sent; every other operator's console shows the request
// (a badge, and the list `A` opens, with the requester, the vehicle, the
// reason and the vehicle's live state); one of them approves or rejects
// it; only then does the requester's console ask the platform for the code
// and the requester for it. Requests live in the journal, so every console
// and CLI on it sees the same ones.

// ApprovalService is the approval desk as one operator uses it: the
// operator's identity is the desk's (one per session), so nobody can
// approve their own request. *audit.ApprovalDesk has it.
type ApprovalService interface {
	// Request asks a second operator to approve command on vin.
	Request(ctx context.Context, vin, command string, note audit.Note) (audit.Approval, error)
	// Approvals lists the open requests and those settled lately, newest
	// first, with Mine set on this operator's own.
	Approvals(ctx context.Context) ([]audit.Approval, error)
	// Decide approves or rejects another operator's request.
	Decide(ctx context.Context, id int64, approve bool) (audit.Approval, error)
	// Withdraw takes back this operator's own open request.
	Withdraw(ctx context.Context, id int64) (audit.Approval, error)
}

// Messages of the approval desk (inside envelopes for the root).
type (
	approvalsResult struct {
		list []audit.Approval
		err  error
	}
	approvalActed struct {
		verb string // approve, reject, withdraw
		a    audit.Approval
		err  error
	}
	// approvalsChanged asks the root to look at the requests again (after
	// this console wrote one).
	approvalsChanged struct{}
)

// approvalDesk is the console's copy of the approval requests, owned by
// the root; the badge and the list read it.
type approvalDesk struct {
	c       *Common
	svc     ApprovalService
	list    []audit.Approval
	loaded  bool
	err     string
	note    string // the outcome of the operator's last decision
	noteErr bool
	seq     uint64
	// seen is each request's state at the last look; continued holds this
	// operator's approved requests already handed to the send flow, so an
	// approval observed here opens the code step once.
	seen      map[int64]audit.ApprovalState
	continued map[int64]bool
}

func newApprovalDesk(c *Common, svc ApprovalService) *approvalDesk {
	return &approvalDesk{c: c, svc: svc, seen: map[int64]audit.ApprovalState{}, continued: map[int64]bool{}}
}

func (d *approvalDesk) load() tea.Cmd {
	if d == nil || d.svc == nil {
		return nil
	}
	d.seq++
	svc := d.svc
	return d.c.call(paneRoot, d.seq, journalTimeout, func(ctx context.Context) tea.Msg {
		list, err := svc.Approvals(ctx)
		return approvalsResult{list: list, err: err}
	})
}

// apply takes a fresh list and returns the send requests for this
// operator's requests that were approved since the last look.
func (d *approvalDesk) apply(seq uint64, r approvalsResult) []sendRequest {
	if seq != d.seq {
		return nil // an older look
	}
	if r.err != nil {
		d.err = errorText(r.err)
		return nil
	}
	d.err = ""
	first := !d.loaded
	d.loaded = true
	d.list = r.list
	var out []sendRequest
	for _, a := range r.list {
		before, known := d.seen[a.ID]
		d.seen[a.ID] = a.State
		// Only approvals seen happening: one that was already approved
		// when this console started waits in the list for enter.
		if a.Mine && a.State == audit.ApprovalApproved && !d.continued[a.ID] && !first && (!known || before == audit.ApprovalPending) {
			d.continued[a.ID] = true
			out = append(out, d.continueRequest(a))
		}
	}
	return out
}

// continueRequest is the send request that carries out approved request a.
func (d *approvalDesk) continueRequest(a audit.Approval) sendRequest {
	by := "request #" + strconv.FormatInt(a.ID, 10)
	if a.Decider != nil {
		by += " approved by " + termsafe.String(a.Decider.User) + " at " + a.DecidedAt.In(d.c.zone()).Format("15:04:05")
	}
	// An ignition command stops at its code anyway; any other asks y/n
	// first, so that the approval itself never sends it.
	askFirst := !commands.NeedsConfirmation(a.Command)
	return sendRequest{vin: a.VIN, command: a.Command, confirmed: !askFirst, askFirst: askFirst,
		approval: a.ID, reason: a.Reason, approvedBy: by}
}

// waiting counts other operators' requests that wait for a decision now.
func (d *approvalDesk) waiting() int {
	if d == nil {
		return 0
	}
	now := d.c.Now()
	n := 0
	for _, a := range d.list {
		if !a.Mine && a.State == audit.ApprovalPending && now.Before(a.Expires()) {
			n++
		}
	}
	return n
}

// act approves, rejects or withdraws request id in the background.
func (d *approvalDesk) act(verb string, id int64) tea.Cmd {
	svc := d.svc
	return d.c.call(paneRoot, 0, mutateTimeout, func(ctx context.Context) tea.Msg {
		var a audit.Approval
		var err error
		switch verb {
		case "withdraw":
			a, err = svc.Withdraw(ctx, id)
		default:
			a, err = svc.Decide(ctx, id, verb == "approve")
		}
		if a.ID == 0 {
			a.ID = id
		}
		return approvalActed{verb: verb, a: a, err: err}
	})
}

func (d *approvalDesk) acted(r approvalActed) tea.Cmd {
	if r.err != nil {
		d.note, d.noteErr = fmt.Sprintf("✗ %s #%d: %s", r.verb, r.a.ID, errorText(r.err)), true
		return d.load()
	}
	done := map[string]string{"approve": "approved", "reject": "rejected", "withdraw": "withdrew"}[r.verb]
	d.note, d.noteErr = fmt.Sprintf("✓ %s #%d: %s on %s", done, r.a.ID, termsafe.String(r.a.Command), termsafe.String(r.a.VIN)), false
	if r.a.Requester.User != "" && !r.a.Mine {
		d.note += " (" + termsafe.String(r.a.Requester.User) + "'s request)"
	}
	return d.load()
}

// --- the list --------------------------------------------------------------

// approvalsList is the console-wide list of approval requests and
// immobilised vehicles. It reads the desk and the immobilised set on every
// draw; the root refreshes them.
type approvalsList struct {
	c     *Common
	desk  *approvalDesk
	immob *immobilisedSet
	cur   int // the selected request (index into desk.list)
	off   int
	facts map[string]vehicleFacts
	w, h  int
	// cont hands an approved request of this operator's back to the send
	// flow (enter).
	cont func(audit.Approval) tea.Cmd
}

func newApprovalsList(c *Common, desk *approvalDesk, immob *immobilisedSet, cont func(audit.Approval) tea.Cmd) *approvalsList {
	l := &approvalsList{c: c, desk: desk, immob: immob, cont: cont}
	l.refresh()
	return l
}

// refresh reads the live state of every listed vehicle.
func (l *approvalsList) refresh() {
	l.facts = map[string]vehicleFacts{}
	if l.desk != nil {
		for _, a := range l.desk.list {
			l.facts[a.VIN] = readFacts(l.c, a.VIN)
		}
		l.cur = clamp(l.cur, 0, max(len(l.desk.list)-1, 0))
	}
}

func (l *approvalsList) Init() tea.Cmd { return nil }

// Capturing: no text is typed here; q still quits.
func (l *approvalsList) Capturing() bool { return false }

func (l *approvalsList) SetSize(w, h int) { l.w, l.h = w, h; l.follow() }

func (l *approvalsList) selected() (audit.Approval, bool) {
	if l.desk == nil || l.cur < 0 || l.cur >= len(l.desk.list) {
		return audit.Approval{}, false
	}
	return l.desk.list[l.cur], true
}

func (l *approvalsList) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k := l.c.Keys
	switch msg := msg.(type) {
	case clockMsg:
		l.refresh()
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			l.move(-1)
		case tea.MouseButtonWheelDown:
			l.move(1)
		}
	case tea.KeyMsg:
		l.refresh()
		switch {
		case key.Matches(msg, k.Back), key.Matches(msg, k.Approvals):
			return nil, nil
		case key.Matches(msg, k.Up):
			l.move(-1)
		case key.Matches(msg, k.Down):
			l.move(1)
		case key.Matches(msg, k.Approve):
			return l, l.decide("approve")
		case key.Matches(msg, k.Reject):
			return l, l.decide("reject")
		case key.Matches(msg, k.Withdraw):
			return l, l.withdraw()
		case key.Matches(msg, k.Open):
			a, ok := l.selected()
			if ok && a.Mine && a.State == audit.ApprovalApproved && !l.c.ReadOnly && l.cont != nil {
				l.desk.continued[a.ID] = true
				return nil, l.cont(a)
			}
		}
	}
	return l, nil
}

func (l *approvalsList) move(d int) {
	if l.desk == nil {
		return
	}
	l.cur = clamp(l.cur+d, 0, max(len(l.desk.list)-1, 0))
	l.follow()
}

// decide approves or rejects the selected request, if this operator may.
func (l *approvalsList) decide(verb string) tea.Cmd {
	a, ok := l.selected()
	d := l.desk
	switch {
	case !ok:
		return nil
	case l.c.ReadOnly:
		d.note, d.noteErr = "read-only session: approving and rejecting are disabled", true
	case a.Mine:
		d.note, d.noteErr = "✗ you cannot "+verb+" your own request: another operator must", true
	case a.State != audit.ApprovalPending || !l.c.Now().Before(a.Expires()):
		d.note, d.noteErr = fmt.Sprintf("✗ request #%d is %s: there is nothing to decide", a.ID, l.stateText(a)), true
	default:
		d.note, d.noteErr = verb+" #"+strconv.FormatInt(a.ID, 10)+"…", false
		return d.act(verb, a.ID)
	}
	return nil
}

func (l *approvalsList) withdraw() tea.Cmd {
	a, ok := l.selected()
	d := l.desk
	switch {
	case !ok:
		return nil
	case !a.Mine:
		d.note, d.noteErr = "✗ only the requester can withdraw a request", true
	case !a.Open():
		d.note, d.noteErr = fmt.Sprintf("✗ request #%d is already %s", a.ID, l.stateText(a)), true
	default:
		return d.act("withdraw", a.ID)
	}
	return nil
}

func (l *approvalsList) ShortHelp() []key.Binding {
	k := l.c.Keys
	out := []key.Binding{k.Up, k.Down}
	if !l.c.ReadOnly {
		out = append(out, k.Approve, k.Reject, k.Withdraw, withHelp(k.Open, "continue mine"))
	}
	return append(out, withHelp(k.Back, "close"))
}

// stateText is a request's state now (an open request past its time has
// expired, whatever the last look said).
func (l *approvalsList) stateText(a audit.Approval) string {
	now := l.c.Now()
	if a.Open() && !now.Before(a.Expires()) {
		return string(audit.ApprovalExpired)
	}
	return string(a.State)
}

// block draws request a: a head line, then the reason, the live state and
// what the requester saw.
func (l *approvalsList) block(a audit.Approval, sel bool, w int) []string {
	st := l.c.Styles
	now := l.c.Now()
	who := termsafe.String(a.Requester.User)
	if a.Mine {
		who += " (you)"
	}
	state := l.stateText(a)
	switch {
	case a.State == audit.ApprovalPending && state != string(audit.ApprovalExpired):
		state = st.Warning.Render("pending · expires in " + countdown(a.Expires().Sub(now)))
	case a.State == audit.ApprovalApproved && state != string(audit.ApprovalExpired):
		by := ""
		if a.Decider != nil {
			by = " by " + termsafe.String(a.Decider.User)
		}
		state = st.OK.Render("approved"+by) + st.Dim.Render(" · usable for "+countdown(a.Expires().Sub(now)))
	case a.State == audit.ApprovalRejected && a.Decider != nil:
		state = st.Error.Render("rejected by " + termsafe.String(a.Decider.User))
	default:
		state = st.Dim.Render(state)
	}
	marker := "  "
	if sel {
		marker = "▸ "
	}
	head := fmt.Sprintf("#%-4d ", a.ID) + st.Bold.Render(termsafe.String(a.Command)) + " on " +
		st.Bold.Render(termsafe.String(a.VIN)) + " · " + who + " · " + state
	var out []string
	for i, l := range wrapText(head, w-2, 3) {
		if i == 0 {
			l = marker + l
			if sel {
				l = st.Selected.Render(pad(l, w))
			}
		} else {
			l = "        " + l
		}
		out = append(out, l)
	}
	indent := "        "
	for _, line := range wrapText("reason: "+termsafe.String(a.Reason), w-len(indent), 3) {
		out = append(out, indent+line)
	}
	f := l.facts[a.VIN]
	var live []string
	anyWarn := false
	for _, it := range []struct {
		name string
		v    liveValue
	}{{"speed", f.speed}, {"ignition", f.ignition}, {"location", f.location}} {
		text, warn := it.v.describe(f, it.name, now)
		anyWarn = anyWarn || warn
		live = append(live, it.name+" "+text)
	}
	for _, line := range wrapText("now: "+strings.Join(live, "; "), w-len(indent), 3) {
		if anyWarn {
			line = st.Warning.Render(line)
		}
		out = append(out, indent+line)
	}
	if a.Shown != "" {
		for _, line := range wrapText("the requester saw: "+termsafe.String(a.Shown), w-len(indent), 2) {
			out = append(out, indent+st.Dim.Render(line))
		}
	}
	return out
}

// content is the list's lines and where the selected request starts.
func (l *approvalsList) content() ([]string, int, int) {
	st := l.c.Styles
	w := max(l.w, 20)
	lines := wrapText(st.Header.Render("Approval requests")+st.Dim.Render(" · every operator's; a request expires after 10 min; nobody approves their own"), w, 3)
	selTop, selEnd := 0, 0
	d := l.desk
	switch {
	case d == nil || d.svc == nil:
		lines = append(lines, st.Dim.Render("  no approval desk: this console has no journal"))
	case d.err != "":
		lines = append(lines, "  "+st.Error.Render(truncate(d.err, w-2)))
	case len(d.list) == 0:
		lines = append(lines, st.Dim.Render("  no requests"))
	}
	if d != nil {
		if d.note != "" {
			style := st.OK
			if d.noteErr {
				style = st.Error
			}
			lines = append(lines, style.Render(truncate(d.note, w)))
		}
		for i, a := range d.list {
			if i == l.cur {
				selTop = len(lines)
			}
			lines = append(lines, l.block(a, i == l.cur, w)...)
			if i == l.cur {
				selEnd = len(lines)
			}
		}
	}
	lines = append(lines, "")
	lines = append(lines, wrapText(st.Header.Render("Immobilised vehicles")+st.Dim.Render(" · until an enable_ignition succeeds on them"), w, 2)...)
	vins := l.immob.vins()
	if len(vins) == 0 {
		lines = append(lines, st.Dim.Render("  none"))
	}
	now := l.c.Now()
	for _, v := range vins {
		im, _ := l.immob.get(v)
		line := "  " + st.Error.Render(immobilisedMark) + " " + st.Bold.Render(termsafe.String(v)) + " since " +
			l.c.localTime(im.since) + " (" + age(now, im.since) + ")"
		if im.by != "" {
			line += " by " + termsafe.String(im.by)
		}
		if im.reason != "" {
			line += ": " + termsafe.String(im.reason)
		}
		for i, l := range wrapText(line, w, 3) {
			if i > 0 {
				l = "    " + l
			}
			lines = append(lines, l)
		}
	}
	return lines, selTop, selEnd
}

// follow keeps the selected request in view.
func (l *approvalsList) follow() {
	_, top, end := l.content()
	if end-l.off > l.h {
		l.off = end - l.h
	}
	if top < l.off {
		l.off = top
	}
	l.off = max(l.off, 0)
}

func (l *approvalsList) View() string {
	lines, _, _ := l.content()
	off := clamp(l.off, 0, max(len(lines)-l.h, 0))
	return fit(strings.Join(lines[off:], "\n"), l.w, l.h)
}

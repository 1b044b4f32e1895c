package audit

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// Approval requests live in the journal like every other action, so every
// console, CLI and box on the journal sees the same ones: a request is an
// intent (ActionApprovalRequest, its Seq the request's id, its note the
// reason and what the requester saw) and each thing that happens to it is
// an outcome of that intent, written by whoever did it: the approval or
// rejection (another operator), the withdrawal (the requester), the use
// (the requester's command was accepted with it). Expiry is read from the
// times, not written: nobody is there to write it.

// The approval actions.
const (
	ActionApprovalRequest  Action = "approval.request"
	ActionApprovalApprove  Action = "approval.approve"
	ActionApprovalReject   Action = "approval.reject"
	ActionApprovalWithdraw Action = "approval.withdraw"
	ActionApprovalUse      Action = "approval.use"
)

// ApprovalDesk is the approval requests as one operator uses them: who asks
// is the desk's actor, so nobody approves their own request.
type ApprovalDesk struct {
	j     *Journal
	actor Actor
}

// Approvals is j's approval desk for actor.
func Approvals(j *Journal, actor Actor) *ApprovalDesk { return &ApprovalDesk{j: j, actor: actor} }

// Request asks a second operator to approve command on v. The note's
// reason is required.
func (d *ApprovalDesk) Request(ctx context.Context, v, command string, note Note) (Approval, error) {
	note = note.Clean()
	note.Request, note.Restart = 0, ""
	if note.Reason == "" {
		return Approval{}, fmt.Errorf("request approval of %s on %s: %w", clean(command, maxField), clean(v, maxField), ErrReasonRequired)
	}
	if strings.TrimSpace(command) == "" || strings.TrimSpace(v) == "" {
		return Approval{}, errors.New("request approval: a VIN and a command are required")
	}
	seq, err := d.j.intent(ctx, d.actor, ActionApprovalRequest, v, command, note, nil)
	if err != nil {
		return Approval{}, fmt.Errorf("request approval of %s on %s: %w", clean(command, maxField), clean(v, maxField), err)
	}
	return d.Approval(ctx, seq)
}

// Approval reads request id as it stands now.
func (d *ApprovalDesk) Approval(ctx context.Context, id int64) (Approval, error) {
	tx, err := d.j.st.BeginRead(ctx)
	if err != nil {
		return Approval{}, fmt.Errorf("read approval request %d: %w", id, err)
	}
	defer tx.Rollback()
	a, err := d.j.approval(ctx, tx, id)
	if err != nil {
		return Approval{}, fmt.Errorf("read approval request %d: %w", id, err)
	}
	a.Mine = SamePerson(a.Requester, d.actor)
	return a, nil
}

// Approvals lists the requests still open and those settled within the
// last ApprovalTTL, newest first.
func (d *ApprovalDesk) Approvals(ctx context.Context) ([]Approval, error) {
	list, err := d.j.approvals(ctx, d.j.now().Add(-2*ApprovalTTL))
	if err != nil {
		return nil, err
	}
	now := d.j.now()
	out := make([]Approval, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		a := list[i]
		if !a.Open() && now.Sub(a.settledAt()) > ApprovalTTL {
			continue
		}
		a.Mine = SamePerson(a.Requester, d.actor)
		out = append(out, a)
	}
	return out, nil
}

// Usable is this operator's approved, unused request for command on v, if
// there is one.
func (d *ApprovalDesk) Usable(ctx context.Context, v, command string) (Approval, bool, error) {
	list, err := d.Approvals(ctx)
	if err != nil {
		return Approval{}, false, err
	}
	for _, a := range list {
		if a.Mine && a.State == ApprovalApproved && a.VIN == vin.Normalize(v) && a.Command == command {
			return a, true, nil
		}
	}
	return Approval{}, false, nil
}

// Decide approves or rejects request id. The requester cannot; a request
// that is no longer pending (decided, withdrawn, expired) cannot be.
func (d *ApprovalDesk) Decide(ctx context.Context, id int64, approve bool) (Approval, error) {
	action, verb, out := ActionApprovalReject, "reject", "rejected by "+d.actor.clean().User
	if approve {
		action, verb, out = ActionApprovalApprove, "approve", "approved by "+d.actor.clean().User
	}
	err := d.settle(ctx, id, action, out, func(a Approval) error {
		switch {
		case SamePerson(a.Requester, d.actor):
			return ErrOwnRequest
		case a.State != ApprovalPending:
			return fmt.Errorf("%w: it is %s", ErrApprovalClosed, a.State)
		}
		return nil
	})
	if err != nil {
		return Approval{ID: id}, fmt.Errorf("%s request %d: %w", verb, id, err)
	}
	return d.Approval(ctx, id)
}

// Withdraw takes back this operator's own open request.
func (d *ApprovalDesk) Withdraw(ctx context.Context, id int64) (Approval, error) {
	err := d.settle(ctx, id, ActionApprovalWithdraw, "withdrawn", func(a Approval) error {
		switch {
		case !SamePerson(a.Requester, d.actor):
			return ErrNotRequester
		case !a.Open():
			return fmt.Errorf("%w: it is %s", ErrApprovalClosed, a.State)
		}
		return nil
	})
	if err != nil {
		return Approval{ID: id}, fmt.Errorf("withdraw request %d: %w", id, err)
	}
	return d.Approval(ctx, id)
}

// settle appends action as an outcome of request id, if allow (run under
// the writer lock, on the request as it stands) lets it: two operators
// deciding at once cannot both succeed.
func (d *ApprovalDesk) settle(ctx context.Context, id int64, action Action, out string, allow func(Approval) error) error {
	e := newEntry{actor: d.actor, action: action, phase: PhaseOutcome, ref: id, out: out}
	_, err := d.j.appendEntries(ctx, []newEntry{e}, func(ctx context.Context, tx *sql.Tx, es []newEntry) (bool, error) {
		a, err := d.j.approval(ctx, tx, id)
		if err != nil {
			return false, err
		}
		if err := allow(a); err != nil {
			return false, err
		}
		es[0].vin, es[0].command = a.VIN, a.Command
		return true, nil
	})
	return err
}

// useApproval checks, inside an intent's transaction, that request id is
// actor's approved and unexpired request for command on v.
func (j *Journal) useApproval(ctx context.Context, tx *sql.Tx, actor Actor, id int64, v, command string) error {
	a, err := j.approval(ctx, tx, id)
	switch {
	case errors.Is(err, ErrApprovalNotFound):
		return fmt.Errorf("%w: request %d does not exist", ErrApprovalRequired, id)
	case err != nil:
		return err
	case !SamePerson(a.Requester, actor):
		return fmt.Errorf("%w: request %d is %s's, not yours", ErrApprovalRequired, id, clean(a.Requester.User, maxField))
	case a.VIN != vin.Normalize(v) || a.Command != command:
		return fmt.Errorf("%w: request %d is for %s on %s", ErrApprovalRequired, id, a.Command, a.VIN)
	case a.State != ApprovalApproved:
		return fmt.Errorf("%w: request %d is %s", ErrApprovalRequired, id, a.State)
	}
	return nil
}

// markUsed records that request id carried out command (accepted as
// commandID): it cannot be used again.
func (j *Journal) markUsed(ctx context.Context, actor Actor, id int64, command, commandID string) error {
	e := newEntry{actor: actor, action: ActionApprovalUse, phase: PhaseOutcome, ref: id, out: "used: " + command + " id " + commandID}
	_, err := j.appendEntries(ctx, []newEntry{e}, func(ctx context.Context, tx *sql.Tx, es []newEntry) (bool, error) {
		a, err := j.approval(ctx, tx, id)
		if err != nil {
			return false, err
		}
		es[0].vin, es[0].command = a.VIN, a.Command
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("record the use of approval %d: %w", id, err)
	}
	return nil
}

// approval reads request id and what happened to it, in tx: the request
// by its seq, then its outcomes by the ref index (an OR of the two would
// make SQLite scan the table, under the writer lock).
func (j *Journal) approval(ctx context.Context, tx *sql.Tx, id int64) (Approval, error) {
	r, err := scanRow(tx.QueryRowContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE seq = ? AND phase = 'intent' AND action = ?"),
		id, string(ActionApprovalRequest)))
	if errors.Is(err, sql.ErrNoRows) {
		return Approval{}, ErrApprovalNotFound
	}
	if err != nil {
		return Approval{}, err
	}
	rec := Record{Entry: r.entry()}
	rows, err := tx.QueryContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE ref = ? AND phase = 'outcome'"), id)
	if err != nil {
		return Approval{}, err
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanRow(rows)
		if err != nil {
			return Approval{}, err
		}
		rec.Outcomes = append(rec.Outcomes, o.entry())
	}
	if err := rows.Err(); err != nil {
		return Approval{}, err
	}
	slices.SortFunc(rec.Outcomes, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	return approvalOf(rec, j.now()), nil
}

// approvals reads the requests made since since, oldest first: the
// requests by time (the at index), then what happened to them by
// reference (the ref index), in one snapshot.
func (j *Journal) approvals(ctx context.Context, since time.Time) ([]Approval, error) {
	tx, err := j.st.BeginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("list approval requests: %w", err)
	}
	defer tx.Rollback()
	// No ORDER BY: SQLite would rather scan the table in seq order than
	// read the indexes; the rows are put in order here.
	rows, err := tx.QueryContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE at >= ? AND action = ? AND phase = 'intent'"),
		since.UTC().Format(timeLayout), string(ActionApprovalRequest))
	if err != nil {
		return nil, fmt.Errorf("list approval requests: %w", err)
	}
	var recs []Record
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list approval requests: %w", err)
		}
		recs = append(recs, Record{Entry: r.entry()})
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list approval requests: %w", err)
	}
	slices.SortFunc(recs, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	index := make(map[int64]int, len(recs))
	for i, r := range recs {
		index[r.Seq] = i
	}
	var outcomes []Entry
	if len(recs) > 0 {
		rows, err = tx.QueryContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE ref >= ? AND phase = 'outcome' AND action IN (?, ?, ?, ?)"),
			recs[0].Seq, string(ActionApprovalApprove), string(ActionApprovalReject), string(ActionApprovalWithdraw), string(ActionApprovalUse))
		if err != nil {
			return nil, fmt.Errorf("list approval decisions: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRow(rows)
			if err != nil {
				return nil, fmt.Errorf("list approval decisions: %w", err)
			}
			outcomes = append(outcomes, r.entry())
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("list approval decisions: %w", err)
		}
	}
	slices.SortFunc(outcomes, func(a, b Entry) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, o := range outcomes {
		if i, ok := index[o.Ref]; ok {
			recs[i].Outcomes = append(recs[i].Outcomes, o)
		}
	}
	now := j.now()
	out := make([]Approval, len(recs))
	for i, r := range recs {
		out[i] = approvalOf(r, now)
	}
	return out, nil
}

// approvalOf reads a request record: the intent, then its outcomes in
// order, then the clock for expiry.
func approvalOf(r Record, now time.Time) Approval {
	a := Approval{ID: r.Seq, VIN: r.VIN, Command: r.Command, Requester: r.Actor, At: r.At, State: ApprovalPending}
	if n, ok := r.Note(); ok {
		a.Reason, a.Shown = n.Reason, n.Shown
	}
	for _, o := range r.Outcomes {
		switch o.Action {
		case ActionApprovalApprove, ActionApprovalReject:
			if a.State != ApprovalPending {
				continue
			}
			who := o.Actor
			a.Decider, a.DecidedAt = &who, o.At
			a.State = ApprovalRejected
			if o.Action == ActionApprovalApprove {
				a.State = ApprovalApproved
			}
		case ActionApprovalWithdraw:
			if a.Open() {
				a.State, a.DecidedAt = ApprovalWithdrawn, o.At
			}
		case ActionApprovalUse:
			if a.State == ApprovalApproved {
				a.State = ApprovalUsed
				if _, id, ok := strings.Cut(o.Outcome, " id "); ok {
					a.UsedFor = termsafe.String(id)
				}
			}
		}
	}
	if a.Open() && !now.Before(a.Expires()) {
		a.State = ApprovalExpired
	}
	return a
}

// settledAt is when a request stopped being open (for listing the recent
// ones): its decision, or its expiry.
func (a Approval) settledAt() time.Time {
	switch {
	case a.State == ApprovalExpired && a.DecidedAt.IsZero():
		return a.At.Add(ApprovalTTL)
	case a.State == ApprovalExpired:
		return a.DecidedAt.Add(ApprovalTTL)
	}
	return a.DecidedAt
}

// String names a request in an error or a line of output.
func (a Approval) String() string {
	return "request " + strconv.FormatInt(a.ID, 10) + " (" + a.Command + " on " + a.VIN + ")"
}

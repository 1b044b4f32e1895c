package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/vin"
)

// OutcomeUnknown is what a record without an outcome says: the process
// stopped between the request and its answer, so nobody knows whether the
// action took effect.
const OutcomeUnknown = "outcome unknown"

// Record is an intent with the outcomes that answer it, in order: the
// request's own answer and, for an accepted command, its final status.
type Record struct {
	Entry            // the intent
	Outcomes []Entry `json:"outcomes"`
}

// Known reports whether the request's answer was recorded. An approval
// request has no answer of its own: it waits for a second operator, which
// is nothing unknown.
func (r Record) Known() bool { return len(r.Outcomes) > 0 || r.Action == ActionApprovalRequest }

// AcceptedID is the id the command got when it was accepted, or "" (the
// intent's own CommandID is always empty).
func (r Record) AcceptedID() string {
	for _, o := range r.Outcomes {
		if o.CommandID != "" {
			return o.CommandID
		}
	}
	return ""
}

// Final is the final status entry of an accepted command, if recorded.
func (r Record) Final() (Entry, bool) {
	for _, o := range r.Outcomes {
		if o.Action == ActionCommandStatus {
			return o, true
		}
	}
	return Entry{}, false
}

// AwaitsFinal reports an accepted command whose final status is not
// recorded: it is still running, or the process following it stopped.
func (r Record) AwaitsFinal() bool {
	if r.AcceptedID() == "" {
		return false
	}
	_, ok := r.Final()
	return !ok
}

// Result is the outcome as one line: OutcomeUnknown when none was recorded,
// else the outcomes in order, with "final status unknown" for an accepted
// command that has none.
func (r Record) Result() string {
	if r.Action == ActionApprovalRequest && len(r.Outcomes) == 0 {
		return "awaiting a second operator (a request expires after " + shortTTL() + ")"
	}
	if !r.Known() {
		return OutcomeUnknown
	}
	parts := make([]string, 0, len(r.Outcomes)+1)
	for _, o := range r.Outcomes {
		parts = append(parts, o.Outcome)
	}
	if r.AwaitsFinal() {
		parts = append(parts, "final status unknown")
	}
	return strings.Join(parts, "; ")
}

// Filter narrows List. Zero fields are left out.
type Filter struct {
	Since time.Time // intents at or after
	VIN   string
	Limit int // the newest Limit records; 0 means all
}

const entryColumns = `seq, at, actor_kind, actor_user, actor_key, actor_role, action, vin, command, command_id, phase, ref, outcome, prev_hash, hash, signer, sig, detail`

type scanner interface{ Scan(dest ...any) error }

func scanRow(s scanner) (row, error) {
	var r row
	err := s.Scan(&r.seq, &r.at, &r.kind, &r.user, &r.key, &r.role, &r.action, &r.vin, &r.command,
		&r.commandID, &r.phase, &r.ref, &r.outcome, &r.prevHash, &r.hash, &r.signer, &r.sig, &r.detail)
	return r, err
}

// List returns the records f selects, oldest first.
func (j *Journal) List(ctx context.Context, f Filter) ([]Record, error) {
	where := []string{"phase = 'intent'"}
	var args []any
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, f.Since.UTC().Format(timeLayout))
	}
	if f.VIN != "" {
		where = append(where, "vin = ?")
		args = append(args, vin.Normalize(f.VIN))
	}
	intents := "SELECT seq FROM entries WHERE " + strings.Join(where, " AND ") + " ORDER BY seq DESC"
	if f.Limit > 0 {
		intents += " LIMIT ?"
		args = append(args, f.Limit)
	}

	// One read transaction: intents and outcomes from the same snapshot.
	tx, err := j.st.BeginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE seq IN ("+intents+") ORDER BY seq"), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	var recs []Record
	index := map[int64]int{}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("list audit entries: %w", err)
		}
		index[r.seq] = len(recs)
		recs = append(recs, Record{Entry: r.entry()})
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	rows, err = tx.QueryContext(ctx, j.q("SELECT "+entryColumns+" FROM entries WHERE ref IN ("+intents+") AND phase = 'outcome' ORDER BY seq"), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit outcomes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit outcomes: %w", err)
		}
		if i, ok := index[r.ref]; ok {
			recs[i].Outcomes = append(recs[i].Outcomes, r.entry())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit outcomes: %w", err)
	}
	return recs, nil
}

// Recent returns the newest n records, oldest first (for the command
// panel).
func (j *Journal) Recent(ctx context.Context, n int) ([]Record, error) {
	if n <= 0 {
		return nil, nil
	}
	return j.List(ctx, Filter{Limit: n})
}

// Pending is an accepted command whose final status is not recorded.
type Pending struct {
	IntentSeq int64 // the send or confirm intent that registered it
	CommandID string
	VIN       string
	Command   string
	Actor     Actor // who sent it
	At        time.Time
}

// Unfinished returns the accepted commands without a final status, oldest
// first: at start, these are followed again (Resume).
func (j *Journal) Unfinished(ctx context.Context) ([]Pending, error) {
	rows, err := j.db.QueryContext(ctx, `
		SELECT o.ref, o.command_id, i.vin, i.command, i.actor_kind, i.actor_user, i.actor_key, i.actor_role, i.at
		FROM entries o JOIN entries i ON i.seq = o.ref
		WHERE o.phase = 'outcome' AND o.command_id <> '' AND o.action <> 'command.status'
		  AND NOT EXISTS (SELECT 1 FROM entries s WHERE s.command_id = o.command_id AND s.action = 'command.status')
		ORDER BY o.seq`)
	if err != nil {
		return nil, fmt.Errorf("list unfinished commands: %w", err)
	}
	defer rows.Close()
	var out []Pending
	seen := map[string]bool{}
	for rows.Next() {
		var p Pending
		var at string
		if err := rows.Scan(&p.IntentSeq, &p.CommandID, &p.VIN, &p.Command, &p.Actor.Kind, &p.Actor.User,
			&p.Actor.KeyFingerprint, &p.Actor.Role, &at); err != nil {
			return nil, fmt.Errorf("list unfinished commands: %w", err)
		}
		if seen[p.CommandID] {
			continue
		}
		seen[p.CommandID] = true
		p.At, _ = time.Parse(timeLayout, at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list unfinished commands: %w", err)
	}
	return out, nil
}

func shortTTL() string { return strconv.Itoa(int(ApprovalTTL/time.Minute)) + " min" }

package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// VerifyReport is what Verify found.
type VerifyReport struct {
	Entries  int    `json:"entries"`
	OK       bool   `json:"ok"`
	FirstBad int64  `json:"first_bad,omitempty"` // the Seq of the first entry that fails; 0 when OK
	Reason   string `json:"reason,omitempty"`
}

// Verify recomputes every entry's hash and link and checks that Seqs run
// from 1 without a gap up to the head the journal recorded last. It names
// the first bad entry: an edited row fails its own hash, a deleted one
// leaves a gap, a rewritten-and-rehashed one breaks the link of the next,
// and reordering changes Seqs, which the hashes cover. The error is only
// for failing to read the journal; a broken chain is a report with OK false.
func (j *Journal) Verify(ctx context.Context) (VerifyReport, error) {
	tx, err := j.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT "+entryColumns+" FROM entries ORDER BY seq")
	if err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	defer rows.Close()
	rep := VerifyReport{OK: true}
	fail := func(seq int64, format string, args ...any) {
		if rep.OK {
			rep.OK, rep.FirstBad, rep.Reason = false, seq, fmt.Sprintf(format, args...)
		}
	}
	var prev row // zero before the first entry: Seq 0, hash ""
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return VerifyReport{}, fmt.Errorf("verify audit journal: entry after %d: %w", prev.seq, err)
		}
		rep.Entries++
		if !rep.OK {
			continue // count the rest; the first failure is the one named
		}
		switch want := prev.seq + 1; {
		case r.seq != want && prev.seq == 0:
			fail(want, "entry %d is missing: the journal starts at entry %d", want, r.seq)
		case r.seq != want:
			fail(want, "entry %d is missing: entry %d follows entry %d", want, r.seq, prev.seq)
		case r.computeHash() != r.hash:
			fail(r.seq, "entry %d was altered: its content does not match its hash", r.seq)
		case r.prevHash != prev.hash && prev.seq == 0:
			fail(r.seq, "entry %d was altered: the first entry links to a predecessor", r.seq)
		case r.prevHash != prev.hash:
			// Both rows hash right, so one was rewritten with a fresh hash:
			// the earlier, since content is what a forger wants to change.
			fail(prev.seq, "entry %d was rewritten: entry %d links to a different entry %d", prev.seq, r.seq, prev.seq)
		}
		prev = r
	}
	if err := rows.Err(); err != nil {
		return VerifyReport{}, fmt.Errorf("verify audit journal: %w", err)
	}
	if !rep.OK {
		return rep, nil
	}
	var head row
	err = tx.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&head.seq, &head.hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if prev.seq != 0 {
			fail(prev.seq+1, "the journal's head record is missing: entries after %d may have been deleted", prev.seq)
		}
	case err != nil:
		return VerifyReport{}, fmt.Errorf("verify audit journal: head: %w", err)
	case head.seq > prev.seq:
		fail(prev.seq+1, "entries %d to %d are missing: the journal's head records entry %d", prev.seq+1, head.seq, head.seq)
	case head.seq < prev.seq:
		fail(head.seq+1, "entries after %d are not in the journal's head: appended outside fleetdeck", head.seq)
	case head.hash != prev.hash:
		fail(prev.seq, "entry %d was rewritten: it does not match the journal's head", prev.seq)
	}
	return rep, nil
}

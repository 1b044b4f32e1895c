package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// maxFinalDetail bounds the error detail kept with a final status.
const maxFinalDetail = 200

// finalText is a final status as the journal keeps it. A successful
// command's detail is vehicle data (a location, say): it is not an outcome
// and stays out of the journal.
func finalText(c commands.Command) string {
	if c.Status == commands.StatusError {
		if d := c.DetailText(); d != "" {
			return "Error: " + termsafe.Clip(d, maxFinalDetail)
		}
		return "Error"
	}
	return string(c.Status)
}

// FinalStatus records the final status of command c (Success or Error) as
// an outcome of the intent that registered it. It writes once per command
// id, however many processes see the end, and only for commands the
// journal knows; recorded says whether this call wrote it.
func (j *Journal) FinalStatus(ctx context.Context, actor Actor, c commands.Command) (recorded bool, err error) {
	if !c.Terminal() || c.ID == "" {
		return false, nil
	}
	es := []newEntry{{actor: actor, action: ActionCommandStatus, phase: PhaseOutcome, commandID: c.ID, out: finalText(c)}}
	seqs, err := j.appendEntries(ctx, es, func(ctx context.Context, tx *sql.Tx, es []newEntry) (bool, error) {
		var one int
		err := tx.QueryRowContext(ctx, j.q("SELECT 1 FROM entries WHERE command_id = ? AND action = 'command.status' LIMIT 1"), c.ID).Scan(&one)
		if err == nil {
			return false, nil // already recorded
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, err
		}
		err = tx.QueryRowContext(ctx, j.q(`SELECT i.seq, i.vin, i.command FROM entries o JOIN entries i ON i.seq = o.ref
			WHERE o.command_id = ? AND o.phase = 'outcome' ORDER BY o.seq DESC LIMIT 1`), c.ID).
			Scan(&es[0].ref, &es[0].vin, &es[0].command)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil // not sent through the journal
		}
		return err == nil, err
	})
	if err != nil {
		return false, fmt.Errorf("record final status of command %s: %w", clean(c.ID, maxField), err)
	}
	return len(seqs) > 0, nil
}

// FollowFunc follows one command to its end (Success or Error).
// (*commands.Client).Follow with a nil callback fits:
//
//	func(ctx context.Context, id string) (commands.Command, error) { return cc.Follow(ctx, id, nil) }
type FollowFunc func(ctx context.Context, id string) (commands.Command, error)

// resumeParallel bounds how many unfinished commands are followed at once:
// each polls the API, and the documents ask for restraint.
const resumeParallel = 4

// Resume follows every unfinished command again (after a restart, or a crash
// between a command's acceptance and its end) and records each final status
// as actor. It returns when all have ended, ctx is done, or following
// failed; the error joins the failures, and those commands stay unfinished
// for the next start.
func Resume(ctx context.Context, j *Journal, follow FollowFunc, actor Actor) error {
	pending, err := j.Unfinished(ctx)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	var g errgroup.Group
	g.SetLimit(resumeParallel)
	for _, p := range pending {
		g.Go(func() error {
			c, err := follow(ctx, p.CommandID)
			if err == nil && !c.Terminal() {
				err = fmt.Errorf("still %s", clean(string(c.Status), maxField))
			}
			if err == nil {
				if c.ID == "" {
					c.ID = p.CommandID
				}
				// The follow can end just as ctx does: record what it saw.
				wctx, cancel := afterTheFact(ctx)
				_, err = j.FinalStatus(wctx, actor, c)
				cancel()
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("resume command %s (%s on %s): %w", p.CommandID, p.Command, p.VIN, err))
				mu.Unlock()
			}
			return nil
		})
	}
	g.Wait()
	return errors.Join(errs...)
}

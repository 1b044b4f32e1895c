package audit

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
)

// Immobilised lists the vehicles whose latest successful ignition command
// was disable_ignition, longest immobilised first: the re-enable reminder
// every console shows, derived from the journal so that it survives
// restarts and is the same on every box.
func (j *Journal) Immobilised(ctx context.Context) ([]Immobilisation, error) {
	tx, err := j.st.BeginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("list immobilised vehicles: %w", err)
	}
	defer tx.Rollback()
	// The final statuses of ignition commands, with the intent that sent
	// each (who, and why). "command_id <> ''" lets the store read the
	// partial index of entries that name a command (every final status
	// does) instead of the whole journal; they are put in order here, since
	// an ORDER BY seq makes SQLite prefer a scan of the table.
	rows, err := tx.QueryContext(ctx, j.q(`
		SELECT s.seq, s.vin, s.command, s.at, s.command_id, i.actor_kind, i.actor_user, i.actor_key, i.actor_role, i.phase, i.detail
		FROM entries s JOIN entries i ON i.seq = s.ref
		WHERE s.command_id <> '' AND s.action = ? AND s.outcome = ? AND s.command IN ('disable_ignition', 'enable_ignition')`),
		string(ActionCommandStatus), string(commands.StatusSuccess))
	if err != nil {
		return nil, fmt.Errorf("list immobilised vehicles: %w", err)
	}
	defer rows.Close()
	type status struct {
		seq     int64
		command string
		im      Immobilisation
	}
	var all []status
	for rows.Next() {
		var st status
		var at, phase, detail string
		im := &st.im
		if err := rows.Scan(&st.seq, &im.VIN, &st.command, &at, &im.CommandID, &im.By.Kind, &im.By.User, &im.By.KeyFingerprint, &im.By.Role, &phase, &detail); err != nil {
			return nil, fmt.Errorf("list immobilised vehicles: %w", err)
		}
		im.Since, _ = time.Parse(timeLayout, at)
		if n, ok := (Entry{Phase: Phase(phase), Detail: decodeDetail(detail)}).Note(); ok {
			im.Reason = n.Reason
		}
		all = append(all, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list immobilised vehicles: %w", err)
	}
	slices.SortFunc(all, func(a, b status) int { return cmp.Compare(a.seq, b.seq) })
	latest := map[string]Immobilisation{}
	var order []string
	for _, st := range all {
		if st.command == "enable_ignition" {
			delete(latest, st.im.VIN)
			continue
		}
		if _, again := latest[st.im.VIN]; !again {
			order = append(order, st.im.VIN)
		}
		latest[st.im.VIN] = st.im
	}
	out := make([]Immobilisation, 0, len(latest))
	for _, v := range order {
		if im, ok := latest[v]; ok {
			out = append(out, im)
		}
	}
	slices.SortStableFunc(out, func(a, b Immobilisation) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// IssuedCodes lists when the platform issued confirmation codes since
// since, oldest first: the times only, since the journal never holds a
// code. The CLI explains a refused code from them.
func (j *Journal) IssuedCodes(ctx context.Context, since time.Time) ([]commands.IssuedCode, error) {
	rows, err := j.db.QueryContext(ctx, j.q(`SELECT vin, command, at FROM entries
		WHERE action = ? AND phase = 'outcome' AND outcome = 'confirmation issued' AND at >= ?`),
		string(ActionCommandConfirmation), since.UTC().Format(timeLayout))
	if err != nil {
		return nil, fmt.Errorf("list confirmation codes issued: %w", err)
	}
	defer rows.Close()
	var out []commands.IssuedCode
	for rows.Next() {
		var c commands.IssuedCode
		var at string
		if err := rows.Scan(&c.VIN, &c.Command, &at); err != nil {
			return nil, fmt.Errorf("list confirmation codes issued: %w", err)
		}
		c.At, _ = time.Parse(timeLayout, at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list confirmation codes issued: %w", err)
	}
	// By time: no ORDER BY, which would make SQLite scan the table rather
	// than read the at index.
	slices.SortStableFunc(out, func(a, b commands.IssuedCode) int { return a.At.Compare(b.At) })
	return out, nil
}

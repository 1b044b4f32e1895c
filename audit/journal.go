// Package audit is fleetdeck's durable journal of every mutating action:
// clearance added or revoked, commands sent, confirmed and finished. Each
// entry says who, when (UTC), what (VIN and command, never a code, token or
// secret) and the outcome. An intent is written before the request and its
// outcome after it, so a crash in between leaves an intent with no outcome:
// "outcome unknown". Every entry carries the hash of the one before it, so
// Verify can prove the chain unbroken and name the first entry that is not;
// with a signing key, each entry's hash is also signed (Ed25519), so a
// forger without the key cannot rewrite the chain and re-hash it.
//
// The journal lives in a Store: one SQLite file (modernc.org/sqlite, pure
// Go) in WAL mode, shared by every fleetdeck process on the machine, or a
// PostgreSQL database shared by every ops box that reaches it. Either way
// the console, CLI calls and SSH servers append to one chain.
package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/vin"
)

// outcomeTimeout bounds an outcome write made after the caller's context
// ended: the request went out, so its outcome must still be recorded.
const outcomeTimeout = 5 * time.Second

// ErrSchema is returned by Open for a journal written by a newer fleetdeck.
var ErrSchema = errors.New("audit journal has a newer schema")

// Journal is an open audit journal. It is safe for concurrent use, and
// several processes (on several machines, with PostgreSQL) may share its
// store.
type Journal struct {
	st     Store
	db     *sql.DB
	log    *slog.Logger
	now    func() time.Time
	signer *Signer
	// mu serializes this process's appends: SQLite's busy handler polls with
	// sleeps, so contention inside one process is cheaper resolved here.
	// Other processes are serialized by the store's writer lock.
	mu sync.Mutex

	changes *hub
}

// Option configures Open.
type Option func(*Journal)

// WithLogger logs outcome writes that failed after the action ran (the
// action's result still reaches the caller). Nil means discard.
func WithLogger(l *slog.Logger) Option {
	return func(j *Journal) {
		if l != nil {
			j.log = l
		}
	}
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option {
	return func(j *Journal) {
		if now != nil {
			j.now = now
		}
	}
}

// WithSigner signs every entry this process appends (see Signer).
func WithSigner(s *Signer) Option {
	return func(j *Journal) { j.signer = s }
}

// Open opens the SQLite journal at path, creating it (directory 0700, file
// 0600) and its schema when missing.
func Open(path string, opts ...Option) (*Journal, error) {
	st, err := OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	return New(st, opts...), nil
}

// New is a journal on st; Close closes st.
func New(st Store, opts ...Option) *Journal {
	j := &Journal{st: st, db: st.DB(), log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(j)
	}
	j.changes = newHub(st.Watch)
	return j
}

// Name says which journal this is: its file, or its DSN without secrets.
func (j *Journal) Name() string { return j.st.Name() }

// Store is the journal's storage.
func (j *Journal) Store() Store { return j.st }

// Close stops watching for changes and closes the store.
func (j *Journal) Close() error {
	j.changes.close()
	return j.st.Close()
}

// q rewrites a query for the store's placeholders.
func (j *Journal) q(query string) string { return j.st.Rebind(query) }

// newEntry is what a caller adds; the journal assigns the rest.
type newEntry struct {
	actor                        Actor
	action                       Action
	vin, command, commandID, out string
	phase                        Phase
	ref                          int64
	detail                       map[string]string
}

// prepare is run inside the append transaction before anything is written.
// It may fill in entries from the journal (an outcome's action from its
// intent) or drop them all (keep=false: nothing to write).
type prepare func(ctx context.Context, tx *sql.Tx, es []newEntry) (keep bool, err error)

// appendEntries writes es as consecutive entries of the chain in one
// transaction and returns their Seqs (nil when prep dropped them).
func (j *Journal) appendEntries(ctx context.Context, es []newEntry, prep prepare) ([]int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	tx, err := j.st.BeginAppend(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if prep != nil {
		keep, err := prep(ctx, tx, es)
		if err != nil || !keep {
			return nil, err
		}
	}
	seq, prev, err := j.chainHead(ctx, tx)
	if err != nil {
		return nil, err
	}
	at := j.now().UTC().Format(timeLayout)
	rows := make([]row, 0, len(es))
	seqs := make([]int64, 0, len(es))
	for _, e := range es {
		seq++
		a := e.actor.clean()
		r := row{
			seq: seq, at: at, kind: a.Kind, user: a.User, key: a.KeyFingerprint, role: a.Role,
			action: string(e.action), vin: clean(e.vin, maxField), command: clean(e.command, maxField),
			commandID: clean(e.commandID, maxField), phase: string(e.phase), ref: e.ref,
			outcome: clean(e.out, maxOutcome), prevHash: prev, detail: encodeDetail(e.detail),
		}
		r.hash = r.computeHash()
		j.signer.sign(&r)
		prev = r.hash
		rows = append(rows, r)
		seqs = append(seqs, seq)
	}
	if err := j.insertRows(ctx, tx, rows); err != nil {
		return nil, err
	}
	if err := j.st.Announced(ctx, tx, seq); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	j.changes.notify()
	return seqs, nil
}

// insertRows writes rows as they are (hashes and signatures included) and
// moves the head to the last.
func (j *Journal) insertRows(ctx context.Context, tx *sql.Tx, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	insert := j.q(`INSERT INTO entries (` + entryColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	exec := func(ctx context.Context, args ...any) (sql.Result, error) {
		return tx.ExecContext(ctx, insert, args...)
	}
	if len(rows) > 1 {
		// A batch (a file of vehicles, a migration) reuses one statement;
		// one entry is cheaper without the extra round trips.
		ins, err := tx.PrepareContext(ctx, insert)
		if err != nil {
			return err
		}
		defer ins.Close()
		exec = ins.ExecContext
	}
	for _, r := range rows {
		if _, err := exec(ctx, r.seq, r.at, r.kind, r.user, r.key, r.role, r.action, r.vin,
			r.command, r.commandID, r.phase, r.ref, r.outcome, r.prevHash, r.hash, r.signer, r.sig, r.detail); err != nil {
			return err
		}
	}
	last := rows[len(rows)-1]
	_, err := tx.ExecContext(ctx, j.q(`INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`), last.seq, last.hash)
	return err
}

// chainHead returns the Seq and hash the next entry follows. The head row is
// preferred over the last entry so that entries deleted from the end leave
// a gap Verify reports instead of being silently chained over. One query:
// each round trip is paid while holding the writer lock.
func (j *Journal) chainHead(ctx context.Context, tx *sql.Tx) (int64, string, error) {
	var lastSeq, headSeq sql.NullInt64
	var lastHash, headHash sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT e.seq, e.hash, h.seq, h.hash
		FROM (SELECT 1 AS one) AS o
		LEFT JOIN (SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1) AS e ON 1 = 1
		LEFT JOIN head AS h ON h.id = 1`).Scan(&lastSeq, &lastHash, &headSeq, &headHash)
	if err != nil {
		return 0, "", fmt.Errorf("read the chain's head: %w", err)
	}
	if headSeq.Int64 > lastSeq.Int64 {
		return headSeq.Int64, headHash.String, nil
	}
	return lastSeq.Int64, lastHash.String, nil
}

// Head is the journal's last entry as its head record witnesses it.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// readHead reads the head record; the zero Head when there is none.
func readHead(ctx context.Context, tx *sql.Tx) (Head, error) {
	var h Head
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	return h, err
}

// Intent records that actor is about to do action on VIN v (command: the
// command's name, or for clearance a short description such as the brand)
// and returns its Seq for Outcome. Call it before the request: when it
// fails, do not send.
func (j *Journal) Intent(ctx context.Context, actor Actor, action Action, v, command string) (int64, error) {
	return j.IntentDetail(ctx, actor, action, v, command, nil)
}

// IntentDetail is Intent with facts beyond the fixed fields (Entry.Detail):
// the reason an operator gave, the speed the console showed, a request's
// expiry. New kinds of entry (a four-eyes request, say) are new Actions
// written this way; their answers (approved, rejected, expired) are
// outcomes of the request (OutcomeDetail).
func (j *Journal) IntentDetail(ctx context.Context, actor Actor, action Action, v, command string, detail map[string]string) (int64, error) {
	seqs, err := j.appendEntries(ctx, []newEntry{{actor: actor, action: action, vin: vin.Normalize(v), command: command, phase: PhaseIntent, detail: detail}}, nil)
	if err != nil {
		return 0, fmt.Errorf("record intent %s %s: %w", action, clean(v, maxField), err)
	}
	return seqs[0], nil
}

// intents records one intent per VIN in one transaction (a batch of
// clearance requests is one request).
func (j *Journal) intents(ctx context.Context, actor Actor, action Action, vins, what []string) ([]int64, error) {
	es := make([]newEntry, len(vins))
	for i, v := range vins {
		es[i] = newEntry{actor: actor, action: action, vin: vin.Normalize(v), command: what[i], phase: PhaseIntent}
	}
	seqs, err := j.appendEntries(ctx, es, nil)
	if err != nil {
		return nil, fmt.Errorf("record intent %s of %d vehicles: %w", action, len(vins), err)
	}
	return seqs, nil
}

// Outcome records how the intent intentSeq ended: outcome is the result as
// text (sanitized; never pass a code or secret), commandID the id of an
// accepted command ("" otherwise). The entry takes its action, VIN and
// command from the intent.
func (j *Journal) Outcome(ctx context.Context, actor Actor, intentSeq int64, outcome, commandID string) error {
	return j.outcomes(ctx, actor, []int64{intentSeq}, []string{outcome}, []string{commandID}, nil)
}

// OutcomeDetail is Outcome with facts beyond the fixed fields (see
// IntentDetail): who approved, what the vehicle did.
func (j *Journal) OutcomeDetail(ctx context.Context, actor Actor, intentSeq int64, outcome, commandID string, detail map[string]string) error {
	return j.outcomes(ctx, actor, []int64{intentSeq}, []string{outcome}, []string{commandID}, detail)
}

func (j *Journal) outcomes(ctx context.Context, actor Actor, refs []int64, outs, ids []string, detail map[string]string) error {
	es := make([]newEntry, len(refs))
	for i, ref := range refs {
		es[i] = newEntry{actor: actor, phase: PhaseOutcome, ref: ref, out: outs[i], commandID: ids[i], detail: detail}
	}
	_, err := j.appendEntries(ctx, es, func(ctx context.Context, tx *sql.Tx, es []newEntry) (bool, error) {
		for i := range es {
			var action, phase string
			err := tx.QueryRowContext(ctx, j.q("SELECT action, phase, vin, command FROM entries WHERE seq = ?"), es[i].ref).
				Scan(&action, &phase, &es[i].vin, &es[i].command)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && phase != string(PhaseIntent)) {
				return false, fmt.Errorf("entry %d is not an intent", es[i].ref)
			}
			if err != nil {
				return false, err
			}
			es[i].action = Action(action)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("record outcome of entry %d: %w", refs[0], err)
	}
	return nil
}

// afterTheFact returns a context for writing an outcome once the request has
// gone: the caller's may already be cancelled, and the outcome still counts.
func afterTheFact(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), outcomeTimeout)
}

// OpenConfig opens the journal the [audit] section names: PostgreSQL when
// dsn is set, else the SQLite file at path. Entries are signed with the key
// at keyPath (generated there on first use), unless keyPath is "".
func OpenConfig(ctx context.Context, a config.Audit, keyPath string, opts ...Option) (*Journal, error) {
	if keyPath != "" {
		s, err := LoadOrCreateKey(keyPath)
		if err != nil {
			return nil, err
		}
		opts = append([]Option{WithSigner(s)}, opts...)
	}
	if a.DSN == "" {
		return Open(a.Path, opts...)
	}
	pw, err := a.Password()
	if err != nil {
		return nil, err
	}
	st, err := OpenPostgres(ctx, a.DSN, pw)
	if err != nil {
		return nil, err
	}
	return New(st, opts...), nil
}

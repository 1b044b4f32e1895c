// Package audit is fleetdeck's durable journal of every mutating action:
// clearance added or revoked, commands sent, confirmed and finished. Each
// entry says who, when (UTC), what (VIN and command, never a code, token or
// secret) and the outcome. An intent is written before the request and its
// outcome after it, so a crash in between leaves an intent with no outcome:
// "outcome unknown". Every entry carries the hash of the one before it, so
// Verify can prove the chain unbroken and name the first entry that is not.
//
// The journal is one SQLite file (modernc.org/sqlite, pure Go) in WAL mode,
// shared safely by every fleetdeck process on the machine: the console, CLI
// calls and an SSH server append to one chain.
package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/fleetdeck/fleetdeck/vin"
)

// schemaVersion is PRAGMA user_version of a journal this code writes.
const schemaVersion = 1

// busyTimeout is how long a write waits for another process's write. Appends
// take milliseconds; this only matters when many processes append at once.
const busyTimeout = 10 * time.Second

// outcomeTimeout bounds an outcome write made after the caller's context
// ended: the request went out, so its outcome must still be recorded.
const outcomeTimeout = 5 * time.Second

// ErrSchema is returned by Open for a journal written by a newer fleetdeck.
var ErrSchema = errors.New("audit journal has a newer schema")

// Journal is an open audit journal. It is safe for concurrent use, and
// several processes may open the same file.
type Journal struct {
	db   *sql.DB
	path string
	log  *slog.Logger
	now  func() time.Time
	// mu serializes this process's appends: SQLite's busy handler polls with
	// sleeps, so contention inside one process is cheaper resolved here.
	// Other processes are serialized by BEGIN IMMEDIATE and busy_timeout.
	mu sync.Mutex
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

// Open opens the journal at path, creating it (directory 0700, file 0600)
// and its schema when missing.
func Open(path string, opts ...Option) (*Journal, error) {
	if path == "" {
		return nil, errors.New("open audit journal: no path")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver would read what follows as connection parameters.
		return nil, fmt.Errorf("open audit journal %s: the path must not contain ? or #", path)
	}
	j := &Journal{path: path, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(j)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open audit journal: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open audit journal: %w", err)
	}
	// synchronous=FULL: an intent must be on disk before its request leaves,
	// even across a power loss (NORMAL in WAL mode only survives a crash of
	// the process). SQLite creates the -wal and -shm files with the main
	// file's permissions, so they are 0600 too.
	dsn := path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open audit journal %s: %w", path, err)
	}
	db.SetMaxIdleConns(2)
	j.db = db
	if err := j.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open audit journal %s: %w", path, err)
	}
	return j, nil
}

// createPrivate creates path 0600 if it does not exist, and takes group and
// other access away from an existing file: the journal lists the fleet.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return fmt.Errorf("%s is readable by others and cannot be restricted: %w", path, err)
		}
	}
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Close closes the database.
func (j *Journal) Close() error {
	return j.db.Close()
}

const schema = `
CREATE TABLE entries (
	seq        INTEGER PRIMARY KEY,
	at         TEXT    NOT NULL,
	actor_kind TEXT    NOT NULL,
	actor_user TEXT    NOT NULL,
	actor_key  TEXT    NOT NULL,
	actor_role TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	vin        TEXT    NOT NULL,
	command    TEXT    NOT NULL,
	command_id TEXT    NOT NULL,
	phase      TEXT    NOT NULL,
	ref        INTEGER NOT NULL,
	outcome    TEXT    NOT NULL,
	prev_hash  TEXT    NOT NULL,
	hash       TEXT    NOT NULL
);
CREATE INDEX entries_at  ON entries(at);
CREATE INDEX entries_vin ON entries(vin);
CREATE INDEX entries_ref ON entries(ref) WHERE ref > 0;
CREATE INDEX entries_command_id ON entries(command_id) WHERE command_id <> '';
-- The head witnesses the last entry, so a deleted tail is a gap too.
CREATE TABLE head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT    NOT NULL
);
-- Append-only: stops accidents; deliberate edits are what Verify is for.
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
	BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
	BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
`

func (j *Journal) migrate(ctx context.Context) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	switch {
	case v == schemaVersion:
		return nil
	case v > schemaVersion:
		return fmt.Errorf("%w (version %d; this fleetdeck knows %d)", ErrSchema, v, schemaVersion)
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(schemaVersion)); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	return tx.Commit()
}

// newEntry is what a caller adds; the journal assigns the rest.
type newEntry struct {
	actor                        Actor
	action                       Action
	vin, command, commandID, out string
	phase                        Phase
	ref                          int64
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
	tx, err := j.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): one writer across processes
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
	seq, prev, err := chainHead(ctx, tx)
	if err != nil {
		return nil, err
	}
	at := j.now().UTC().Format(timeLayout)
	ins, err := tx.PrepareContext(ctx, `INSERT INTO entries
		(seq, at, actor_kind, actor_user, actor_key, actor_role, action, vin, command, command_id, phase, ref, outcome, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	defer ins.Close()
	seqs := make([]int64, 0, len(es))
	for _, e := range es {
		seq++
		a := e.actor.clean()
		r := row{
			seq: seq, at: at, kind: a.Kind, user: a.User, key: a.KeyFingerprint, role: a.Role,
			action: string(e.action), vin: clean(e.vin, maxField), command: clean(e.command, maxField),
			commandID: clean(e.commandID, maxField), phase: string(e.phase), ref: e.ref,
			outcome: clean(e.out, maxOutcome), prevHash: prev,
		}
		r.hash = r.computeHash()
		if _, err := ins.ExecContext(ctx, r.seq, r.at, r.kind, r.user, r.key, r.role, r.action, r.vin,
			r.command, r.commandID, r.phase, r.ref, r.outcome, r.prevHash, r.hash); err != nil {
			return nil, err
		}
		prev = r.hash
		seqs = append(seqs, seq)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, seq, prev); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return seqs, nil
}

// chainHead returns the Seq and hash the next entry follows. The head row is
// preferred over the last entry so that entries deleted from the end leave
// a gap Verify reports instead of being silently chained over.
func chainHead(ctx context.Context, tx *sql.Tx) (int64, string, error) {
	var lastSeq int64
	var lastHash string
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").Scan(&lastSeq, &lastHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("read the chain's head: %w", err)
	}
	var headSeq int64
	var headHash string
	err = tx.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&headSeq, &headHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("read the chain's head: %w", err)
	}
	if headSeq > lastSeq {
		return headSeq, headHash, nil
	}
	return lastSeq, lastHash, nil
}

// Intent records that actor is about to do action on VIN v (command: the
// command's name, or for clearance a short description such as the brand)
// and returns its Seq for Outcome. Call it before the request: when it
// fails, do not send.
func (j *Journal) Intent(ctx context.Context, actor Actor, action Action, v, command string) (int64, error) {
	seqs, err := j.appendEntries(ctx, []newEntry{{actor: actor, action: action, vin: vin.Normalize(v), command: command, phase: PhaseIntent}}, nil)
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
	return j.outcomes(ctx, actor, []int64{intentSeq}, []string{outcome}, []string{commandID})
}

func (j *Journal) outcomes(ctx context.Context, actor Actor, refs []int64, outs, ids []string) error {
	es := make([]newEntry, len(refs))
	for i, ref := range refs {
		es[i] = newEntry{actor: actor, phase: PhaseOutcome, ref: ref, out: outs[i], commandID: ids[i]}
	}
	_, err := j.appendEntries(ctx, es, func(ctx context.Context, tx *sql.Tx, es []newEntry) (bool, error) {
		for i := range es {
			var action, phase string
			err := tx.QueryRowContext(ctx, "SELECT action, phase, vin, command FROM entries WHERE seq = ?", es[i].ref).
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

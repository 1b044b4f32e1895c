package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a write waits for another process's write. Appends
// take milliseconds; this only matters when many processes append at once.
const busyTimeout = 10 * time.Second

// sqliteWatchEvery is how often a SQLite journal looks for appends made by
// other processes (SQLite has no notifications across processes).
const sqliteWatchEvery = time.Second

// sqliteMigrations is the SQLite schema; PRAGMA user_version is its version.
var sqliteMigrations = []migration{
	{1, `
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
`},
	// Signatures: who signed (the key's fingerprint) and the Ed25519
	// signature of the entry's hash. Entries written before stay unsigned.
	{2, `
ALTER TABLE entries ADD COLUMN signer TEXT NOT NULL DEFAULT '';
ALTER TABLE entries ADD COLUMN sig    TEXT NOT NULL DEFAULT '';
`},
	// Detail: facts an entry carries beyond its fixed fields (Entry.Detail).
	{3, `
ALTER TABLE entries ADD COLUMN detail TEXT NOT NULL DEFAULT '';
`},
}

// sqliteStore is a journal in one SQLite file (modernc.org/sqlite, pure Go)
// in WAL mode, shared by every fleetdeck process on the machine.
type sqliteStore struct {
	db   *sql.DB
	path string
}

// OpenSQLite opens the SQLite journal at path, creating it (directory 0700,
// file 0600) and migrating its schema.
func OpenSQLite(path string) (Store, error) {
	if path == "" {
		return nil, errors.New("open audit journal: no path")
	}
	if strings.ContainsAny(path, "?#") {
		// The driver would read what follows as connection parameters.
		return nil, fmt.Errorf("open audit journal %s: the path must not contain ? or #", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open audit journal: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("open audit journal: %w", err)
	}
	// _txlock=immediate: every transaction this handle begins takes the
	// write lock at BEGIN (reads use BeginRead, which never writes, and
	// SQLite lets them proceed beside a writer in WAL mode).
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
	s := &sqliteStore{db: db, path: path}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open audit journal %s: %w", path, err)
	}
	return s, nil
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

func (s *sqliteStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil) // immediate: two processes starting at once take turns
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	v, err = migrate(ctx, tx, sqliteMigrations, v)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(v)); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	return tx.Commit()
}

func (s *sqliteStore) DB() *sql.DB            { return s.db }
func (s *sqliteStore) Rebind(q string) string { return q }
func (s *sqliteStore) Name() string           { return s.path }
func (s *sqliteStore) Close() error           { return s.db.Close() }

// BeginAppend is BEGIN IMMEDIATE (the DSN's _txlock): one writer at a time
// across the machine's processes, the others wait up to busyTimeout.
func (s *sqliteStore) BeginAppend(ctx context.Context) (*sql.Tx, error) {
	return s.db.BeginTx(ctx, nil)
}

// BeginRead is a read transaction: in WAL mode it sees one snapshot and does
// not block the writer.
func (s *sqliteStore) BeginRead(ctx context.Context) (*sql.Tx, error) {
	return s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

func (s *sqliteStore) Announced(context.Context, *sql.Tx, int64) error { return nil }

// Watch looks at the head every sqliteWatchEvery: SQLite cannot tell one
// process of another's commits.
func (s *sqliteStore) Watch(ctx context.Context, changed func()) {
	var last int64 = -1
	t := time.NewTicker(sqliteWatchEvery)
	defer t.Stop()
	for {
		var seq int64
		err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM entries").Scan(&seq)
		if err == nil {
			if last >= 0 && seq != last {
				changed()
			}
			last = seq
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/fleetdeck/fleetdeck/config"
)

// Advisory lock keys: one 64-bit number per purpose, the same in every
// fleetdeck, distinct from what other applications on the database are
// likely to pick ("fleetdeck" in ASCII, then a purpose byte).
const (
	pgLockAppend  int64 = 0x666c656574646b01 // transaction-level: one appender at a time
	pgLockMigrate int64 = 0x666c656574646b02 // transaction-level: one migration at a time
)

// pgChannel is the LISTEN/NOTIFY channel an append announces itself on; the
// payload is the new head's Seq.
const pgChannel = "fleetdeck_audit"

// pgWatchRetry is how long Watch waits before listening again after the
// connection dropped.
const pgWatchRetry = 2 * time.Second

// pgMigrations is the PostgreSQL schema, recorded in schema_version.
var pgMigrations = []migration{
	{1, `
CREATE TABLE entries (
	seq        BIGINT PRIMARY KEY,
	at         TEXT   NOT NULL,
	actor_kind TEXT   NOT NULL,
	actor_user TEXT   NOT NULL,
	actor_key  TEXT   NOT NULL,
	actor_role TEXT   NOT NULL,
	action     TEXT   NOT NULL,
	vin        TEXT   NOT NULL,
	command    TEXT   NOT NULL,
	command_id TEXT   NOT NULL,
	phase      TEXT   NOT NULL,
	ref        BIGINT NOT NULL,
	outcome    TEXT   NOT NULL,
	prev_hash  TEXT   NOT NULL,
	hash       TEXT   NOT NULL,
	signer     TEXT   NOT NULL DEFAULT '',
	sig        TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX entries_at  ON entries(at);
CREATE INDEX entries_vin ON entries(vin);
CREATE INDEX entries_ref ON entries(ref) WHERE ref > 0;
CREATE INDEX entries_command_id ON entries(command_id) WHERE command_id <> '';
CREATE TABLE head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  BIGINT  NOT NULL,
	hash TEXT    NOT NULL
);
CREATE FUNCTION fleetdeck_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit entries are append-only';
END $$;
CREATE TRIGGER entries_no_update BEFORE UPDATE OR DELETE ON entries
	FOR EACH ROW EXECUTE FUNCTION fleetdeck_audit_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
	FOR EACH STATEMENT EXECUTE FUNCTION fleetdeck_audit_append_only();
`},
	// The clearance list the boxes share (SharedList): one row per name.
	{2, `
CREATE TABLE shared_lists (
	name       TEXT        PRIMARY KEY,
	body       BYTEA       NOT NULL,
	fetch_err  TEXT        NOT NULL,
	fetched_at TIMESTAMPTZ NOT NULL,
	fetched_by TEXT        NOT NULL
);
`},
	// Detail: facts an entry carries beyond its fixed fields (Entry.Detail).
	{3, `
ALTER TABLE entries ADD COLUMN detail TEXT NOT NULL DEFAULT '';
`},
}

// pgStore is a journal in a PostgreSQL database, shared by every fleetdeck
// on every machine that reaches it.
type pgStore struct {
	db   *sql.DB
	cfg  *pgx.ConnConfig
	name string
}

// OpenPostgres connects to the PostgreSQL journal at dsn and creates or
// migrates its schema. The DSN must not carry a password: password (from a
// 0600 file) is used when not empty, else libpq's environment ($PGPASSWORD,
// ~/.pgpass) as pgx reads it.
func OpenPostgres(ctx context.Context, dsn, password string) (Store, error) {
	if err := config.CheckAuditDSN(dsn); err != nil {
		return nil, fmt.Errorf("open audit journal: dsn: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN; it has no password (checked above).
		return nil, fmt.Errorf("open audit journal: dsn: %w", err)
	}
	if password != "" {
		cfg.Password = password
	}
	name := config.RedactDSN(dsn)
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	s := &pgStore{db: db, cfg: cfg, name: name}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open audit journal %s: %w", name, err)
	}
	return s, nil
}

func (s *pgStore) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	defer tx.Rollback()
	// Two boxes starting at once must not both create the tables.
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", pgLockMigrate); err != nil {
		return fmt.Errorf("schema lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		id      INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	var v int
	err = tx.QueryRowContext(ctx, "SELECT version FROM schema_version WHERE id = 1").Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("schema version: %w", err)
	}
	v, err = migrate(ctx, tx, pgMigrations, v)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (id, version) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version`, v); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	return tx.Commit()
}

func (s *pgStore) DB() *sql.DB            { return s.db }
func (s *pgStore) Rebind(q string) string { return rebindDollar(q) }
func (s *pgStore) Name() string           { return s.name }
func (s *pgStore) Close() error           { return s.db.Close() }

// BeginAppend takes a transaction-level advisory lock: every appender on
// every machine waits its turn, and the lock goes with the transaction, so
// a writer that dies releases it. READ COMMITTED is enough under the lock:
// each statement after it sees every append committed before.
func (s *pgStore) BeginAppend(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", pgLockAppend); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("take the journal's writer lock: %w", err)
	}
	return tx, nil
}

// BeginRead is REPEATABLE READ: every query in it sees one snapshot.
func (s *pgStore) BeginRead(ctx context.Context) (*sql.Tx, error) {
	return s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
}

// Announced queues a NOTIFY, which PostgreSQL delivers at commit.
func (s *pgStore) Announced(ctx context.Context, tx *sql.Tx, seq int64) error {
	_, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", pgChannel, strconv.FormatInt(seq, 10))
	return err
}

// Watch LISTENs on a connection of its own. After the connection drops it
// listens again and reports a change, since one may have been missed.
func (s *pgStore) Watch(ctx context.Context, changed func()) {
	s.listenOn(ctx, pgChannel, changed)
}

// listenOn calls changed for every notification on channel until ctx ends,
// listening again (and calling changed once) after a dropped connection.
func (s *pgStore) listenOn(ctx context.Context, channel string, changed func()) {
	for ctx.Err() == nil {
		err := s.listen(ctx, channel, changed)
		if ctx.Err() != nil {
			return
		}
		_ = err // the next attempt says the same or succeeds; Watch has no one to tell
		select {
		case <-ctx.Done():
			return
		case <-time.After(pgWatchRetry):
		}
		changed()
	}
}

func (s *pgStore) listen(ctx context.Context, channel string, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}

package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Store is where a journal's entries live. The journal's queries are plain
// SQL that SQLite and PostgreSQL both run, so a Store supplies only what
// differs between them: how an appender takes the writer lock, placeholders,
// the schema and its migrations, and how other processes learn of an
// append. Two implementations exist: SQLite (one file, the processes of one
// machine) and PostgreSQL (any number of machines).
type Store interface {
	// DB is the handle the journal's queries run on.
	DB() *sql.DB
	// Rebind rewrites a query written with ? placeholders for this database.
	Rebind(query string) string
	// BeginAppend starts the transaction an append runs in, holding the
	// lock that makes appenders take turns across every process, on every
	// machine, that shares this store. It is released at commit or
	// rollback.
	BeginAppend(ctx context.Context) (*sql.Tx, error)
	// BeginRead starts a read-only transaction in which every query sees
	// the same snapshot.
	BeginRead(ctx context.Context) (*sql.Tx, error)
	// Announced is called inside an append transaction, before commit:
	// a store that notifies other processes queues the notice here, so it
	// goes out exactly when the entries become visible.
	Announced(ctx context.Context, tx *sql.Tx, seq int64) error
	// Watch calls changed whenever another process may have appended,
	// until ctx ends. It returns only when ctx ends.
	Watch(ctx context.Context, changed func())
	// Name says which journal this is, without secrets (a path, or a DSN
	// with no password).
	Name() string
	// Close releases the database.
	Close() error
}

// rebindDollar rewrites ? placeholders as $1, $2, … (PostgreSQL). The
// journal's queries never put a ? inside a string literal.
func rebindDollar(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// migration is one step of a schema: the statements that take version-1 to
// version. Steps run in order, each in the transaction that records it.
type migration struct {
	version int
	stmts   string
}

// latest is the version a list of migrations ends at.
func latest(ms []migration) int { return ms[len(ms)-1].version }

// migrate takes a schema at version v to the newest of ms inside tx and
// returns the version reached; a schema newer than ms knows is refused
// (ErrSchema), never downgraded.
func migrate(ctx context.Context, tx *sql.Tx, ms []migration, v int) (int, error) {
	if known := latest(ms); v > known {
		return v, fmt.Errorf("%w (version %d; this fleetdeck knows %d)", ErrSchema, v, known)
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.stmts); err != nil {
			return v, fmt.Errorf("migrate the schema to version %d: %w", m.version, err)
		}
		v = m.version
	}
	return v, nil
}

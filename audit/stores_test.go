package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for the raw connections

	"github.com/fleetdeck/fleetdeck/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testStore is one journal database as the tests see it: journals opened on
// it (several are like several processes, or boxes) and a raw connection
// behind the package's back.
type testStore struct {
	kind string // "sqlite" or "postgres"
	path string // SQLite file
	dsn  string // PostgreSQL
	raw  *sql.DB
}

// forEachStore runs f on a fresh SQLite journal and a fresh PostgreSQL one
// (which skips without PostgreSQL, and fails in CI).
func forEachStore(t *testing.T, f func(t *testing.T, s *testStore)) {
	t.Run("sqlite", func(t *testing.T) {
		s := &testStore{kind: "sqlite", path: filepath.Join(t.TempDir(), "state", "audit.db")}
		f(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s := &testStore{kind: "postgres", dsn: pgtest.DB(t)}
		f(t, s)
	})
}

// open opens a journal on the store; each call is another process's view.
func (s *testStore) open(t testing.TB, opts ...Option) *Journal {
	t.Helper()
	var st Store
	var err error
	if s.kind == "sqlite" {
		st, err = OpenSQLite(s.path)
	} else {
		st, err = OpenPostgres(t.Context(), s.dsn, "")
	}
	if err != nil {
		t.Fatalf("open %s journal: %v", s.kind, err)
	}
	j := New(st, opts...)
	t.Cleanup(func() { j.Close() })
	return j
}

// db is a raw connection to the store, as someone tampering would use.
func (s *testStore) db(t testing.TB) *sql.DB {
	t.Helper()
	if s.raw != nil {
		return s.raw
	}
	var err error
	if s.kind == "sqlite" {
		s.raw, err = sql.Open("sqlite", s.path+"?_pragma=busy_timeout(5000)")
	} else {
		s.raw, err = sql.Open("pgx", s.dsn)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.raw.Close() })
	return s.raw
}

// tamper runs statements with the append-only triggers out of the way, as
// a determined editor with the database's credentials would.
func (s *testStore) tamper(t testing.TB, stmts ...string) {
	t.Helper()
	db := s.db(t)
	off := []string{"DROP TRIGGER IF EXISTS entries_no_update", "DROP TRIGGER IF EXISTS entries_no_delete"}
	if s.kind == "postgres" {
		off = []string{"ALTER TABLE entries DISABLE TRIGGER USER"}
	}
	for _, q := range append(off, stmts...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// rows reads every entry as stored.
func (s *testStore) rows(t testing.TB) []row {
	t.Helper()
	rs, err := s.db(t).Query("SELECT " + entryColumns + " FROM entries ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		r, err := scanRow(rs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// forge is the attack a hash chain alone cannot catch: change entry seq,
// recompute its hash and every later hash and link, and move the head.
// edit changes the row; sign, when not nil, re-signs each rewritten row.
func (s *testStore) forge(t testing.TB, seq int64, edit func(*row), sign func(*row)) {
	t.Helper()
	all := s.rows(t)
	var stmts []string
	prev := ""
	for _, r := range all {
		if r.seq >= seq {
			if r.seq == seq {
				edit(&r)
			}
			r.prevHash = prev
			r.hash = r.computeHash()
			if sign != nil {
				sign(&r)
			}
			stmts = append(stmts, fmt.Sprintf("UPDATE entries SET vin = '%s', outcome = '%s', prev_hash = '%s', hash = '%s', signer = '%s', sig = '%s' WHERE seq = %d",
				r.vin, r.outcome, r.prevHash, r.hash, r.signer, r.sig, r.seq))
		}
		prev = r.hash
	}
	stmts = append(stmts, fmt.Sprintf("UPDATE head SET hash = '%s' WHERE id = 1", prev))
	s.tamper(t, stmts...)
}

func newTestSigner(t testing.TB) *Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return NewSigner(k)
}

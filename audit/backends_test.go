package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/pgtest"
)

// The tests here run on both stores: the journal's behaviour must not
// depend on where it lives.

func TestStoresIntentOutcomeFinal(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		j := s.open(t)
		ctx := t.Context()
		a := intent(t, j, ActionClearanceAdd, "wba5r1c51kaj98123", "brand bmw")
		outcome(t, j, a, "pending", "")
		b := intent(t, j, ActionCommandConfirm, "WBA5R1C51KAJ98123", "disable_ignition")
		outcome(t, j, b, "Pending id c-1", "c-1")
		c := intent(t, j, ActionCommandSend, "W1KZF8DB1LA999874", "lock_door")
		if err := j.Outcome(ctx, alice, 999, "ok", ""); err == nil {
			t.Error("an outcome for a missing intent was accepted")
		}
		recs, err := j.List(ctx, Filter{})
		if err != nil || len(recs) != 3 || recs[0].Seq != a || recs[1].Seq != b || recs[2].Seq != c {
			t.Fatalf("records %+v (%v)", recs, err)
		}
		if recs[0].VIN != "WBA5R1C51KAJ98123" || recs[0].Result() != "pending" || recs[2].Result() != OutcomeUnknown {
			t.Errorf("records say %q, %q", recs[0].Result(), recs[2].Result())
		}
		if lim, err := j.List(ctx, Filter{Limit: 1, VIN: "WBA5R1C51KAJ98123"}); err != nil || len(lim) != 1 || lim[0].Seq != b {
			t.Errorf("limit+vin: %+v (%v)", lim, err)
		}
		un, err := j.Unfinished(ctx)
		if err != nil || len(un) != 1 || un[0].CommandID != "c-1" || un[0].IntentSeq != b {
			t.Fatalf("unfinished: %+v (%v)", un, err)
		}
		if ok, err := j.FinalStatus(ctx, alice, commandWith("c-1", "Success", "")); err != nil || !ok {
			t.Fatalf("final: %v %v", ok, err)
		}
		if ok, err := j.FinalStatus(ctx, alice, commandWith("c-1", "Success", "")); err != nil || ok {
			t.Errorf("final written twice: %v %v", ok, err)
		}
		if un, _ := j.Unfinished(ctx); len(un) != 0 {
			t.Errorf("still unfinished: %+v", un)
		}
		if rep := verify(t, j); !rep.OK || rep.Entries != 6 { // 3 intents, 2 answers, 1 final status
			t.Errorf("verify: %+v", rep)
		}
	})
}

// Several journals on one store are several processes (or boxes): however
// they interleave, they build one unbroken chain.
func TestStoresConcurrentWritersKeepOneChain(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		js := []*Journal{s.open(t), s.open(t), s.open(t), s.open(t)}
		const each = 25
		var wg sync.WaitGroup
		errs := make(chan error, 2*len(js)*each)
		for w, j := range js {
			for g := range 2 {
				wg.Go(func() {
					for i := range each {
						who := Actor{User: fmt.Sprintf("box%d-%d", w, g)}
						seq, err := j.Intent(context.Background(), who, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
						if err == nil && i%2 == 0 {
							err = j.Outcome(context.Background(), who, seq, "ok", "")
						}
						if err != nil {
							errs <- err
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("append: %v", err)
		}
		want := 2 * len(js) * (each + (each+1)/2)
		if rep := verify(t, js[0]); !rep.OK || rep.Entries != want {
			t.Fatalf("verify after concurrent appends: %+v, want %d entries", rep, want)
		}
	})
}

// The attack README used to admit: rewrite an entry, re-hash it and every
// later one, move the head. The chain alone passes it; the signatures do
// not, and neither does stripping them or signing with another key.
func TestStoresSignaturesCatchAForgerWhoRehashes(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		key := newTestSigner(t)
		keys := VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}}
		setup := func(t *testing.T) *Journal {
			j := s.open(t, WithSigner(key))
			for i := range 3 {
				seq := intent(t, j, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
				if i < 2 {
					outcome(t, j, seq, "Pending id x", "")
				}
			}
			return j
		}
		j := setup(t)
		rep, err := j.Verify(t.Context(), keys)
		if err != nil || !rep.OK || rep.Signed != 5 || len(rep.Signers) != 1 || rep.Signers[0] != key.ID() {
			t.Fatalf("signed chain: %+v (%v)", rep, err)
		}
		recs, _ := j.List(t.Context(), Filter{})
		if recs[0].Signer != key.ID() || recs[0].Sig == "" {
			t.Errorf("entry carries no signature: %+v", recs[0].Entry)
		}

		s.forge(t, 3, func(r *row) { r.vin = "WBA5R1C51KAJ00000" }, nil)
		if rep := verify(t, j); !rep.OK {
			t.Fatalf("without --key the rehashed forgery should pass (that is the limit): %+v", rep)
		}
		rep, err = j.Verify(t.Context(), keys)
		if err != nil || rep.OK || rep.FirstBad != 3 || !strings.Contains(rep.Reason, "signature does not match") {
			t.Fatalf("forgery with the key: %+v (%v)", rep, err)
		}

		// Stripping the signatures from the forged entries on.
		s.forge(t, 3, func(r *row) {}, func(r *row) { r.signer, r.sig = "", "" })
		rep, _ = j.Verify(t.Context(), keys)
		if rep.OK || rep.FirstBad != 3 || !strings.Contains(rep.Reason, "not signed") {
			t.Fatalf("stripped signatures: %+v", rep)
		}
		// Signing with a key of the forger's own.
		other := newTestSigner(t)
		s.forge(t, 3, func(r *row) {}, other.sign)
		rep, _ = j.Verify(t.Context(), keys)
		if rep.OK || rep.FirstBad != 3 || !strings.Contains(rep.Reason, "not a key you gave") {
			t.Fatalf("forger's own key: %+v", rep)
		}
		// Stripping every signature.
		s.forge(t, 1, func(r *row) {}, func(r *row) { r.signer, r.sig = "", "" })
		rep, _ = j.Verify(t.Context(), keys)
		if rep.OK || !strings.Contains(rep.Reason, "no entry is signed") {
			t.Fatalf("no signatures at all: %+v", rep)
		}
	})
}

func TestStoresExportAnchorsCatchATruncation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		j := s.open(t)
		for range 4 {
			intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
		}
		var buf strings.Builder
		h, err := j.Export(t.Context(), &buf)
		if err != nil || h.Head.Seq != 4 || h.Entries != 4 {
			t.Fatalf("export: %+v (%v)", h, err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 5 || !strings.Contains(lines[4], `"seq":4`) {
			t.Fatalf("export has %d lines:\n%s", len(lines), buf.String())
		}
		back, err := ReadExportHeader(strings.NewReader(buf.String()))
		if err != nil || back.Head != h.Head {
			t.Fatalf("header read back: %+v (%v)", back, err)
		}
		anchored := VerifyOptions{Anchors: []Head{h.Head}}
		if rep, _ := j.Verify(t.Context(), anchored); !rep.OK {
			t.Fatalf("intact chain against its export: %+v", rep)
		}
		// Cut the tail back to entry 2 and move the head there: the chain
		// is consistent again, but the export saw entry 4.
		r2 := s.rows(t)[1]
		s.tamper(t, "DELETE FROM entries WHERE seq > 2", fmt.Sprintf("UPDATE head SET seq = 2, hash = '%s' WHERE id = 1", r2.hash))
		if rep := verify(t, j); !rep.OK {
			t.Fatalf("a clean truncation passes the chain check (the limit): %+v", rep)
		}
		if rep, _ := j.Verify(t.Context(), anchored); rep.OK || rep.FirstBad != 4 || !strings.Contains(rep.Reason, "truncated") {
			t.Fatalf("truncation against the export: %+v", rep)
		}
	})
}

func TestStoresChangesReachOtherProcesses(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		writer, reader := s.open(t), s.open(t)
		ctx, cancel := context.WithCancel(t.Context())
		ch := reader.Changes(ctx)
		own := writer.Changes(t.Context())
		// The watcher needs a moment to LISTEN (or to read the first head).
		time.Sleep(300 * time.Millisecond)
		start := time.Now()
		intent(t, writer, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
		select {
		case <-own:
		case <-time.After(time.Second):
			t.Fatal("the writer's own journal did not signal its append")
		}
		limit := 500 * time.Millisecond // LISTEN/NOTIFY
		if s.kind == "sqlite" {
			limit = 3 * sqliteWatchEvery
		}
		select {
		case <-ch:
			t.Logf("%s: another process saw the append after %v", s.kind, time.Since(start).Round(time.Millisecond))
		case <-time.After(limit):
			t.Fatalf("another process was not told within %v", limit)
		}
		cancel()
		select {
		case _, ok := <-ch:
			for ok {
				_, ok = <-ch
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the channel did not close when its context ended")
		}
	})
}

func TestPostgresSchemaVersioned(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := t.Context()
	// Boxes starting at once: one creates, the others find it made.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			st, err := OpenPostgres(ctx, dsn, "")
			if err == nil {
				st.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent first open: %v", err)
		}
	}
	s := &testStore{kind: "postgres", dsn: dsn}
	var v int
	if err := s.db(t).QueryRow("SELECT version FROM schema_version").Scan(&v); err != nil || v != latest(pgMigrations) {
		t.Fatalf("schema_version = %d (%v), want %d", v, err, latest(pgMigrations))
	}
	s.tamper(t, "UPDATE schema_version SET version = 99")
	_, err := OpenPostgres(ctx, dsn, "")
	if !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "version 99") {
		t.Fatalf("newer schema: %v", err)
	}
}

func TestSQLiteMigratesVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s := &testStore{kind: "sqlite", path: path}
	db := s.db(t)
	if _, err := db.Exec(sqliteMigrations[0].stmts + "PRAGMA user_version = 1;"); err != nil {
		t.Fatal(err)
	}
	// An entry as version 1 wrote it, then the upgrade.
	old := row{seq: 1, at: "2025-01-01T00:00:00.000000000Z", kind: "local", user: "a", action: "clearance.revoke", vin: "V", phase: "intent"}
	old.hash = old.computeHash()
	if _, err := db.Exec(`INSERT INTO entries VALUES (1, ?, 'local', 'a', '', '', 'clearance.revoke', 'V', '', '', 'intent', 0, '', '', ?)`, old.at, old.hash); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO head VALUES (1, 1, ?)", old.hash); err != nil {
		t.Fatal(err)
	}
	key := newTestSigner(t)
	j := s.open(t, WithSigner(key))
	intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	rep, err := j.Verify(t.Context(), VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}})
	if err != nil || !rep.OK || rep.Unsigned != 1 || rep.Signed != 1 {
		t.Fatalf("upgraded journal: %+v (%v)", rep, err)
	}
}

func TestMigrateSQLiteToPostgres(t *testing.T) {
	key := newTestSigner(t)
	src, _ := openTemp(t, WithSigner(key))
	for range 3 {
		seq := intent(t, src, ActionCommandSend, "WBA5R1C51KAJ98123", "lock_door")
		outcome(t, src, seq, "Pending id a", "a")
	}
	pg := &testStore{kind: "postgres", dsn: pgtest.DB(t)}
	dst := pg.open(t)
	n, err := src.CopyTo(t.Context(), dst)
	if err != nil || n != 6 {
		t.Fatalf("copy: %d (%v)", n, err)
	}
	opts := VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}}
	before, _ := src.Verify(t.Context(), opts)
	after, err := dst.Verify(t.Context(), opts)
	if err != nil || !after.OK || after.Entries != 6 || after.Head != before.Head || after.Signed != 6 {
		t.Fatalf("copy verifies as %+v (%v); source %+v", after, err, before)
	}
	// Appending on PostgreSQL continues the same chain.
	intent(t, dst, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	if rep := verify(t, dst); !rep.OK || rep.Entries != 7 {
		t.Fatalf("after an append: %+v", rep)
	}
	if _, err := src.CopyTo(t.Context(), dst); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("copy into a journal with entries: %v", err)
	}
}

func TestPostgresPasswordFromFileNeverFromDSN(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := t.Context()
	const pw = "s3cret-Pa55"
	db := dsn[strings.Index(dsn, "dbname=")+len("dbname="):]
	db = strings.Fields(db)[0]
	// Roles belong to the whole server, which every test of the process
	// shares (and -count=N runs this test again on it): one of its own.
	role := "box_" + db
	if err := pgtest.Exec(ctx, dsn, "CREATE ROLE "+role+" LOGIN PASSWORD '"+pw+"'", "GRANT ALL ON SCHEMA public TO "+role); err != nil {
		t.Fatal(err)
	}
	tcp := "postgres://" + role + "@" + pgtest.TCP() + "/" + db + "?sslmode=disable"

	for _, bad := range []string{
		"postgres://" + role + ":" + pw + "@" + pgtest.TCP() + "/" + db,
		tcp + "&password=" + pw,
		"host=127.0.0.1 user=" + role + " password=" + pw,
		"host=127.0.0.1 user=" + role + " password = " + pw,
	} {
		_, err := OpenPostgres(ctx, bad, "")
		if err == nil || !strings.Contains(err.Error(), "must not contain a password") || strings.Contains(err.Error(), pw) {
			t.Errorf("DSN with a password: %v", err)
		}
	}

	t.Setenv("PGPASSWORD", "")
	os.Unsetenv("PGPASSWORD")
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "audit.pgpass")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := config.Audit{DSN: tcp, PasswordFile: pwFile}
	if _, err := OpenConfig(ctx, a, ""); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Fatalf("0644 password file: %v", err)
	}
	if err := os.Chmod(pwFile, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := OpenConfig(ctx, a, filepath.Join(dir, "key"))
	if err != nil {
		t.Fatalf("password from file: %v", err)
	}
	defer j.Close()
	intent(t, j, ActionClearanceRevoke, "WBA5R1C51KAJ98123", "")
	if strings.Contains(j.Name(), pw) {
		t.Errorf("name shows the password: %s", j.Name())
	}
	// And from $PGPASSWORD.
	t.Setenv("PGPASSWORD", pw)
	j2, err := OpenConfig(ctx, config.Audit{DSN: tcp}, "")
	if err != nil {
		t.Fatalf("password from PGPASSWORD: %v", err)
	}
	j2.Close()
}

// A password in the DSN, however it is spelt, is refused before the driver
// reads the DSN: pgx quotes a DSN it cannot parse in its error, and blanks
// only "password=x" in it, not "password = x".
func TestPostgresDSNPasswordNeverInAnError(t *testing.T) {
	const pw = "hunter2"
	for _, dsn := range []string{
		"host=db.example password = " + pw + " port=notanumber",
		"host=db.example password\t=" + pw + " port=notanumber",
		"host=db.example password='" + pw + "' port=notanumber",
	} {
		_, err := OpenPostgres(t.Context(), dsn, "")
		if err == nil || strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "must not contain a password") {
			t.Errorf("%q: %v", dsn, err)
		}
	}
}

// Signatures are checked in parallel batches; the report still names the
// first entry that fails, whichever batch finished first.
func TestVerifyNamesTheFirstBadSignature(t *testing.T) {
	key := newTestSigner(t)
	j, path := openTemp(t, WithSigner(key))
	vins := make([]string, 3*sigBatch)
	what := make([]string, len(vins))
	for i := range vins {
		vins[i], what[i] = "WBA5R1C51KAJ98123", "brand bmw"
	}
	if _, err := j.intents(t.Context(), alice, ActionClearanceAdd, vins, what); err != nil {
		t.Fatal(err)
	}
	s := &testStore{kind: "sqlite", path: path}
	all := s.rows(t)
	bad1, bad2 := int64(sigBatch+7), int64(2*sigBatch+100)
	// Another entry's signature: well-formed, and wrong for these.
	s.tamper(t, fmt.Sprintf("UPDATE entries SET sig = '%s' WHERE seq IN (%d, %d)", all[0].sig, bad2, bad1))
	rep, err := j.Verify(t.Context(), VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}})
	if err != nil || rep.OK || rep.FirstBad != bad1 || !strings.Contains(rep.Reason, "signature does not match") {
		t.Fatalf("got %+v (%v), want entry %d first", rep, err, bad1)
	}
	// A broken link later than a bad signature: the signature comes first.
	s.tamper(t, fmt.Sprintf("UPDATE entries SET prev_hash = 'x' WHERE seq = %d", bad2+5))
	if rep, _ := j.Verify(t.Context(), VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}}); rep.FirstBad != bad1 {
		t.Fatalf("got %+v, want entry %d first", rep, bad1)
	}
}

func TestSigningKeyMadeOnceAndKeptPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "audit_ed25519_key")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			s, err := LoadOrCreateKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = s.ID()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("processes making the key at once got different keys: %v", ids)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	pub, err := ReadVerifyKey(PublicKeyPath(path))
	if err != nil || KeyID(pub) != ids[0] {
		t.Fatalf("public key: %v (%v)", pub, err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Fatalf("a 0640 signing key: %v", err)
	}
	if _, err := ReadVerifyKey(path); err == nil {
		t.Fatal("verified with a 0640 signing key")
	}
}

// Entries carry details (a reason, a speed, an approver) that the hash and
// the signature cover, on both stores.
func TestStoresDetailIsKeptAndCovered(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *testStore) {
		key := newTestSigner(t)
		j := s.open(t, WithSigner(key))
		ctx := t.Context()
		req, err := j.IntentDetail(ctx, alice, Action("command.request"), "WBA5R1C51KAJ98123", "disable_ignition",
			map[string]string{"reason": "stolen\x1b[31m, police report 42", "speed_kmh": "12.5"})
		if err != nil {
			t.Fatal(err)
		}
		bob := Actor{Kind: KindSSH, User: "bob", Role: "operator"}
		if err := j.OutcomeDetail(ctx, bob, req, "approved", "", map[string]string{"approver": "bob"}); err != nil {
			t.Fatal(err)
		}
		recs, err := j.List(ctx, Filter{})
		if err != nil || len(recs) != 1 || len(recs[0].Outcomes) != 1 {
			t.Fatalf("records: %+v (%v)", recs, err)
		}
		r := recs[0]
		if r.Detail["reason"] != "stolen, police report 42" || r.Detail["speed_kmh"] != "12.5" || r.Outcomes[0].Detail["approver"] != "bob" {
			t.Errorf("details: %v / %v", r.Detail, r.Outcomes[0].Detail)
		}
		if r.Outcomes[0].Action != "command.request" || r.Result() != "approved" {
			t.Errorf("the answer: %+v", r.Outcomes[0])
		}
		opts := VerifyOptions{Keys: []ed25519.PublicKey{key.Public()}}
		if rep, _ := j.Verify(ctx, opts); !rep.OK {
			t.Fatalf("verify: %+v", rep)
		}
		// Changing the reason, even re-hashing, fails: the signature covers it.
		s.tamper(t, `UPDATE entries SET detail = '{"reason":"routine"}' WHERE seq = 1`)
		if rep, _ := j.Verify(ctx, VerifyOptions{}); rep.OK || rep.FirstBad != 1 {
			t.Fatalf("an edited detail: %+v", rep)
		}
		s.forge(t, 1, func(r *row) {}, nil)
		if rep, _ := j.Verify(ctx, opts); rep.OK || rep.FirstBad != 1 {
			t.Fatalf("an edited and re-hashed detail: %+v", rep)
		}
	})
}

package cli

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The console and the CLI sign what they append with the key in the state
// dir (made 0600 on first use); verify --key proves it, and an export's
// head catches a journal cut back afterwards.
func TestAuditSignedVerifyExportAgainst(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	if r := run(t, "", "--config", cfg, "vehicles", "revoke", "WBA5R1C51KAJ98123"); r.code != 0 {
		t.Fatalf("revoke: %d %s", r.code, r.stderr)
	}
	key := filepath.Join(os.Getenv("XDG_STATE_HOME"), "fleetdeck", "audit_ed25519_key")
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key: %v %v", fi, err)
	}
	pub := audit.PublicKeyPath(key)
	r := run(t, "", "--config", cfg, "audit", "verify", "--key", pub)
	if r.code != 0 || !strings.Contains(r.stdout, "signatures verified: 2 entries signed by SHA256:") {
		t.Fatalf("verify --key: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Another key did not sign it.
	other := filepath.Join(t.TempDir(), "other")
	if _, err := audit.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--config", cfg, "audit", "verify", "--key", audit.PublicKeyPath(other))
	if r.code != ExitFailure {
		t.Fatalf("verify with a stranger's key: %d %s", r.code, r.stdout)
	}
	oneLine(t, r, "which is not a key you gave")
	// A loose private key is refused like any secret.
	if err := os.Chmod(other, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--config", cfg, "audit", "verify", "--key", other)
	oneLine(t, r, "too open")

	export := filepath.Join(t.TempDir(), "audit.ndjson")
	if r := run(t, "", "--config", cfg, "audit", "export", "--out", export); r.code != 0 || !strings.Contains(r.stderr, "exported 2 entries") {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	if fi, err := os.Stat(export); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", fi, err)
	}
	if r := run(t, "", "--config", cfg, "audit", "verify", "--key", pub, "--against", export); r.code != 0 {
		t.Fatalf("verify --against: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Cut the last entry and point the head at the one before: the chain
	// and the signatures still agree, the export does not.
	db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(cfg), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	var h1 string
	if err := db.QueryRow("SELECT hash FROM entries WHERE seq = 1").Scan(&h1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER entries_no_delete", "DELETE FROM entries WHERE seq = 2", "UPDATE head SET seq = 1, hash = '" + h1 + "'"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if r := run(t, "", "--config", cfg, "audit", "verify", "--key", pub); r.code != 0 {
		t.Fatalf("a clean cut passes without the export (the limit): %d %s", r.code, r.stderr)
	}
	r = run(t, "", "--config", cfg, "audit", "verify", "--key", pub, "--against", export)
	if r.code != ExitFailure {
		t.Fatalf("verify --against after a cut: %d", r.code)
	}
	oneLine(t, r, "entry 2 is missing: an export saw the chain reach it")
}

func TestAuditMigrateToPostgres(t *testing.T) {
	isolate(t)
	dsn := pgtest.DB(t)
	writeJournal(t, defaultJournal(t))

	r := runAudit(t, "audit", "migrate", "--to", dsn)
	if r.code != 0 || !strings.Contains(r.stdout, "copied 3 entries") || !strings.Contains(r.stdout, "verified before and after") {
		t.Fatalf("migrate: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// What it tells the operator to configure is the DSN itself, sslmode
	// and all, not the redacted name it shows the journal by.
	if want := fmt.Sprintf("now set [audit] dsn = %q on every ops box", dsn); !strings.Contains(r.stdout, want) {
		t.Errorf("migrate's advice:\n%s\nwant %s", r.stdout, want)
	}
	r = runAudit(t, "audit", "migrate", "--to", dsn)
	if r.code != ExitFailure {
		t.Fatalf("second migrate: %d", r.code)
	}
	oneLine(t, r, "not empty")
	r = runAudit(t, "audit", "migrate", "--to", "postgres://box:hunter2@db.example.com/fleetdeck")
	if r.code != ExitUsage || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("DSN with a password: %d %s", r.code, r.stderr)
	}
	oneLine(t, r, "must not contain a password")

	// The boxes now name the database: the same records, the same chain.
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[audit]\ndsn = %q\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runAudit(t, "--config", cfgPath, "audit", "verify")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "chain intact: 3 entries") {
		t.Fatalf("verify on PostgreSQL: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runAudit(t, "--config", cfgPath, "audit")
	if r.code != 0 || !strings.Contains(r.stdout, "ssh:bob SHA256:Zm9vYmFy") || !strings.Contains(r.stdout, "outcome unknown") {
		t.Fatalf("audit on PostgreSQL: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// A password in the config is refused before anything connects.
	if err := os.WriteFile(cfgPath, []byte("[audit]\ndsn = \"postgres://box:hunter2@db.example.com/x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runAudit(t, "--config", cfgPath, "audit")
	if r.code != ExitFailure || strings.Contains(r.stderr, "hunter2") {
		t.Fatalf("config DSN with a password: %d %s", r.code, r.stderr)
	}
	oneLine(t, r, "audit.dsn: must not contain a password")
}

// Package pgtest starts a real PostgreSQL server for a package's tests:
// initdb in a temp dir (as the postgres user when the tests run as root, as
// CI does), pg_ctl start on a random loopback port with its unix socket in
// that dir, one fresh database per test, and everything removed at the
// end. Without PostgreSQL's binaries the tests skip, except under CI=true,
// where they fail.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the server's superuser; local (socket) connections need no
// password, TCP ones do.
const Superuser = "postgres"

// server is the one PostgreSQL a test binary starts, on first use.
type server struct {
	once    sync.Once
	err     error  // why it could not start
	skip    string // why there is nothing to start (no binaries)
	bin     string
	dir     string // removed at the end
	data    string
	sock    string
	port    int
	asUser  string // run the binaries as this user ("" for ourselves)
	mainRan atomic.Bool
	dbs     atomic.Int32
}

var srv server // one per test binary: Main stops it

// Main runs the package's tests and stops the server afterwards.
func Main(m *testing.M) {
	srv.mainRan.Store(true)
	code := m.Run()
	srv.stop()
	os.Exit(code)
}

// DB is a fresh, empty database for t on the package's server, as a DSN
// that connects over the unix socket as the superuser. It skips t (fails it
// under CI=true) when PostgreSQL is not installed.
func DB(t testing.TB) string {
	t.Helper()
	if !srv.mainRan.Load() {
		t.Fatal("pgtest: the package's TestMain must call pgtest.Main")
	}
	srv.once.Do(srv.start)
	if srv.skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required in CI: %s", srv.skip)
		}
		t.Skipf("PostgreSQL not installed: %s", srv.skip)
	}
	if srv.err != nil {
		t.Fatalf("start PostgreSQL: %v", srv.err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), srv.dbs.Add(1))
	if err := Exec(context.Background(), srv.dsn("postgres"), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return srv.dsn(name)
}

// TCP is the server's loopback TCP address ("127.0.0.1:port"), where a
// password is required (scram-sha-256).
func TCP() string { return "127.0.0.1:" + strconv.Itoa(srv.port) }

// Exec runs statements against dsn on a connection of its own.
func Exec(ctx context.Context, dsn string, stmts ...string) error {
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (s *server) dsn(db string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", s.sock, s.port, Superuser, db)
}

// findBin finds initdb and pg_ctl: on PATH, else Debian's
// /usr/lib/postgresql/VERSION/bin (the newest).
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no initdb on PATH or in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func (s *server) start() {
	bin, err := findBin()
	if err != nil {
		s.skip = err.Error()
		return
	}
	s.bin = bin
	s.err = s.init()
}

func (s *server) init() error {
	// Not t.TempDir: its parents are 0700 and root's, and the server may
	// run as another user. The socket path must stay short (about 100 bytes).
	dir, err := os.MkdirTemp("", "fleetdeck-pg-")
	if err != nil {
		return err
	}
	s.dir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	s.data = filepath.Join(dir, "data")
	s.sock = filepath.Join(dir, "sock")
	for _, d := range []string{s.data, s.sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user (Debian's package creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{s.data, s.sock} {
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
		s.asUser = "postgres"
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte("pgtest-superuser\n"), 0o644); err != nil {
		return err
	}
	if err := s.run(60*time.Second, "initdb", "-D", s.data, "-U", Superuser, "--pwfile", pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	os.Remove(pwfile)
	for range 5 { // a port picked free can be taken before the server binds it
		s.port, err = freePort()
		if err != nil {
			return err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200", s.port, s.sock)
		err = s.run(60*time.Second, "pg_ctl", "-D", s.data, "-l", filepath.Join(s.sock, "log"), "-w", "-t", "30", "-o", opts, "start")
		if err == nil {
			return nil
		}
	}
	return err
}

func (s *server) run(limit time.Duration, tool string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	name := filepath.Join(s.bin, tool)
	if s.asUser != "" {
		args = append([]string{"-u", s.asUser, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		logTail := ""
		if b, rerr := os.ReadFile(filepath.Join(s.sock, "log")); rerr == nil {
			logTail = "\nserver log:\n" + string(b)
		}
		return fmt.Errorf("%s: %w\n%s%s", tool, err, strings.TrimSpace(out.String()), logTail)
	}
	return nil
}

func (s *server) stop() {
	if s.data != "" && s.err == nil && s.skip == "" {
		_ = s.run(30*time.Second, "pg_ctl", "-D", s.data, "-m", "fast", "-w", "stop")
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

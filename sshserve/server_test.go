package sshserve

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
	"github.com/fleetdeck/fleetdeck/ui"
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type nopFleet struct{}

func (nopFleet) List(context.Context, *fleet.Filter) ([]fleet.Vehicle, error) { return nil, nil }
func (nopFleet) Add(context.Context, []fleet.NewVehicle) ([]fleet.AddResult, error) {
	return nil, nil
}
func (nopFleet) Delete(context.Context, string) error { return nil }
func (nopFleet) Eligibility(context.Context, string, string) (fleet.Eligibility, error) {
	return fleet.Eligibility{}, nil
}
func (nopFleet) TokenValidUntil() time.Time { return time.Time{} }

type nopCommands struct{}

func (nopCommands) Send(context.Context, string, string, string) (commands.SendResult, error) {
	return commands.SendResult{}, nil
}
func (nopCommands) Status(context.Context, string) (commands.Command, error) {
	return commands.Command{}, nil
}

// plain is a server whose console has no providers: enough to test who
// gets in, without the sandbox.
type plain struct {
	*running
	keysPath string
	log      *testlog.Buffer
}

func servePlain(t *testing.T, o Options, lines ...string) *plain {
	t.Helper()
	p := &plain{log: &testlog.Buffer{}, keysPath: filepath.Join(t.TempDir(), "authorized_keys")}
	writeKeys(t, p.keysPath, lines...)
	keys, err := LoadAuthorizedKeys(p.keysPath, p.log.Logger())
	if err != nil {
		t.Fatal(err)
	}
	o.AuthorizedKeys = keys
	o.Logger = p.log.Logger()
	p.running = serve(t, o)
	return p
}

func TestWhoGetsIn(t *testing.T) {
	t.Parallel()
	operator, viewer, stranger, later := newSigner(t), newSigner(t), newSigner(t), newSigner(t)
	p := servePlain(t, Options{},
		"# ops box",
		authLine(operator, `environment="FLEETDECK_ROLE=operator"`, "alice@laptop"),
		"ssh-ed25519 AAAAnot-base64!!! broken",
		authLine(viewer, "", "bob@laptop"),
	)

	// The operator gets the console despite the broken line, and sees who
	// they are.
	c := p.dialKey(t, "alice", operator)
	tm, err := openTerminal(t, c, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor(0, 10*time.Second, "alice (operator)")
	if !strings.Contains(p.log.String(), "line=3") {
		t.Errorf("the broken line was not reported with its number:\n%s", p.log.String())
	}
	tm.typeKeys("q")
	if err := tm.wait(5 * time.Second); err != nil {
		t.Errorf("q did not end the session: %v", err)
	}

	v := p.dialKey(t, "bob", viewer)
	vt, err := openTerminal(t, v, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	vt.waitFor(0, 10*time.Second, "bob (viewer)")

	// An unknown key, a password, keyboard-interactive: refused at auth.
	for name, auth := range map[string]gossh.AuthMethod{
		"unknown key": gossh.PublicKeys(stranger),
		"password":    gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"hunter2"}, nil
		}),
	} {
		if c, err := p.dial("mallory", auth); err == nil {
			c.Close()
			t.Errorf("%s: logged in", name)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(p.log.String(), "not in authorized keys") {
		t.Errorf("the unknown key was not logged")
	}

	// The file is read again when it changes: a new key works, a removed
	// one no longer does, without a restart.
	if _, err := p.dial("carol", gossh.PublicKeys(later)); err == nil {
		t.Fatal("a key not yet in the file logged in")
	}
	writeKeys(t, p.keysPath,
		authLine(operator, `environment="FLEETDECK_ROLE=operator"`, "alice@laptop"),
		authLine(later, `environment="FLEETDECK_ROLE=admin"`, "carol@laptop"),
	)
	lc := p.dialKey(t, "carol", later)
	lt, err := openTerminal(t, lc, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	lt.waitFor(0, 10*time.Second, "carol (admin)")
	if c, err := p.dial("bob", gossh.PublicKeys(viewer)); err == nil {
		c.Close()
		t.Error("a key removed from the file still logged in")
	}
}

func TestTerminalAndCommandRequired(t *testing.T) {
	t.Parallel()
	op := newSigner(t)
	p := servePlain(t, Options{}, authLine(op, "", "alice"))
	c := p.dialKey(t, "alice", op)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("")
	var exit *gossh.ExitError
	if !errors.As(err, &exit) || exit.ExitStatus() != 1 || !strings.Contains(string(out), "needs a terminal") {
		t.Errorf("shell without a pty: %v, %q", err, out)
	}

	tm, err := openTerminalCmd(t, c, "cat /etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.wait(5 * time.Second); err == nil || !strings.Contains(tm.errText(), "runs only its console") {
		t.Errorf("a command: %v, stderr %q, out %q", err, tm.errText(), tm.text())
	}
}

// openTerminalCmd is openTerminal running a command instead of a shell.
func openTerminalCmd(t *testing.T, c *gossh.Client, cmd string) (*terminal, error) {
	sess, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	tm := &terminal{t: t, sess: sess, done: make(chan error, 1)}
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	sess.Stdout = termWriter{term: tm}
	sess.Stderr = termWriter{term: tm, stderr: true}
	if err := sess.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
		return nil, err
	}
	if err := sess.Start(cmd); err != nil {
		return nil, err
	}
	go func() { tm.done <- sess.Wait() }()
	t.Cleanup(func() { sess.Close() })
	return tm, nil
}

func TestSessionLimitAndIdleTimeout(t *testing.T) {
	t.Parallel()
	op := newSigner(t)
	p := servePlain(t, Options{MaxSessions: 1, IdleTimeout: 1500 * time.Millisecond}, authLine(op, "", "alice"))
	first, err := openTerminal(t, p.dialKey(t, "alice", op), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	first.waitFor(0, 10*time.Second, "alice (viewer)")

	second, err := openTerminal(t, p.dialKey(t, "alice", op), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.wait(5 * time.Second); err == nil || !strings.Contains(second.errText(), "1 sessions open (the limit)") {
		t.Errorf("the session over the limit: %v, stderr %q", err, second.errText())
	}

	// No input: the first session is closed, and says why.
	start := time.Now()
	if err := first.wait(10 * time.Second); err != nil {
		t.Fatalf("idle session: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("closed after %s, before the idle timeout", d)
	}
	if !strings.Contains(first.text(), "no input for 2s: session closed") {
		t.Errorf("the idle session was not told why:\n%s", tail(first.text(), 500))
	}
	// Its slot is free again.
	deadline := time.Now().Add(5 * time.Second)
	for p.srv.Sessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	third, err := openTerminal(t, p.dialKey(t, "alice", op), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	third.waitFor(0, 10*time.Second, "alice (viewer)")
}

func TestHostKey(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "host_key")
	keys, err := LoadAuthorizedKeys(writeTemp(t, authLine(newSigner(t), "", "x")), nil)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := New(Options{HostKeyPath: path, AuthorizedKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("generated host key mode %04o, want 0600", fi.Mode().Perm())
	}
	if !strings.HasPrefix(s1.HostKeyFingerprint(), "SHA256:") {
		t.Errorf("fingerprint %q", s1.HostKeyFingerprint())
	}
	s2, err := New(Options{HostKeyPath: path, AuthorizedKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if s1.HostKeyFingerprint() != s2.HostKeyFingerprint() {
		t.Error("the host key changed between two starts")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{HostKeyPath: path, AuthorizedKeys: keys}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a host key others can read: %v", err)
	}
}

func writeTemp(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "authorized_keys")
	writeKeys(t, p, lines...)
	return p
}

// fakeSession is just enough of an ssh.Session for the middleware.
type fakeSession struct {
	ssh.Session
	ctx    *fakeContext
	pub    ssh.PublicKey
	stderr bytes.Buffer
	exit   int
}

func (f *fakeSession) PublicKey() ssh.PublicKey { return f.pub }
func (f *fakeSession) Context() ssh.Context     { return f.ctx }
func (f *fakeSession) User() string             { return "mallory" }
func (f *fakeSession) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}
}
func (f *fakeSession) Stderr() io.ReadWriter { return &f.stderr }
func (f *fakeSession) Exit(code int) error   { f.exit = code; return nil }
func (f *fakeSession) Close() error          { return nil }

type fakeContext struct {
	ssh.Context
	mu     sync.Mutex
	values map[any]any
	perms  *ssh.Permissions
}

func (c *fakeContext) Value(k any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[k]
}

func (c *fakeContext) SetValue(k, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[k] = v
}

func (c *fakeContext) Permissions() *ssh.Permissions { return c.perms }
func (c *fakeContext) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}
}
func (c *fakeContext) User() string { return "mallory" }

// A client can have one key approved and authenticate with another (the
// public-key callback runs for keys that are only offered): the session
// must not go on.
func TestAuthenticationMiddlewareRefusesAnotherKey(t *testing.T) {
	t.Parallel()
	approved, used := newSigner(t), newSigner(t)
	keys, err := LoadAuthorizedKeys(writeTemp(t,
		authLine(approved, `environment="FLEETDECK_ROLE=operator"`, "a"),
		authLine(used, "", "b")), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{keys: keys, log: discard()}
	for _, tc := range []struct {
		name          string
		approved, sig gossh.Signer
		want          bool
	}{
		{"same key", approved, approved, true},
		{"other key", approved, used, false},
	} {
		ctx := &fakeContext{values: map[any]any{}, perms: &ssh.Permissions{Permissions: &gossh.Permissions{}}}
		if !s.authorize(ctx, tc.approved.PublicKey()) {
			t.Fatalf("%s: authorize refused an authorized key", tc.name)
		}
		sess := &fakeSession{ctx: ctx, pub: tc.sig.PublicKey()}
		ran := false
		s.authenticate(func(ssh.Session) { ran = true })(sess)
		if ran != tc.want {
			t.Errorf("%s: session ran = %v, want %v (stderr %q)", tc.name, ran, tc.want, sess.stderr.String())
		}
		if !tc.want && (sess.exit != 1 || !strings.Contains(sess.stderr.String(), "permission denied")) {
			t.Errorf("%s: refused without a word: exit %d, %q", tc.name, sess.exit, sess.stderr.String())
		}
	}
}

// The viewer's fleet service refuses mutations whatever the UI does.
func TestViewerOptions(t *testing.T) {
	t.Parallel()
	var seen []Identity
	s := &Server{o: Options{UI: ui.Options{Fleet: nopFleet{}, Commands: nopCommands{}},
		Session: func(o *ui.Options, id Identity) {
			seen = append(seen, id)
			o.Commands = nopCommands{} // a hook cannot give a viewer a command client
			o.ReadOnly = false
		}}}
	o := s.sessionOptions(Key{Role: RoleViewer, Fingerprint: "SHA256:x"}, "bob", nil)
	if len(seen) != 1 || seen[0] != (Identity{User: "bob", Fingerprint: "SHA256:x", Role: RoleViewer}) {
		t.Errorf("the hook saw %+v", seen)
	}
	if !o.ReadOnly || o.Commands != nil || o.User != "bob" || o.Role != "viewer" {
		t.Fatalf("viewer options: %+v", o)
	}
	if _, err := o.Fleet.Add(context.Background(), nil); !errors.Is(err, ErrReadOnly) {
		t.Errorf("viewer Add: %v", err)
	}
	if err := o.Fleet.Delete(context.Background(), "WBADT43452G296403"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("viewer Delete: %v", err)
	}
	if _, err := o.Fleet.List(context.Background(), nil); err != nil {
		t.Errorf("viewer List: %v", err)
	}
	op := s.sessionOptions(Key{Role: RoleOperator}, "alice", &access{})
	if op.ReadOnly || op.Commands == nil {
		t.Errorf("operator options: %+v", op)
	}
	// An operator's services check the key before every mutation
	// (TestEveryMutationRechecksTheKey), and only then reach the hook's.
	if g, ok := op.Fleet.(guardedFleet); !ok || g.FleetService != (nopFleet{}) {
		t.Errorf("operator fleet: %T", op.Fleet)
	}
	if g, ok := op.Commands.(guardedCommands); !ok || g.CommandService != (nopCommands{}) {
		t.Errorf("operator commands: %T", op.Commands)
	}
}

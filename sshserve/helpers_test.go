package sshserve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"
)

// newSigner returns a fresh Ed25519 key for a test client.
func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authLine is an authorized_keys line for s with the given options.
func authLine(s gossh.Signer, options, comment string) string {
	key := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))
	if options != "" {
		key = options + " " + key
	}
	return key + " " + comment
}

func writeKeys(t testing.TB, path string, lines ...string) {
	t.Helper()
	// Write-then-rename, as editors do: a reader never sees half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// running is a server serving on loopback for one test.
type running struct {
	srv      *Server
	addr     string
	hostKey  gossh.PublicKey
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

// serve starts a server with o on 127.0.0.1:0; it is stopped at cleanup.
func serve(t testing.TB, o Options) *running {
	t.Helper()
	if o.HostKeyPath == "" {
		o.HostKeyPath = filepath.Join(t.TempDir(), "host", "ssh_host_ed25519_key")
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	pubData, err := os.ReadFile(o.HostKeyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	hostKey, _, _, _, err := gossh.ParseAuthorizedKey(pubData)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, addr: ln.Addr().String(), hostKey: hostKey, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the server and waits for Serve to return.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.stopOnce.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Serve did not return after its context ended")
		}
	})
}

func (r *running) dial(user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", r.addr, &gossh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: gossh.FixedHostKey(r.hostKey),
		Timeout:         5 * time.Second,
	})
}

func (r *running) dialKey(t testing.TB, user string, s gossh.Signer) *gossh.Client {
	t.Helper()
	c, err := r.dial(user, gossh.PublicKeys(s))
	if err != nil {
		t.Fatalf("dial as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// terminal is a client session with a PTY: it keeps every byte the server
// wrote, and answers the queries a real terminal answers (background
// colour, device attributes) so the server's renderer need not time out.
type terminal struct {
	t     testing.TB
	sess  *gossh.Session
	stdin io.WriteCloser

	mu      sync.Mutex
	out     bytes.Buffer
	stderr  bytes.Buffer
	done    chan error
	discard bool  // count the output instead of keeping it (load tests)
	written int64 // bytes of output
}

type termWriter struct {
	term   *terminal
	stderr bool
}

var (
	queryBackground = []byte("\x1b]11;?")
	queryDA1        = []byte("\x1b[c")
)

func (w termWriter) Write(p []byte) (int, error) {
	tm := w.term
	tm.mu.Lock()
	switch {
	case w.stderr:
		tm.stderr.Write(p)
	case tm.discard:
		tm.written += int64(len(p))
	default:
		tm.written += int64(len(p))
		tm.out.Write(p)
	}
	tm.mu.Unlock()
	if !w.stderr {
		if bytes.Contains(p, queryBackground) {
			_, _ = tm.stdin.Write([]byte("\x1b]11;rgb:1111/1111/1111\x1b\\"))
		}
		if bytes.Contains(p, queryDA1) {
			_, _ = tm.stdin.Write([]byte("\x1b[?62;22c"))
		}
	}
	return len(p), nil
}

// openTerminal starts a shell session of w×h cells on c.
func openTerminal(t testing.TB, c *gossh.Client, w, h int) (*terminal, error) {
	return openTerminalOpts(t, c, w, h, false)
}

func openTerminalOpts(t testing.TB, c *gossh.Client, w, h int, discard bool) (*terminal, error) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("new session: %w", err)
	}
	tm := &terminal{t: t, sess: sess, done: make(chan error, 1), discard: discard}
	if tm.stdin, err = sess.StdinPipe(); err != nil {
		return nil, err
	}
	sess.Stdout = termWriter{term: tm}
	sess.Stderr = termWriter{term: tm, stderr: true}
	modes := gossh.TerminalModes{gossh.ECHO: 1, gossh.TTY_OP_ISPEED: 38400, gossh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("xterm-256color", h, w, modes); err != nil {
		return nil, fmt.Errorf("pty: %w", err)
	}
	if err := sess.Shell(); err != nil {
		return nil, fmt.Errorf("shell: %w", err)
	}
	go func() { tm.done <- sess.Wait() }()
	t.Cleanup(func() { sess.Close() })
	return tm, nil
}

// bytes is how much output the session has received.
func (tm *terminal) bytes() int64 {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.written
}

// text is everything the server wrote, without escape sequences.
func (tm *terminal) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String())
}

func (tm *terminal) errText() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.stderr.String()
}

// mark returns the current length of the output, for since.
func (tm *terminal) mark() int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.Len()
}

// since is the text written after mark m.
func (tm *terminal) since(m int) string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String()[m:])
}

// waitFor waits until the output after mark m contains every part.
func (tm *terminal) waitFor(m int, timeout time.Duration, parts ...string) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.since(m)
		missing := ""
		for _, p := range parts {
			if !strings.Contains(s, p) {
				missing = p
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never showed %q; last output:\n%s", missing, tail(s, 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *terminal) waitMatch(m int, timeout time.Duration, re *regexp.Regexp) {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for !re.MatchString(tm.since(m)) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("screen never matched %s; last output:\n%s", re, tail(tm.since(m), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// typeKeys sends keystrokes, one write each, with a pause between them so
// that Bubble Tea reads each as its own key.
func (tm *terminal) typeKeys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if _, err := tm.stdin.Write([]byte(k)); err != nil {
			tm.t.Fatalf("type %q: %v", k, err)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

// wait waits for the session to end.
func (tm *terminal) wait(timeout time.Duration) error {
	select {
	case err := <-tm.done:
		return err
	case <-time.After(timeout):
		return errors.New("session still open")
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

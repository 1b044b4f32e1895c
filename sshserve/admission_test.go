package sshserve

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// dialFrom opens a TCP connection to addr from the loopback address src
// (every 127.0.0.0/8 address is this machine), closed at cleanup.
func dialFrom(t testing.TB, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// greeted reports whether the server sent its SSH version line on c, or
// closed it first.
func greeted(t testing.TB, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	switch {
	case err == nil:
		if !strings.HasPrefix(line, "SSH-2.0-") {
			t.Fatalf("server sent %q", line)
		}
		return true
	case errors.Is(err, io.EOF) || isReset(err):
		return false
	}
	t.Fatalf("waiting for the server's version: %v", err)
	return false
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

// closedWithin waits for the server to close c (which has been greeted).
func closedWithin(c net.Conn, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(d))
	buf := make([]byte, 256)
	for {
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return time.Since(start), false
			}
			return time.Since(start), true
		}
	}
}

// A connection that does not authenticate within the login grace time is
// closed: whether it says nothing at all, or stops after the key exchange.
func TestLoginGrace(t *testing.T) {
	t.Parallel()
	op := newSigner(t)
	const grace = 400 * time.Millisecond
	p := servePlain(t, Options{LoginGrace: grace}, authLine(op, "", "alice"))

	silent := dialFrom(t, "127.0.0.21", p.addr)
	if !greeted(t, silent) {
		t.Fatal("a new connection was closed at once")
	}
	if d, closed := closedWithin(silent, 5*time.Second); !closed || d > grace+time.Second {
		t.Errorf("a silent connection: closed %v after %v", closed, d)
	}

	// The key exchange done, the client takes its time to offer a key: the
	// server has closed the connection by the time it does.
	stalled := make(chan struct{})
	dialed := make(chan error, 1)
	go func() {
		_, err := p.dial("alice", gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
			close(stalled)
			time.Sleep(grace + time.Second)
			return []gossh.Signer{op}, nil
		}))
		dialed <- err
	}()
	<-stalled
	if n := p.srv.Unauthenticated(); n != 1 {
		t.Errorf("%d connections authenticating during the stall, want 1", n)
	}
	waitUnauthenticated(t, p.srv, 0)
	if err := <-dialed; err == nil {
		t.Error("a client that offered its key after the login grace time logged in")
	}

	// A login well within the grace time is not cut, and a console stays
	// open past it.
	tm, err := openTerminal(t, p.dialKey(t, "alice", op), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor(0, 10*time.Second, "alice (viewer)")
	time.Sleep(2 * grace)
	if err := tm.wait(10 * time.Millisecond); err == nil {
		t.Error("the console ended at the login grace time")
	}
	waitUnauthenticated(t, p.srv, 0)
}

func waitUnauthenticated(t *testing.T, s *Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Unauthenticated() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted as authenticating, want %d", s.Unauthenticated(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Connections not yet authenticated are bounded per source address (the
// next ones are closed at once) and in total (a newcomer closes the oldest
// connection of the source holding the most), so idle connections cannot
// keep an operator out.
func TestStartupLimits(t *testing.T) {
	t.Parallel()
	op := newSigner(t)
	p := servePlain(t, Options{MaxStartups: 6, MaxStartupsPerSource: 3}, authLine(op, "", "alice"))

	var first []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.31", p.addr)
		if !greeted(t, c) {
			t.Fatal("a connection under the per-address limit was closed")
		}
		first = append(first, c)
	}
	if greeted(t, dialFrom(t, "127.0.0.31", p.addr)) {
		t.Error("a 4th connection from one address was served (limit 3)")
	}
	for range 3 {
		if !greeted(t, dialFrom(t, "127.0.0.32", p.addr)) {
			t.Fatal("a connection from a second address was closed")
		}
	}
	waitUnauthenticated(t, p.srv, 6)

	// Full: a newcomer from a third address is served, and the oldest
	// connection of a busiest address (both hold 3) makes room.
	if !greeted(t, dialFrom(t, "127.0.0.33", p.addr)) {
		t.Fatal("a newcomer was refused when the server was full")
	}
	if _, closed := closedWithin(first[0], 2*time.Second); !closed {
		t.Error("the oldest connection of the busiest address was not closed")
	}
	if _, closed := closedWithin(first[1], 200*time.Millisecond); closed {
		t.Error("more than one connection was closed for one newcomer")
	}
	if n := p.srv.Unauthenticated(); n != 6 {
		t.Errorf("%d connections authenticating, want 6", n)
	}

	// The operator gets in while the server is full of idle connections.
	start := time.Now()
	c := p.dialKey(t, "alice", op)
	t.Logf("login while full: %v", time.Since(start).Round(time.Millisecond))
	tm, err := openTerminal(t, c, 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor(0, 10*time.Second, "alice (viewer)")
	if !strings.Contains(p.log.String(), "unauthenticated connections closed") {
		t.Errorf("the closed connections were not logged:\n%s", p.log.String())
	}
}

// One key cannot take every session.
func TestSessionsPerKey(t *testing.T) {
	t.Parallel()
	alice, bob := newSigner(t), newSigner(t)
	p := servePlain(t, Options{MaxSessionsPerKey: 1}, authLine(alice, "", "alice"), authLine(bob, "", "bob"))
	first, err := openTerminal(t, p.dialKey(t, "alice", alice), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	first.waitFor(0, 10*time.Second, "alice (viewer)")
	second, err := openTerminal(t, p.dialKey(t, "alice", alice), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.wait(5 * time.Second); err == nil || !strings.Contains(second.errText(), "this key already has 1 sessions open (the limit per key)") {
		t.Errorf("a second session of one key: %v, stderr %q", err, second.errText())
	}
	other, err := openTerminal(t, p.dialKey(t, "bob", bob), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	other.waitFor(0, 10*time.Second, "bob (viewer)")
	// The slot is the key's again once its session ends.
	first.typeKeys("q")
	if err := first.wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.srv.Sessions() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	again, err := openTerminal(t, p.dialKey(t, "alice", alice), 80, 24)
	if err != nil {
		t.Fatal(err)
	}
	again.waitFor(0, 10*time.Second, "alice (viewer)")
}

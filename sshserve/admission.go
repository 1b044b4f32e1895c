package sshserve

import (
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Defaults of the limits on connections that have not authenticated yet,
// after OpenSSH's LoginGraceTime and MaxStartups.
const (
	// DefaultLoginGrace is how long a connection has, from accept, to
	// authenticate (OpenSSH: LoginGraceTime, 120 s there; a key login takes
	// well under a second).
	DefaultLoginGrace = 10 * time.Second
	// DefaultMaxStartups bounds the connections authenticating at once.
	DefaultMaxStartups = 128
	// DefaultMaxStartupsPerSource bounds them per source address (an IPv4
	// address, an IPv6 /64).
	DefaultMaxStartupsPerSource = 10
)

// admission keeps the connections that have not authenticated yet in
// bounds, so that whoever can reach the port cannot take every file
// descriptor or lock the operators out:
//
//   - each has LoginGrace from accept to authenticate, then it is closed;
//   - a source address with MaxStartupsPerSource of them gets its next ones
//     closed at once (cheap: no key exchange);
//   - when MaxStartups are in progress, a new connection closes the oldest
//     of the source holding the most, instead of being refused: idle
//     connections cannot hold the server full, because a login in progress
//     is younger than any of them and is only displaced by that many new
//     connections arriving during its own handshake.
type admission struct {
	grace     time.Duration // ≤ 0: none
	total     int           // ≤ 0: no limit
	perSource int           // ≤ 0: no limit
	log       *slog.Logger

	mu       sync.Mutex
	pending  []*pendingConn // oldest first
	bySource map[string]int
	counts   admissionCounts
	logged   time.Time
}

// admissionCounts are what the admission did since the server started.
type admissionCounts struct {
	Refused int // over the per-source limit: closed at accept
	Evicted int // the oldest of the busiest source, closed for a newcomer
	Expired int // did not authenticate within the grace period
}

// pendingConn is a connection until it authenticates.
type pendingConn struct {
	net.Conn
	a      *admission
	source string
	timer  *time.Timer
	done   bool // admitted, expired, evicted or closed: no longer counted (under a.mu)
}

// ctxPending carries a connection's pendingConn to the authentication log
// callback, which admits it.
var ctxPending = &ctxKey{"pending-connection"}

func newAdmission(grace time.Duration, total, perSource int, log *slog.Logger) *admission {
	return &admission{grace: grace, total: total, perSource: perSource, log: log, bySource: map[string]int{}}
}

// sourceKey groups addresses the way one client holds them: an IPv4
// address, or an IPv6 /64 (one host usually has a whole /64 to pick from).
func sourceKey(addr net.Addr) string {
	ip := addrIP(addr)
	if ip == nil {
		return addr.String()
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// listener applies the admission in the accept loop itself: a connection
// refused or evicted costs an accept and a close, not a goroutine and a
// context of the SSH server's, so a flood is turned away as fast as it
// comes, and a login waits less behind it in the kernel's accept queue.
type listener struct {
	net.Listener
	a *admission
}

func (l listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if pc := l.a.admit(c); pc != nil {
			return pc, nil
		}
		_ = c.Close()
	}
}

// connCallback is the server's ConnCallback: it hands the connection's
// pendingConn to the authentication log callback, through the context.
func (a *admission) connCallback(ctx ssh.Context, c net.Conn) net.Conn {
	if pc, ok := c.(*pendingConn); ok {
		ctx.SetValue(ctxPending, pc)
	}
	return c
}

// admit counts c in, or returns nil when its source is at its limit.
func (a *admission) admit(c net.Conn) *pendingConn {
	pc := &pendingConn{Conn: c, a: a, source: sourceKey(c.RemoteAddr())}
	var victim *pendingConn
	a.mu.Lock()
	if a.perSource > 0 && a.bySource[pc.source] >= a.perSource {
		a.counts.Refused++
		a.report()
		a.mu.Unlock()
		return nil
	}
	if a.total > 0 && len(a.pending) >= a.total {
		victim = a.victim(pc.source)
		a.drop(victim)
		a.counts.Evicted++
		a.report()
	}
	a.pending = append(a.pending, pc)
	a.bySource[pc.source]++
	if a.grace > 0 {
		pc.timer = time.AfterFunc(a.grace, pc.expire)
	}
	a.mu.Unlock()
	if victim != nil {
		_ = victim.Conn.Close()
	}
	return pc
}

// victim picks the connection to close for a newcomer from source: the
// oldest of the source with the most connections in progress (the
// newcomer counted), the oldest overall among sources that hold as many.
func (a *admission) victim(source string) *pendingConn {
	most := 0
	for s, n := range a.bySource {
		if s == source {
			n++
		}
		most = max(most, n)
	}
	for _, pc := range a.pending {
		n := a.bySource[pc.source]
		if pc.source == source {
			n++
		}
		if n == most {
			return pc
		}
	}
	return a.pending[0] // not reached: the busiest source has a connection
}

// drop stops counting pc. Under a.mu.
func (a *admission) drop(pc *pendingConn) {
	if pc.done {
		return
	}
	pc.done = true
	if pc.timer != nil {
		pc.timer.Stop()
	}
	for i, p := range a.pending {
		if p == pc {
			a.pending = append(a.pending[:i], a.pending[i+1:]...)
			break
		}
	}
	if a.bySource[pc.source]--; a.bySource[pc.source] <= 0 {
		delete(a.bySource, pc.source)
	}
}

// report logs what the admission closed, at most every 10 s: whoever
// floods the port must not flood the log too. Under a.mu.
func (a *admission) report() {
	if now := time.Now(); now.Sub(a.logged) >= 10*time.Second {
		a.logged = now
		a.log.Warn("ssh: unauthenticated connections closed to keep the server reachable (totals since start)",
			"refused_per_address", a.counts.Refused, "evicted_oldest", a.counts.Evicted, "login_grace_expired", a.counts.Expired,
			"in_progress", len(a.pending), "max_startups", a.total, "max_startups_per_address", a.perSource)
	}
}

// authLog is the ServerConfig's AuthLogCallback: a nil error is a
// successful authentication, after which the connection no longer counts
// (and its grace timer stops).
func (a *admission) authLog(ctx ssh.Context) func(gossh.ConnMetadata, string, error) {
	return func(_ gossh.ConnMetadata, _ string, err error) {
		if err != nil {
			return
		}
		if pc, ok := ctx.Value(ctxPending).(*pendingConn); ok {
			a.mu.Lock()
			a.drop(pc)
			a.mu.Unlock()
		}
	}
}

// expire closes a connection that did not authenticate in time.
func (pc *pendingConn) expire() {
	a := pc.a
	a.mu.Lock()
	if pc.done {
		a.mu.Unlock()
		return
	}
	a.drop(pc)
	a.counts.Expired++
	a.report()
	a.mu.Unlock()
	a.log.Debug("ssh: connection closed: not authenticated within the login grace time", "remote", remote(pc.RemoteAddr()), "grace", a.grace)
	_ = pc.Conn.Close()
}

// Close stops counting the connection and closes it.
func (pc *pendingConn) Close() error {
	pc.a.mu.Lock()
	pc.a.drop(pc)
	pc.a.mu.Unlock()
	return pc.Conn.Close()
}

// state is the number of connections in progress and what was closed.
func (a *admission) state() (int, admissionCounts) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending), a.counts
}

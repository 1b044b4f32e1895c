// Package sshserve serves the fleetdeck console over SSH (wish): public-key
// authentication against an authorized_keys file whose options give each key
// a role, one Bubble Tea program and one renderer per session, and one
// backend (one MQTT connection, one token cache, one clearance poller) for
// every session.
package sshserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/ui"
)

// Defaults for Options.
const (
	DefaultMaxSessions       = 32
	DefaultMaxSessionsPerKey = 8
	DefaultFPS               = 30
	DefaultShutdownGrace     = 10 * time.Second
)

// Options configure a Server.
type Options struct {
	// Addr is where to listen (ListenAndServe), e.g. ":2222".
	Addr string
	// HostKeyPath is the server's private key; an Ed25519 key is generated
	// there (0600) when the file does not exist.
	HostKeyPath string
	// AuthorizedKeys says who may log in and in which role.
	AuthorizedKeys *AuthorizedKeys
	// MaxSessions bounds the consoles open at once; the next one is told
	// and refused. 0 means DefaultMaxSessions, < 0 no limit.
	MaxSessions int
	// MaxSessionsPerKey bounds the consoles one key has open at once, so
	// that one key cannot take every session. 0 means
	// DefaultMaxSessionsPerKey, < 0 no limit.
	MaxSessionsPerKey int
	// LoginGrace is how long a connection has, from accept, to
	// authenticate before it is closed (OpenSSH's LoginGraceTime). 0 means
	// DefaultLoginGrace, < 0 no limit.
	LoginGrace time.Duration
	// MaxStartups bounds the connections not yet authenticated; when it is
	// reached, a new one closes the oldest of the source address holding
	// the most. 0 means DefaultMaxStartups, < 0 no limit.
	MaxStartups int
	// MaxStartupsPerSource bounds them per source address (IPv4 address,
	// IPv6 /64); the next ones from there are closed at once. 0 means
	// DefaultMaxStartupsPerSource, < 0 no limit.
	MaxStartupsPerSource int
	// IdleTimeout closes a session that had no key or mouse input for this
	// long (0: never).
	IdleTimeout time.Duration
	// FPS caps each session's redraws (0: DefaultFPS).
	FPS int
	// ShutdownGrace is how long sessions get, when the server stops, to
	// finish what they have in flight (a command being followed, a revoke)
	// before they are closed. 0 means DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// UI is the console every session gets, with the shared backend's
	// providers. Renderer, ReadOnly, User and Role are set per session.
	UI ui.Options
	// KeysCheckInterval is how often open sessions are checked against the
	// authorized keys file as it is now: a removed or expired key's session
	// is ended, a demoted key's turns read-only (every mutating action also
	// checks, whatever the interval). 0 means DefaultKeysCheckInterval.
	KeysCheckInterval time.Duration
	// Session, if set, adjusts each session's console before its role's
	// limits are applied, e.g. to journal the session's actions under its
	// identity. It cannot widen a viewer's access: the limits come after.
	Session func(o *ui.Options, id Identity)
	// Logger receives connection and authentication events (nil: discard).
	Logger *slog.Logger
}

// Identity is who a session is.
type Identity struct {
	User        string // the name the client gave (not verified: any name goes with a key)
	Fingerprint string // the key that authenticated, SHA256:…
	Comment     string // that key's comment in the authorized keys file
	Role        Role
}

// Server is the console over SSH.
type Server struct {
	o      Options
	log    *slog.Logger
	keys   *AuthorizedKeys
	srv    *ssh.Server
	hostFP string
	admit  *admission

	mu       sync.Mutex
	sessions int
	perKey   map[string]int // consoles open, by key fingerprint
	live     map[*liveSession]struct{}
	closing  bool
	deadline time.Time
	shutdown chan struct{} // closed when the server stops: sessions wind down
	handlers sync.WaitGroup
}

// Context keys of a connection.
type ctxKey struct{ name string }

var (
	ctxApprovedFingerprint = &ctxKey{"approved-fingerprint"}
	ctxSessionKey          = &ctxKey{"session-key"}
)

// permFingerprint carries the approved key's fingerprint in the
// permissions gossh hands back for the key that actually authenticated.
const permFingerprint = "fleetdeck-pubkey-fp"

// New prepares a server: the host key (generated if missing) and the
// middleware chain. Nothing listens until Serve.
func New(o Options) (*Server, error) {
	if o.AuthorizedKeys == nil {
		return nil, errors.New("ssh server: no authorized keys")
	}
	if o.HostKeyPath == "" {
		return nil, errors.New("ssh server: no host key path")
	}
	o.MaxSessions = orDefault(o.MaxSessions, DefaultMaxSessions)
	o.MaxSessionsPerKey = orDefault(o.MaxSessionsPerKey, DefaultMaxSessionsPerKey)
	o.MaxStartups = orDefault(o.MaxStartups, DefaultMaxStartups)
	o.MaxStartupsPerSource = orDefault(o.MaxStartupsPerSource, DefaultMaxStartupsPerSource)
	o.LoginGrace = orDefault(o.LoginGrace, DefaultLoginGrace)
	if o.KeysCheckInterval <= 0 {
		o.KeysCheckInterval = DefaultKeysCheckInterval
	}
	if o.FPS <= 0 {
		o.FPS = DefaultFPS
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fp, err := ensureHostKey(o.HostKeyPath)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	s := &Server{
		o: o, log: log, keys: o.AuthorizedKeys, hostFP: fp, shutdown: make(chan struct{}), perKey: map[string]int{}, live: map[*liveSession]struct{}{},
		admit: newAdmission(o.LoginGrace, o.MaxStartups, o.MaxStartupsPerSource, log),
	}
	opts := []ssh.Option{
		wish.WithAddress(o.Addr),
		wish.WithHostKeyPath(o.HostKeyPath),
		// Public keys only: no password or keyboard-interactive handler, so
		// the server offers no other method.
		wish.WithPublicKeyAuth(s.authorize),
		ssh.AllocatePty(),
		// Middlewares run last to first: logging, then the key check, then
		// the session limit, the terminal check, and the console.
		wish.WithMiddleware(
			s.console,
			s.requireTerminal,
			s.limitSessions,
			s.authenticate,
			s.logSessions,
		),
	}
	if o.IdleTimeout > 0 {
		// A backstop for connections that never open a console, or a
		// client gone silent. A console's own idle check (no input, which
		// says goodbye) is in the session model and comes first: screen
		// updates keep the connection busy, but a still screen does not.
		opts = append(opts, wish.WithIdleTimeout(o.IdleTimeout+maxIdleCheck+5*time.Second))
	}
	srv, err := wish.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		log.Debug("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
	}
	// Every connection is counted until it authenticates, and closed if it
	// takes longer than LoginGrace (see admission; Serve wraps the
	// listener).
	srv.ConnCallback = s.admit.connCallback
	srv.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{AuthLogCallback: s.admit.authLog(ctx)}
	}
	s.srv = srv
	return s, nil
}

// HostKeyFingerprint is the host key's SHA256 fingerprint, as ssh shows it
// on first connection.
func (s *Server) HostKeyFingerprint() string { return s.hostFP }

// orDefault is v, or def when v is zero; a negative v (no limit) stays.
func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Unauthenticated is the number of connections that have not
// authenticated yet.
func (s *Server) Unauthenticated() int {
	n, _ := s.admit.state()
	return n
}

// Sessions is the number of consoles open now.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// ListenAndServe listens on Options.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("ssh server: listen on %s: %w", s.o.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully: no new logins, every session is told and gets ShutdownGrace
// to finish what it has in flight, then whatever is left is closed. It
// returns nil after a shutdown, or the error that stopped the listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.log.Info("ssh server listening", "addr", ln.Addr().String(), "host_key", s.hostFP)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		s.watchKeys(watchCtx)
	}()
	defer func() {
		stopWatch()
		<-watching
	}()
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(listener{Listener: ln, a: s.admit}) }()
	select {
	case err := <-errc:
		s.stop()
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("ssh server: %w", err)
	case <-ctx.Done():
	}
	s.stop()
	<-errc
	return nil
}

// stop tells every session to wind down and waits for them, up to the
// grace period and a little more for their connections to close.
func (s *Server) stop() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.deadline = time.Now().Add(s.o.ShutdownGrace)
	open := s.sessions
	close(s.shutdown)
	s.mu.Unlock()
	s.log.Info("ssh server shutting down", "sessions", open, "grace", s.o.ShutdownGrace)

	ctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownGrace+2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.log.Warn("ssh server: connections still open after the grace period: closing them", "err", err)
	}
	// Close also ends connections that hold no session (or a client that
	// keeps its connection after its session ended).
	_ = s.srv.Close()
	s.handlers.Wait()
}

// authorize is the public-key handler: the key must be in the file as it
// is now and allowed from this address.
func (s *Server) authorize(ctx ssh.Context, pub ssh.PublicKey) bool {
	k, ok := s.keys.Lookup(pub)
	if ok && !k.Permits(ctx.RemoteAddr(), time.Now()) {
		s.log.Info("ssh key refused by its from= or expiry-time= option", "user", ctx.User(), "remote", remote(ctx.RemoteAddr()), "fingerprint", k.Fingerprint, "line", k.Line)
		return false
	}
	if !ok {
		s.log.Info("ssh key refused: not in authorized keys", "user", ctx.User(), "remote", remote(ctx.RemoteAddr()), "fingerprint", gossh.FingerprintSHA256(pub))
		return false
	}
	// soft-serve's pattern: remember the key approved here, and check in
	// the session that it is the key the client proved it holds.
	perms := ctx.Permissions()
	if perms.Extensions == nil {
		perms.Extensions = map[string]string{}
	}
	perms.Extensions[permFingerprint] = k.Fingerprint
	ctx.SetValue(ctxApprovedFingerprint, k.Fingerprint)
	return true
}

// authenticate is soft-serve's AuthenticationMiddleware: gossh calls the
// public-key handler for every key a client offers, signed or not, so the
// last key approved need not be the key the session authenticated with.
// The session goes on only when they are the same key, still authorized.
func (s *Server) authenticate(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		pub := sess.PublicKey()
		if pub == nil {
			s.refuse(sess, "permission denied", "no public key")
			return
		}
		fp := gossh.FingerprintSHA256(pub)
		ctx := sess.Context()
		approved, _ := ctx.Value(ctxApprovedFingerprint).(string)
		var permFP string
		if p := ctx.Permissions().Permissions; p != nil {
			permFP = p.Extensions[permFingerprint]
		}
		if fp != approved || fp != permFP {
			s.refuse(sess, "permission denied", "the key used is not the key approved", "fingerprint", fp)
			return
		}
		// The file may have changed since the handshake.
		k, ok := s.keys.Lookup(pub)
		if !ok || !k.Permits(sess.RemoteAddr(), time.Now()) {
			s.refuse(sess, "permission denied", "key no longer authorized", "fingerprint", fp)
			return
		}
		ctx.SetValue(ctxSessionKey, k)
		next(sess)
	}
}

// limitSessions refuses a console beyond MaxSessions, or beyond
// MaxSessionsPerKey for the key it authenticated with, and any console
// once the server is stopping.
func (s *Server) limitSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		k, _ := sess.Context().Value(ctxSessionKey).(Key)
		s.mu.Lock()
		switch {
		case s.closing:
			s.mu.Unlock()
			s.refuse(sess, "fleetdeck is shutting down: try again in a moment", "shutting down")
			return
		case s.o.MaxSessions > 0 && s.sessions >= s.o.MaxSessions:
			s.mu.Unlock()
			s.refuse(sess, fmt.Sprintf("fleetdeck already has %d sessions open (the limit): try again later", s.o.MaxSessions), "session limit")
			return
		case s.o.MaxSessionsPerKey > 0 && s.perKey[k.Fingerprint] >= s.o.MaxSessionsPerKey:
			s.mu.Unlock()
			s.refuse(sess, fmt.Sprintf("this key already has %d sessions open (the limit per key): close one first", s.o.MaxSessionsPerKey),
				"session limit per key", "fingerprint", k.Fingerprint)
			return
		}
		s.sessions++
		s.perKey[k.Fingerprint]++
		s.handlers.Add(1)
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.sessions--
			if s.perKey[k.Fingerprint]--; s.perKey[k.Fingerprint] <= 0 {
				delete(s.perKey, k.Fingerprint)
			}
			s.mu.Unlock()
			s.handlers.Done()
		}()
		next(sess)
	}
}

// requireTerminal is activeterm's check, plus: the server runs the console
// and nothing else.
func (s *Server) requireTerminal(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			s.refuse(sess, "fleetdeck needs a terminal: connect with ssh -t", "no pty")
			return
		}
		if sess.RawCommand() != "" || sess.Subsystem() != "" {
			s.refuse(sess, "fleetdeck runs only its console: connect without a command", "command refused")
			return
		}
		next(sess)
	}
}

// logSessions logs each session's start and end to the server's logger
// (wish's logging middleware would write to the terminal's stderr).
func (s *Server) logSessions(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		start := time.Now()
		pty, _, _ := sess.Pty()
		s.log.Info("ssh session start", "user", sess.User(), "remote", remote(sess.RemoteAddr()),
			"term", pty.Term, "width", pty.Window.Width, "height", pty.Window.Height, "client", sess.Context().ClientVersion())
		next(sess)
		attrs := []any{"user", sess.User(), "remote", remote(sess.RemoteAddr()), "duration", time.Since(start).Round(time.Millisecond)}
		if k, ok := sess.Context().Value(ctxSessionKey).(Key); ok {
			attrs = append(attrs, "fingerprint", k.Fingerprint, "role", k.Role)
		}
		s.log.Info("ssh session end", attrs...)
	}
}

// refuse tells the client why (on its stderr) and ends the session.
func (s *Server) refuse(sess ssh.Session, tell, reason string, attrs ...any) {
	s.log.Info("ssh session refused", append([]any{"user", sess.User(), "remote", remote(sess.RemoteAddr()), "reason", reason}, attrs...)...)
	wish.Fatalln(sess, "fleetdeck: "+tell)
}

func remote(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// sessionOptions is the console for one session: the shared providers, the
// session's renderer and identity, and for a viewer no way to change
// anything: no command client at all, and a fleet service that refuses
// adds and revokes whatever keys arrive. An operator's services ask acc
// before every add, revoke and send, so a key removed or demoted a moment
// ago cannot act.
func (s *Server) sessionOptions(k Key, user string, acc *access) ui.Options {
	o := s.o.UI
	o.User = user
	o.Role = string(k.Role)
	if s.o.Session != nil {
		s.o.Session(&o, Identity{User: user, Fingerprint: k.Fingerprint, Comment: k.Comment, Role: k.Role})
	}
	if !k.Role.CanMutate() {
		o.ReadOnly = true
		o.Commands = nil
		if o.Fleet != nil {
			o.Fleet = readOnlyFleet{o.Fleet}
		}
		if o.Approvals != nil {
			o.Approvals = readOnlyApprovals{o.Approvals}
		}
		return o
	}
	if o.Fleet != nil {
		o.Fleet = guardedFleet{FleetService: o.Fleet, acc: acc}
	}
	if o.Commands != nil {
		o.Commands = guardedCommands{CommandService: o.Commands, acc: acc}
	}
	if o.Approvals != nil {
		o.Approvals = guardedApprovals{ApprovalService: o.Approvals, acc: acc}
	}
	return o
}

// Package broker runs the sandbox's MQTT broker: an embedded mochi server on
// loopback that only speaks TLS with client certificates, like High
// Mobility's production broker, so the console's telemetry path is exercised
// exactly as it is against the real service.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddr listens on loopback only, on a free port.
const DefaultAddr = "127.0.0.1:0"

// ErrUnavailable is returned by Publish while the broker restarts or after
// it closed.
var ErrUnavailable = errors.New("mqtt broker unavailable")

const (
	// handshakeTimeout bounds how long an accepted connection may take to
	// finish TLS and send CONNECT; mochi itself waits forever before CONNECT.
	handshakeTimeout = 10 * time.Second
	// rebindTimeout bounds Restart's retries when the port is briefly taken.
	rebindTimeout = 5 * time.Second
	// closeGrace is how long a graceful server close may take before the
	// remaining connections are cut.
	closeGrace = 3 * time.Second
)

// Options configures Start.
type Options struct {
	Addr   string       // listen address; default DefaultAddr
	Dir    string       // where ca.pem, server.pem, server-key.pem, client.pem, client-key.pem are written (0600)
	Logger *slog.Logger // nil: discard
}

// Broker is a running embedded broker. Its methods are safe for concurrent
// use.
type Broker struct {
	log  *slog.Logger
	dir  string // absolute
	pki  *pki
	tls  *tls.Config
	addr string // the bound address, kept across Restart

	closeGrace time.Duration // closeGrace, shortened by tests

	mu  sync.RWMutex // guards srv; Publish holds it for reading
	srv *instance    // nil while restarting and after Close

	lifecycle sync.Mutex // serialises Restart and Close
	closed    bool
	stop      chan struct{} // closed by Close; ends the context watcher
	watcher   sync.WaitGroup
}

// Start generates fresh certificates into o.Dir and starts the broker. The
// broker closes when ctx ends or Close is called.
func Start(ctx context.Context, o Options) (*Broker, error) {
	if o.Dir == "" {
		return nil, errors.New("start mqtt broker: Options.Dir is required for the certificates")
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "mqtt-broker")

	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("start mqtt broker: certificate directory: %w", err)
	}
	p, err := generatePKI(dir, time.Now())
	if err != nil {
		return nil, fmt.Errorf("start mqtt broker: %w", err)
	}
	b := &Broker{
		log: log,
		dir: dir,
		pki: p,
		tls: &tls.Config{
			Certificates: []tls.Certificate{p.server},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    p.caPool,
			MinVersion:   tls.VersionTLS12,
		},
		stop:       make(chan struct{}),
		closeGrace: closeGrace,
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("start mqtt broker on %s: %w", o.Addr, err)
	}
	b.addr = ln.Addr().String()
	srv, err := b.serve(ln)
	if err != nil {
		return nil, fmt.Errorf("start mqtt broker on %s: %w", b.addr, err)
	}
	b.srv = srv
	log.Info("mqtt broker listening", "addr", b.addr, "tls", "mutual")

	b.watcher.Add(1)
	go func() {
		defer b.watcher.Done()
		select {
		case <-ctx.Done():
			_ = b.shutdown()
		case <-b.stop:
		}
	}()
	return b, nil
}

// Addr is the host:port the broker listens on (stable across Restart).
func (b *Broker) Addr() string { return b.addr }

// Files returns the absolute paths of the CA certificate, the client
// certificate and the client key a subscriber needs.
func (b *Broker) Files() (ca, cert, key string) {
	return filepath.Join(b.dir, CAFile), filepath.Join(b.dir, ClientCertFile), filepath.Join(b.dir, ClientKeyFile)
}

// ClientID is the common name of the client certificate, which High
// Mobility's console also hands out as the MQTT client id.
func (b *Broker) ClientID() string { return b.pki.clientID }

// Publish delivers payload to subscribers of topic. qos caps the delivery QoS
// (subscribers get min(qos, their subscription's QoS)).
func (b *Broker) Publish(topic string, payload []byte, qos byte) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.srv == nil {
		return fmt.Errorf("publish %s: %w", topic, ErrUnavailable)
	}
	if err := b.srv.server.Publish(topic, payload, false, qos); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// ClientCount is the number of connected MQTT clients (the broker's own
// inline publisher not included).
func (b *Broker) ClientCount() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.srv == nil {
		return 0
	}
	return int(atomic.LoadInt64(&b.srv.server.Info.ClientsConnected))
}

// Restart drops every connection and session and serves again on the same
// address with the same certificates, as a broker restart without
// persistence would.
func (b *Broker) Restart(ctx context.Context) error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	if b.closed {
		return fmt.Errorf("restart mqtt broker: %w", ErrUnavailable)
	}
	b.mu.Lock()
	old := b.srv
	b.srv = nil
	b.mu.Unlock()
	if old != nil {
		old.close(b.closeGrace)
	}

	ln, err := listenRetry(ctx, b.addr)
	if err != nil {
		return fmt.Errorf("restart mqtt broker on %s: %w", b.addr, err)
	}
	srv, err := b.serve(ln)
	if err != nil {
		return fmt.Errorf("restart mqtt broker on %s: %w", b.addr, err)
	}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	b.log.Info("mqtt broker restarted", "addr", b.addr)
	return nil
}

// Close stops the broker and disconnects every client. It is idempotent.
func (b *Broker) Close() error {
	err := b.shutdown()
	b.watcher.Wait()
	return err
}

func (b *Broker) shutdown() error {
	b.lifecycle.Lock()
	defer b.lifecycle.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	close(b.stop)
	b.mu.Lock()
	old := b.srv
	b.srv = nil
	b.mu.Unlock()
	if old != nil {
		old.close(b.closeGrace)
	}
	b.log.Info("mqtt broker stopped", "addr", b.addr)
	return nil
}

// listenRetry binds addr, retrying briefly: right after a close the port may
// still be held (a socket in TIME_WAIT without SO_REUSEADDR elsewhere, or a
// racing process).
func listenRetry(ctx context.Context, addr string) (net.Listener, error) {
	ctx, cancel := context.WithTimeout(ctx, rebindTimeout)
	defer cancel()
	var lc net.ListenConfig
	for {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err == nil {
			return ln, nil
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// instance is one mochi server generation; Restart replaces it.
type instance struct {
	server *mqtt.Server
	conns  *trackingListener
}

func (b *Broker) serve(raw net.Listener) (*instance, error) {
	caps := mqtt.NewDefaultServerCapabilities()
	// Sized for bursts of tens of thousands of messages a second to one
	// subscriber: a full write queue drops messages silently.
	caps.MaximumClientWritesPending = 64 * 1024
	caps.MaximumInflight = 16 * 1024
	// Bounded so an abandoned persistent session does not hold messages
	// for a day.
	caps.MaximumMessageExpiryInterval = 10 * 60
	caps.MaximumSessionExpiryInterval = 60 * 60

	server := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		// mochi's default logger writes to stdout, which the TUI owns.
		Logger:                   b.log,
		InlineClient:             true,
		ClientNetWriteBufferSize: 32 * 1024,
		ClientNetReadBufferSize:  8 * 1024,
		SysTopicResendInterval:   10,
	})
	// The TLS layer authenticates: only holders of a certificate from our CA
	// get this far.
	if err := server.AddHook(new(allowAll), nil); err != nil {
		raw.Close()
		return nil, fmt.Errorf("add auth hook: %w", err)
	}
	tracked := &trackingListener{Listener: raw, conns: make(map[*trackedConn]struct{})}
	if err := server.AddListener(listeners.NewNet("tls", tls.NewListener(tracked, b.tls))); err != nil {
		raw.Close()
		return nil, fmt.Errorf("add listener: %w", err)
	}
	if err := server.Serve(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	return &instance{server: server, conns: tracked}, nil
}

// close stops accepting, lets mochi disconnect its clients, and cuts any
// connection that is still open after grace (mochi waits for every
// connection, including ones that never finished their handshake).
func (in *instance) close(grace time.Duration) {
	_ = in.conns.Listener.Close()
	// mochi registers a connection with its wait group only once the
	// goroutine it spawns per connection runs; closing the server before
	// that would race the registration.
	in.conns.waitStarted(time.Second)

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = in.server.Close()
	}()
	select {
	case <-done:
	case <-time.After(grace):
		in.conns.closeAll()
		<-done
	}
}

// trackingListener remembers every accepted connection (below TLS) so a
// close can cut the ones mochi would wait on forever.
type trackingListener struct {
	net.Listener
	mu        sync.Mutex
	conns     map[*trackedConn]struct{}
	unstarted atomic.Int64 // accepted, not yet read by mochi
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	// mochi sets its own keepalive deadline once CONNECT arrives.
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	tc := &trackedConn{Conn: c, owner: l}
	l.unstarted.Add(1)
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

func (l *trackingListener) waitStarted(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for l.unstarted.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

type trackedConn struct {
	net.Conn
	owner   *trackingListener
	started sync.Once
	closed  sync.Once
}

func (c *trackedConn) markStarted() {
	c.started.Do(func() { c.owner.unstarted.Add(-1) })
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.markStarted()
	return c.Conn.Read(p)
}

func (c *trackedConn) Close() error {
	c.markStarted()
	c.closed.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.conns, c)
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}

// allowAll admits every client that completed the mutual-TLS handshake and
// lets it use every topic. (mochi's own auth.AllowHook would pull in its
// YAML ledger dependency for nothing.)
type allowAll struct{ mqtt.HookBase }

func (*allowAll) ID() string { return "allow-all-after-mtls" }

func (*allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

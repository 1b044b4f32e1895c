package stream

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	mochipackets "github.com/mochi-mqtt/server/v2/packets"
)

// testBroker is what the session tests need from a broker.
type testBroker interface {
	URL() string
	Publish(t testing.TB, topic string, payload []byte)
	Stop(t testing.TB)
	Start(t testing.TB)
	// StrictTopics: the broker refuses topics with control characters
	// (mosquitto validates UTF-8 strictly; mochi passes them on).
	StrictTopics() bool
}

// mochiBroker runs mochi in process with mutual TLS. A restart is a new
// server on the same address: sessions are gone, so only a client that
// subscribes again on every connection gets data afterwards.
type mochiBroker struct {
	pki    *testPKI
	addr   string
	server *mochi.Server
}

func startMochi(t testing.TB, pki *testPKI) *mochiBroker {
	b := &mochiBroker{pki: pki, addr: "127.0.0.1:0"}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *mochiBroker) Start(t testing.TB) {
	t.Helper()
	s := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := &tlsListener{addr: b.addr, cfg: b.pki.serverTLS()}
	var err error
	for i := 0; i < 50; i++ { // the old listener's port may take a moment to free
		if err = s.AddListener(l); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(); err != nil {
		t.Fatal(err)
	}
	b.addr = l.Address()
	b.server = s
}

// tlsListener is mochi's TCP listener with the closing order fixed: mochi
// disconnects its clients before it closes the listening socket, and a
// client that reconnects in between is accepted and then neither served nor
// closed, so it hangs until its connect timeout.
type tlsListener struct {
	addr string
	cfg  *tls.Config
	mu   sync.Mutex
	ln   net.Listener
	end  atomic.Bool
}

func (l *tlsListener) Init(*slog.Logger) error {
	ln, err := tls.Listen("tcp", l.addr, l.cfg)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

func (l *tlsListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.end.Load() {
			conn.Close()
			return
		}
		go func() { _ = establish("tls", conn) }()
	}
}

func (l *tlsListener) ID() string       { return "tls" }
func (l *tlsListener) Address() string  { return l.ln.Addr().String() }
func (l *tlsListener) Protocol() string { return "tcp" }
func (l *tlsListener) Close(closeClients listeners.CloseFn) {
	if l.end.CompareAndSwap(false, true) {
		_ = l.ln.Close()
		closeClients("tls")
	}
}

// allowAll admits every client that passed mutual TLS (mochi's own hook
// pulls in a YAML dependency the module does not have).
type allowAll struct{ mochi.HookBase }

func (h *allowAll) ID() string { return "allow-all" }
func (h *allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mochi.Client, mochipackets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mochi.Client, string, bool) bool                   { return true }

func (b *mochiBroker) Stop(t testing.TB) {
	if b.server != nil {
		_ = b.server.Close()
		b.server = nil
	}
}

func (b *mochiBroker) StrictTopics() bool { return false }

func (b *mochiBroker) URL() string { return "ssl://" + b.addr }

func (b *mochiBroker) Publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	if err := b.server.Publish(topic, payload, false, 1); err != nil {
		t.Fatal(err)
	}
}

// mosquittoBroker runs Debian's mosquitto with mutual TLS and persistence.
type mosquittoBroker struct {
	pki  *testPKI
	port int
	conf string
	cmd  *exec.Cmd
	pub  paho.Client
	log  bytes.Buffer // mosquitto's stderr, shown when a test fails
}

const mosquittoPath = "/usr/sbin/mosquitto"

func needMosquitto(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(mosquittoPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mosquitto is required in CI: %v", err)
		}
		t.Skipf("mosquitto not installed: %v", err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startMosquitto(t testing.TB, pki *testPKI) *mosquittoBroker {
	needMosquitto(t)
	b := &mosquittoBroker{pki: pki, port: freePort(t)}
	data := filepath.Join(pki.Dir, "mosquitto-data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`listener %d 127.0.0.1
cafile %s
certfile %s
keyfile %s
require_certificate true
allow_anonymous true
persistence true
persistence_location %s/
log_dest stderr
log_type error
log_type warning
`, b.port, pki.CA, pki.ServerCert, pki.ServerKey, data)
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to user mosquitto, which cannot
		// read the certificates in a 0700 temp dir.
		conf += "user root\n"
	}
	b.conf = filepath.Join(pki.Dir, "mosquitto.conf")
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *mosquittoBroker) Start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(mosquittoPath, "-c", b.conf)
	cmd.Stderr = &b.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b.cmd = cmd
	waitListening(t, fmt.Sprintf("127.0.0.1:%d", b.port))
	b.pub = connectPublisher(t, b.URL(), b.pki)
}

func (b *mosquittoBroker) Stop(t testing.TB) {
	if b.pub != nil {
		b.pub.Disconnect(0)
		b.pub = nil
	}
	if b.cmd != nil {
		_ = b.cmd.Process.Signal(syscall.SIGTERM) // saves the persistence file
		_ = b.cmd.Wait()
		b.cmd = nil
		if t.Failed() && b.log.Len() > 0 {
			t.Logf("mosquitto said:\n%s", b.log.String())
		}
	}
}

func (b *mosquittoBroker) StrictTopics() bool { return true }

func (b *mosquittoBroker) URL() string { return fmt.Sprintf("ssl://127.0.0.1:%d", b.port) }

func (b *mosquittoBroker) Publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	tok := b.pub.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker at %s did not come up: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func connectPublisher(t testing.TB, url string, pki *testPKI) paho.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).
		SetTLSConfig(&tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{cert}}).SetAutoReconnect(false)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	return c
}

// waitFor polls cond until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

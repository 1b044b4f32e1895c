package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

func startBroker(t *testing.T, log *slog.Logger) *Broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := Start(ctx, Options{Dir: t.TempDir(), Logger: log})
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
	})
	return b
}

// clientTLS builds the TLS configuration a subscriber derives from the files
// the broker wrote.
func clientTLS(t *testing.T, b *Broker) *tls.Config {
	t.Helper()
	ca, cert, key := b.Files()
	caPEM, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatalf("load client key pair: %v", err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

type pahoOpts struct {
	id        string
	reconnect bool
	onConnect func(paho.Client)
}

func newPaho(b *Broker, conf *tls.Config, o pahoOpts) paho.Client {
	opts := paho.NewClientOptions().
		AddBroker("ssl://" + b.Addr()).
		SetClientID(o.id).
		SetTLSConfig(conf).
		SetConnectTimeout(3 * time.Second).
		SetAutoReconnect(o.reconnect).
		SetMaxReconnectInterval(100 * time.Millisecond).
		SetConnectRetryInterval(100 * time.Millisecond).
		SetOrderMatters(false)
	if o.onConnect != nil {
		opts.SetOnConnectHandler(o.onConnect)
	}
	return paho.NewClient(opts)
}

func connect(t *testing.T, c paho.Client) {
	t.Helper()
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect timed out")
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { c.Disconnect(50) })
}

func subscribe(t *testing.T, c paho.Client, filter string, got chan<- paho.Message) {
	t.Helper()
	tok := c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m:
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
}

func receive(t *testing.T, got <-chan paho.Message) paho.Message {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

func TestCertifiedClientReceivesPublishedMessage(t *testing.T) {
	b := startBroker(t, nil)
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") || strings.HasSuffix(b.Addr(), ":0") {
		t.Fatalf("Addr() = %q, want 127.0.0.1 with a real port", b.Addr())
	}
	c := newPaho(b, clientTLS(t, b), pahoOpts{id: b.ClientID()})
	connect(t, c)
	got := make(chan paho.Message, 4)
	subscribe(t, c, "/live/level13/#", got)

	topic := "/live/level13/APP/VIN/diagnostics/get/odometer"
	payload := []byte(`{"message_id":"X"}`)
	if err := b.Publish(topic, payload, 1); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := receive(t, got)
	if m.Topic() != topic || !bytes.Equal(m.Payload(), payload) {
		t.Fatalf("got %s %s, want %s %s", m.Topic(), m.Payload(), topic, payload)
	}
	if m.Qos() != 1 {
		t.Errorf("delivered with QoS %d, want 1", m.Qos())
	}
	if n := b.ClientCount(); n != 1 {
		t.Errorf("ClientCount() = %d with one subscriber, want 1", n)
	}
}

func TestClientWithoutCertificateIsRefused(t *testing.T) {
	b := startBroker(t, nil)
	conf := clientTLS(t, b)
	conf.Certificates = nil
	c := newPaho(b, conf, pahoOpts{id: "no-cert"})
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect without certificate neither failed nor succeeded within 5s")
	}
	if tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("client without certificate was admitted")
	}
	if n := b.ClientCount(); n != 0 {
		t.Errorf("ClientCount() = %d, want 0", n)
	}
}

func TestClientWithForeignCertificateIsRefused(t *testing.T) {
	b := startBroker(t, nil)
	conf := clientTLS(t, b)
	conf.Certificates = []tls.Certificate{selfSigned(t)}
	c := newPaho(b, conf, pahoOpts{id: "foreign"})
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("connect timed out")
	}
	if tok.Error() == nil {
		c.Disconnect(0)
		t.Fatal("client with a certificate from another CA was admitted")
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "intruder"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestFilesArePrivateAndConsistent(t *testing.T) {
	dir := t.TempDir()
	// A stale, world-readable file from an earlier run must end up 0600 too.
	if err := os.WriteFile(filepath.Join(dir, ClientKeyFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ca, cert, key := b.Files()
	for _, p := range []string{ca, cert, key} {
		if !filepath.IsAbs(p) {
			t.Errorf("Files() path %q is not absolute", p)
		}
	}
	for _, name := range []string{CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", name, fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("dir holds %d entries, want the 5 certificate files (no temp files left)", len(entries))
	}

	caCert := parseCert(t, ca)
	if !caCert.IsCA {
		t.Error("ca.pem is not a CA certificate")
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	client := parseCert(t, cert)
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not chain to ca.pem for client auth: %v", err)
	}
	if client.Subject.CommonName != b.ClientID() {
		t.Errorf("client CN %q, ClientID() %q", client.Subject.CommonName, b.ClientID())
	}
	if _, ok := client.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("client key is %T, want ECDSA", client.PublicKey)
	}
	server := parseCert(t, filepath.Join(dir, ServerCertFile))
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := server.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("server certificate not valid for %s: %v", host, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		t.Errorf("client.pem and client-key.pem do not match: %v", err)
	}
}

func parseCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no CERTIFICATE block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestStartNeedsDir(t *testing.T) {
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

func TestRestartKeepsAddressAndClientReconnects(t *testing.T) {
	b := startBroker(t, nil)
	addr := b.Addr()
	got := make(chan paho.Message, 4)
	var connects atomic.Int32
	connected := make(chan struct{}, 4)
	c := newPaho(b, clientTLS(t, b), pahoOpts{id: "reconnecting", reconnect: true, onConnect: func(c paho.Client) {
		// Subscribing in OnConnect is what makes a reconnect resume the
		// feed after a broker lost its sessions.
		c.Subscribe("/live/#", 1, func(_ paho.Client, m paho.Message) {
			select {
			case got <- m:
			default:
			}
		}).WaitTimeout(5 * time.Second)
		connects.Add(1)
		connected <- struct{}{}
	}})
	connect(t, c)
	waitSignal(t, connected, "first connect")

	if err := b.Restart(context.Background()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if b.Addr() != addr {
		t.Fatalf("address changed across Restart: %s → %s", addr, b.Addr())
	}
	waitSignal(t, connected, "reconnect after Restart")
	if connects.Load() < 2 {
		t.Fatalf("OnConnect ran %d times, want a reconnect", connects.Load())
	}
	if err := b.Publish("/live/after-restart", []byte("x"), 1); err != nil {
		t.Fatalf("Publish after Restart: %v", err)
	}
	if m := receive(t, got); m.Topic() != "/live/after-restart" {
		t.Fatalf("got %s", m.Topic())
	}
	if n := b.ClientCount(); n != 1 {
		t.Errorf("ClientCount() after reconnect = %d, want 1", n)
	}
}

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: nothing within 5s", what)
	}
}

func TestPublishAfterCloseFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b, err := Start(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the context owns the broker
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := b.Publish("/t", nil, 0)
		if errors.Is(err, ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish after the context ended: %v, want ErrUnavailable", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after context end: %v", err)
	}
	if err := b.Restart(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Restart after Close: %v, want ErrUnavailable", err)
	}
	if _, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		t.Error("port still accepts connections after Close")
	}
}

// A connection that never completes its TLS handshake must not keep Close
// waiting (mochi waits for every accepted connection).
func TestCloseCutsStalledConnections(t *testing.T) {
	b := startBroker(t, nil)
	b.closeGrace = 200 * time.Millisecond
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // let the broker accept it
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a stalled connection", d)
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stalled connection still open after Close: %v", err)
	}
}

// mochi's default logger writes to stdout, where the TUI draws. Every
// record must go to our logger instead.
func TestNothingReachesStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = w
	var captured bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(&captured, r)
	}()

	var logs testlog.Buffer
	func() {
		defer func() { os.Stdout = orig }()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b, err := Start(ctx, Options{Dir: t.TempDir(), Logger: logs.Logger()})
		if err != nil {
			t.Fatal(err)
		}
		// A refused handshake makes mochi log a warning.
		raw, err := tls.Dial("tcp", b.Addr(), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // test: provoke a refused client
		if err == nil {
			_, _ = raw.Read(make([]byte, 1))
			raw.Close()
		}
		c := newPaho(b, clientTLS(t, b), pahoOpts{id: "stdout-check"})
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		_ = b.Publish("/x", []byte("y"), 0)
		c.Disconnect(50)
		if err := b.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		b.Close()
	}()
	w.Close()
	wg.Wait()
	r.Close()
	if captured.Len() != 0 {
		t.Fatalf("broker wrote %d bytes to stdout: %q", captured.Len(), captured.String())
	}
	for _, want := range []string{"mochi mqtt starting", "mqtt broker restarted", "component=mqtt-broker"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logger did not receive %q; got:\n%s", want, logs.String())
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := leaktest.Count()
	func() {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b, err := Start(ctx, Options{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		c := newPaho(b, clientTLS(t, b), pahoOpts{id: "leak-check"})
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		for i := range 100 {
			_ = b.Publish(fmt.Sprintf("/t/%d", i), []byte("x"), 1)
		}
		if err := b.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		c.Disconnect(50)
		b.Close()
	}()
	leaktest.Wait(t, before)
}

package broker_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fleetdeck/fleetdeck/sandbox/broker"
	"github.com/fleetdeck/fleetdeck/sandbox/telemetrygen"
)

const appID = "1FBBEDED80595912588FF4FF"

func fleet(n int) []telemetrygen.Vehicle {
	vs := make([]telemetrygen.Vehicle, n)
	for i := range vs {
		vs[i] = telemetrygen.Vehicle{VIN: fmt.Sprintf("WBA%014d", i), Brand: "bmw", Pseudonym: fmt.Sprintf("%040x", i+1)}
	}
	return vs
}

// runGenerator publishes generator output into b until the test ends.
func runGenerator(t testing.TB, b *broker.Broker, o telemetrygen.Options) *telemetrygen.Generator {
	t.Helper()
	o.Publish = func(topic string, payload []byte) error { return b.Publish(topic, payload, 1) }
	g := telemetrygen.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return g
}

// Debian's mosquitto_sub, a client we did not write, subscribes over mutual
// TLS with the files the broker wrote and receives real generator output.
func TestMosquittoSubReceivesGeneratorOutput(t *testing.T) {
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto_sub not installed (apt package mosquitto-clients)")
		}
		t.Skip("mosquitto_sub not installed (apt package mosquitto-clients)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	vehicles := fleet(2)
	runGenerator(t, b, telemetrygen.Options{
		AppID: appID, Pseudonymized: true, Rate: 50, Seed: 3,
		Fleet: func() []telemetrygen.Vehicle { return vehicles },
	})

	_, port, _ := net.SplitHostPort(b.Addr())
	ca, cert, key := b.Files()
	cmdCtx, cmdCancel := context.WithTimeout(ctx, 15*time.Second)
	defer cmdCancel()
	cmd := exec.CommandContext(cmdCtx, sub, "-h", "127.0.0.1", "-p", port,
		"--cafile", ca, "--cert", cert, "--key", key,
		"-t", "live/level13/#", "-C", "3", "-W", "10", "-v")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("mosquitto_sub printed %d lines, want 3:\n%s", len(lines), out)
	}
	for _, line := range lines {
		topic, payload, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("line without payload: %q", line)
		}
		var m struct {
			MessageID  string         `json:"message_id"`
			Version    int            `json:"version"`
			VIN        string         `json:"vin"`
			Capability string         `json:"capability"`
			Property   string         `json:"property"`
			Data       map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(payload), &m); err != nil {
			t.Fatalf("payload %q: %v", payload, err)
		}
		want := fmt.Sprintf("live/level13/%s/%s/%s/get/%s", appID, m.VIN, m.Capability, m.Property)
		if topic != want || m.Version != 1 || len(m.MessageID) != 64 || m.Data[m.Capability] == nil {
			t.Errorf("unexpected message on %s: %s", topic, payload)
		}
		if m.VIN != vehicles[0].Pseudonym && m.VIN != vehicles[1].Pseudonym {
			t.Errorf("vin field %q is not one of the pseudonyms", m.VIN)
		}
	}
}

// Mosquitto without a client certificate is refused, the same rule as for
// paho.
func TestMosquittoSubWithoutCertificateIsRefused(t *testing.T) {
	sub, err := exec.LookPath("mosquitto_sub")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto_sub not installed (apt package mosquitto-clients)")
		}
		t.Skip("mosquitto_sub not installed (apt package mosquitto-clients)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, port, _ := net.SplitHostPort(b.Addr())
	ca, _, _ := b.Files()
	cmdCtx, cmdCancel := context.WithTimeout(ctx, 10*time.Second)
	defer cmdCancel()
	out, err := exec.CommandContext(cmdCtx, sub, "-h", "127.0.0.1", "-p", port, "--cafile", ca,
		"-t", "#", "-C", "1", "-W", "3").CombinedOutput()
	if err == nil {
		t.Fatalf("mosquitto_sub without a client certificate succeeded: %s", out)
	}
}

// BenchmarkEndToEnd50k pushes generator output at 50 000 msg/s through the
// broker to one paho subscriber over mutual TLS and reports what arrived.
func BenchmarkEndToEnd50k(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			br, err := broker.Start(ctx, broker.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()

			var received atomic.Int64
			conf := subscriberTLS(b, br)
			c := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + br.Addr()).
				SetClientID("bench").SetTLSConfig(conf).SetOrderMatters(false))
			if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				b.Fatalf("connect: %v", tok.Error())
			}
			defer c.Disconnect(50)
			c.Subscribe("live/level13/#", qos, func(paho.Client, paho.Message) { received.Add(1) }).WaitTimeout(5 * time.Second)

			vehicles := fleet(1000)
			b.ResetTimer()
			var published uint64
			var running time.Duration
			for range b.N {
				g := telemetrygen.New(telemetrygen.Options{
					AppID: appID, Rate: 50000, Seed: 1,
					Fleet:   func() []telemetrygen.Vehicle { return vehicles },
					Publish: func(topic string, payload []byte) error { return br.Publish(topic, payload, 1) },
				})
				runCtx, runCancel := context.WithTimeout(ctx, 2*time.Second)
				start := time.Now()
				_ = g.Run(runCtx)
				running += time.Since(start)
				runCancel()
				published += g.Stats().Published
			}
			atRunEnd := received.Load()
			// Let the subscriber drain.
			for last := int64(-1); received.Load() != last; {
				last = received.Load()
				time.Sleep(200 * time.Millisecond)
			}
			secs := running.Seconds()
			b.ReportMetric(float64(published)/secs, "published/s")
			b.ReportMetric(float64(atRunEnd)/secs, "received/s")
			b.ReportMetric(100*float64(received.Load())/float64(max(published, 1)), "%delivered")
		})
	}
}

func subscriberTLS(t testing.TB, b *broker.Broker) *tls.Config {
	ca, cert, key := b.Files()
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

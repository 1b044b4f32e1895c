package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/stream"
)

// "One feed, many boxes" (README): one mosquitto bridge holds the
// provider's session with the certificate and fans the feed out to every
// ops box. Here the sandbox plays the provider.

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

// bridgeConfig is README's sample bridge with the sandbox's files: it
// subscribes to the provider with the client certificate and serves the
// feed on a loopback listener.
func bridgeConfig(port int, provider, dir, appID string) string {
	conf := fmt.Sprintf(`# The ops boxes subscribe here.
listener %d 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning

# The one connection that holds the provider's session.
connection provider
address %s
bridge_protocol_version mqttv311
remote_clientid fleetdeck-bridge
try_private false
cleansession false
bridge_cafile %s
bridge_certfile %s
bridge_keyfile %s
topic /live/level13/%s/# in 1
topic live/level13/%s/# in 1
`, port, provider, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"), appID, appID)
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to user mosquitto, which cannot
		// read the certificates in a 0700 temp dir.
		conf += "user root\n"
	}
	return conf
}

// startBridge runs mosquitto as the bridge and returns its feed's URL.
func startBridge(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	needMosquitto(t)
	port := freePort(t)
	provider := strings.TrimPrefix(sb.MQTTURL(), "ssl://")
	conf := filepath.Join(t.TempDir(), "bridge.conf")
	if err := os.WriteFile(conf, []byte(bridgeConfig(port, provider, sb.Dir(), sb.AppID())), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(mosquittoPath, "-c", conf)
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto said:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "tcp://" + addr
}

// subscriber is one ops box's telemetry pipeline, recording every message
// it receives (before dedup, so a duplicate delivery shows).
type subscriber struct {
	p      *stream.Pipeline
	record string
}

func startSubscriber(t *testing.T, broker, appID, clientID string) *subscriber {
	t.Helper()
	tc := &config.Telemetry{Broker: broker, AppID: appID, Topic: "/live/level13/{app_id}/#", QoS: 1, ClientID: clientID, Pseudonymized: config.PseudoAuto}
	s := &subscriber{record: filepath.Join(t.TempDir(), clientID+".ndjson")}
	s.p = stream.NewPipeline(stream.PipelineOptions{MQTT: stream.OptionsFromConfig(tc, ""), Record: s.record})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.p.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// seen counts the recorded messages whose message_id starts with prefix.
func (s *subscriber) seen(t *testing.T, prefix string) map[string]int {
	t.Helper()
	f, err := os.Open(s.record)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var line struct {
			Payload struct {
				MessageID string `json:"message_id"`
			} `json:"payload"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && strings.HasPrefix(line.Payload.MessageID, prefix) {
			out[line.Payload.MessageID]++
		}
	}
	return out
}

// providerClient publishes on the sandbox broker as the provider would.
func providerClient(t *testing.T, sb *sandbox.Sandbox) paho.Client {
	t.Helper()
	dir := sb.Dir()
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	o := paho.NewClientOptions().AddBroker(sb.MQTTURL()).SetClientID("provider-test-publisher").
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to the provider: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func publishSpeed(t *testing.T, c paho.Client, appID, id string, i int) {
	t.Helper()
	const v = "WBA5R1C51KAJ98123"
	payload := fmt.Sprintf(`{"message_id":%q,"version":1,"vin":%q,"capability":"diagnostics","property":"speed","data":{"diagnostics":{"speed":{"data":{"value":%d,"unit":"km/h"},"timestamp":%q}}}}`,
		id, v, i%200, time.Now().UTC().Format(time.RFC3339Nano))
	tok := c.Publish("/live/level13/"+appID+"/"+v+"/diagnostics/get/speed", 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// waitAll waits until every subscriber has recorded every id of prefix.
func waitAll(t *testing.T, subs []*subscriber, prefix string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		done := true
		for _, s := range subs {
			if len(s.seen(t, prefix)) < n {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			for i, s := range subs {
				t.Errorf("box %d recorded %d of %d messages", i+1, len(s.seen(t, prefix)), n)
			}
			t.FailNow()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBridgeFansOneFeedOutToEveryBox(t *testing.T) {
	sb, _ := start(t)
	before := sb.BrokerClients()
	bridge := startBridge(t, sb)
	boxes := []*subscriber{
		startSubscriber(t, bridge, sb.AppID(), "ops-box-1"),
		startSubscriber(t, bridge, sb.AppID(), "ops-box-2"),
	}
	pub := providerClient(t, sb)

	// The bridge subscribes to the provider a moment after it starts, and
	// the boxes to the bridge: probe until both boxes hear the provider.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		publishSpeed(t, pub, sb.AppID(), fmt.Sprintf("probe-%d", i), i)
		if len(boxes[0].seen(t, "probe-")) > 0 && len(boxes[1].seen(t, "probe-")) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the boxes never heard the provider through the bridge")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// One connection to the provider for any number of boxes: the bridge
	// (the test's own publisher is the other).
	if got := sb.BrokerClients() - before; got != 2 {
		t.Errorf("%d connections at the provider, want 2 (the bridge and this test's publisher)", got)
	}

	const n = 300
	for i := range n {
		publishSpeed(t, pub, sb.AppID(), fmt.Sprintf("m-%04d", i), i)
	}
	waitAll(t, boxes, "m-", n, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // a late duplicate would arrive now
	for b, s := range boxes {
		seen := s.seen(t, "m-")
		for i := range n {
			if id := fmt.Sprintf("m-%04d", i); seen[id] != 1 {
				t.Errorf("box %d received %s %d times, want once", b+1, id, seen[id])
			}
		}
		if st := s.p.Stats(); st.Dropped != 0 {
			t.Errorf("box %d dropped messages: %+v", b+1, st)
		}
		if vs := s.p.Store().Vehicles(); len(vs) == 0 {
			t.Errorf("box %d stored no vehicle", b+1)
		}
	}
}

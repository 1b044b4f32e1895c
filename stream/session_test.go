package stream

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// stateLog records every state the pipeline reports.
type stateLog struct {
	mu     sync.Mutex
	states []ConnState
}

func (l *stateLog) add(s ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}

func (l *stateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, s := range l.states {
		b.WriteString(s.String() + "; ")
	}
	return b.String()
}

// since returns the phases reported from index i on.
func (l *stateLog) phases(from int) []Phase {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Phase
	for _, s := range l.states[min(from, len(l.states)):] {
		out = append(out, s.Phase)
	}
	return out
}

func (l *stateLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.states)
}

func TestSessionMochi(t *testing.T) {
	pki := newTestPKI(t)
	b := startMochi(t, pki)
	testSession(t, pki, b)
}

func TestSessionMosquitto(t *testing.T) {
	needMosquitto(t)
	pki := newTestPKI(t)
	b := startMosquitto(t, pki)
	testSession(t, pki, b)
}

// testSession: mutual TLS, decoding through a real broker, duplicates,
// malformed, oversized and hostile messages, then a broker restart
// mid-stream.
func testSession(t *testing.T, pki *testPKI, b testBroker) {
	before := leaktest.Count()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var states stateLog
	var mu sync.Mutex
	seen := map[string]int{} // message id → times applied
	var order []string
	p := NewPipeline(PipelineOptions{
		MQTT: Options{
			Broker: b.URL(), CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
			ClientID: fmt.Sprintf("fleetdeck-test-%d", time.Now().UnixNano()%1e6), Topics: []string{"/live/level13/APP/#"}, QoS: 1,
		},
		OnState: states.add,
		OnMessage: func(m *Message) {
			mu.Lock()
			seen[string(m.MessageID)]++
			order = append(order, string(m.MessageID))
			mu.Unlock()
		},
	})
	feed := NewFeed(p, 20*time.Millisecond, WithHeartbeat(0))
	batches := feed.Subscribe(ctx)
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()
	waitFor(t, 5*time.Second, "connected", func() bool { return p.State().Phase == Connected })

	const vin = "WBA12345678901234"
	pub := func(id, vehicle, prop, data string) {
		b.Publish(t, topicFor(vehicle, "diagnostics", prop), payloadFor(id, vehicle, "diagnostics", prop, data, "2024-05-01T10:33:10Z"))
	}
	pub("m1", vin, "odometer", `{"unit":"kilometers","value":1}`)
	pub("m1", vin, "odometer", `{"unit":"kilometers","value":1}`) // redelivered: same message_id
	b.Publish(t, topicFor(vin, "diagnostics", "odometer"), []byte(`{"message_id":"bad",`))
	b.Publish(t, topicFor(vin, "diagnostics", "odometer"), []byte(`{"data":"`+strings.Repeat("x", MaxPayload)+`"}`))
	hostileVehicle := "ev\x1b]0;owned\x07il"
	if b.StrictTopics() {
		hostileVehicle = "ev\u202eil" // a bidi override: valid UTF-8, no control character
	}
	// A vehicle id that had to be made safe is dropped as suspicious; a
	// hostile value is made safe and kept.
	b.Publish(t, topicFor(hostileVehicle, "diagnostics", "speed"),
		[]byte(`{"message_id":"m2","data":{"diagnostics":{"speed":{"data":"\u001b[2J\u009b31mfast","timestamp":"2024-05-01T10:33:10Z"}}}}`))
	pub("m2", vin, "fuel_level", `"\u001b[2J\u009b31mfull"`)
	pub("m3", vin, "speed", `{"unit":"kilometers_per_hour","value":88}`)

	waitFor(t, 5*time.Second, "7 messages", func() bool { return p.Stats().Received >= 7 })
	waitFor(t, 2*time.Second, "decoded", func() bool { return p.inbox.pending() == 0 && p.Stats().Applied >= 3 })
	st := p.Stats()
	if st.Applied != 3 || st.Duplicates != 1 || st.Malformed != 2 || st.Oversized != 1 {
		t.Errorf("stats %+v", st)
	}
	props := p.Store().Vehicle(vin)
	if len(props) != 3 || props[1].Value != "1" || props[1].Unit != "km" || props[2].Value != "88" || props[0].Value != "full" {
		t.Errorf("properties %+v", props)
	}
	for _, v := range p.Store().Vehicles() {
		if !termsafe.Safe(v.ID) {
			t.Errorf("unsafe vehicle id %q", v.ID)
		}
		for _, pr := range p.Store().Vehicle(v.ID) {
			if !termsafe.Safe(pr.Value) {
				t.Errorf("unsafe value %q", pr.Value)
			}
		}
	}
	waitFor(t, 2*time.Second, "a batch naming the vehicle", func() bool {
		for {
			select {
			case bt := <-batches:
				for _, id := range bt.Changed {
					if id == vin {
						return true
					}
				}
			default:
				return false
			}
		}
	})

	// Broker restart mid-stream.
	mark := states.len()
	b.Stop(t)
	waitFor(t, 5*time.Second, "reconnecting", func() bool { return p.State().Phase == Reconnecting })
	time.Sleep(1500 * time.Millisecond) // an outage longer than a reconnect interval
	b.Start(t)
	back := time.Now()
	n := 0
	for {
		n++
		pub(fmt.Sprintf("after-%d", n), vin, "odometer", fmt.Sprintf(`{"unit":"kilometers","value":%d}`, 100+n))
		mu.Lock()
		flowing := len(seen) > 3 // m1, m2, m3 and at least one after the restart
		mu.Unlock()
		if flowing {
			break
		}
		if time.Since(back) > 5*time.Second {
			t.Fatalf("no data 5 s after the broker came back; states: %s", states.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	gap := time.Since(back)
	t.Logf("data flowing again %v after the broker came back; states: %s", gap.Round(time.Millisecond), states.String())
	if gap > 2*time.Second {
		t.Errorf("data flowing again only after %v, want ≤ 2 s", gap)
	}
	waitFor(t, time.Second, "connected", func() bool { return p.State().Phase == Connected })
	phases := states.phases(mark)
	if !containsInOrder(phases, Reconnecting, Connected) {
		t.Errorf("phases after the restart %v, want reconnecting then connected", phases)
	}
	// Redeliveries after the restart are not applied twice.
	mu.Lock()
	last := order[len(order)-1]
	mu.Unlock()
	pub(last, vin, "odometer", `{"unit":"kilometers","value":1}`)
	pub("m3", vin, "speed", `{"unit":"kilometers_per_hour","value":88}`)
	waitFor(t, 2*time.Second, "the redeliveries", func() bool { return p.Stats().Duplicates >= 3 })
	mu.Lock()
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s applied %d times", id, k)
		}
	}
	mu.Unlock()

	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if p.State().Phase != Stopped {
		t.Errorf("state after Run %v", p.State())
	}
	b.Stop(t)
	leaktest.Wait(t, before)
}

func containsInOrder(ps []Phase, want ...Phase) bool {
	i := 0
	for _, p := range ps {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestSessionRefusesUnknownServer(t *testing.T) {
	pki := newTestPKI(t)
	b := startMochi(t, pki)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := NewPipeline(PipelineOptions{MQTT: Options{
		Broker: b.URL(), CAFile: pki.OtherCA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, Topics: []string{"#"}, QoS: 1,
	}})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 5*time.Second, "failed", func() bool { return p.State().Phase == Failed })
	if s := p.State().String(); !strings.HasPrefix(s, "failed: ") || !strings.Contains(s, "certificate") {
		t.Errorf("state %q", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestSessionConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	for name, o := range map[string]Options{
		"no broker":    {Topics: []string{"#"}},
		"bad scheme":   {Broker: "http://x", Topics: []string{"#"}},
		"no topic":     {Broker: "tcp://127.0.0.1:1"},
		"missing ca":   {Broker: "ssl://127.0.0.1:1", Topics: []string{"#"}, CAFile: pki.Dir + "/nope.pem"},
		"key only":     {Broker: "ssl://127.0.0.1:1", Topics: []string{"#"}, KeyFile: pki.ClientKey},
		"bad key pair": {Broker: "ssl://127.0.0.1:1", Topics: []string{"#"}, CertFile: pki.ClientCert, KeyFile: pki.ServerKey},
		"qos 3":        {Broker: "tcp://127.0.0.1:1", Topics: []string{"#"}, QoS: 3},
	} {
		t.Run(name, func(t *testing.T) {
			p := NewPipeline(PipelineOptions{MQTT: o})
			err := p.Run(context.Background())
			if err == nil {
				t.Fatal("Run succeeded")
			}
			if p.State().Phase != Failed {
				t.Errorf("state %v", p.State())
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

// The client key is a secret like any other: a key file group or others
// may read is refused, with the chmod that fixes it.
func TestSessionRefusesReadableKey(t *testing.T) {
	pki := newTestPKI(t)
	key, err := os.ReadFile(pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(t.TempDir(), "client-key.pem")
	if err := os.WriteFile(loose, key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	p := NewPipeline(PipelineOptions{MQTT: Options{
		Broker: "ssl://127.0.0.1:1", Topics: []string{"#"}, CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: loose,
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = p.Run(ctx) // refused at once; a key taken would retry until ctx ends
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+loose) || !strings.Contains(err.Error(), "key_file") {
		t.Fatalf("Run with a 0644 key: %v", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error shows key material: %v", err)
	}
	if s := p.State(); s.Phase != Failed || !strings.Contains(s.Reason, "chmod 600") {
		t.Errorf("state %v", s)
	}
}

// Two processes on one host (a console, serve, tail) must not take over
// each other's session: a made-up id is unique, within MQTT 3.1's 23
// characters, and its session is not persistent (nobody would resume it).
// A configured id is the persistent session.
func TestClientIDPolicy(t *testing.T) {
	a, b := DefaultClientID("prod"), DefaultClientID("prod")
	if a == b || len(a) > 23 || len(b) > 23 || !strings.HasPrefix(a, "fleetdeck-") || a[:17] != b[:17] {
		t.Errorf("two default ids for one host and profile: %q %q", a, b)
	}
	if c := DefaultClientID("staging"); c[:17] == a[:17] {
		t.Errorf("two profiles share a prefix: %q %q", a, c)
	}
	p := NewPipeline(PipelineOptions{})
	gen, err := p.clientOptions(context.Background(), Options{Broker: "tcp://127.0.0.1:1883", Topics: []string{"#"}, Profile: "prod"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !gen.CleanSession || !strings.HasPrefix(gen.ClientID, a[:17]) {
		t.Errorf("a made-up id %q: clean session %v, want true", gen.ClientID, gen.CleanSession)
	}
	set, err := p.clientOptions(context.Background(), Options{Broker: "tcp://127.0.0.1:1883", Topics: []string{"#"}, ClientID: "ops-box"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.CleanSession || set.ClientID != "ops-box" {
		t.Errorf("a configured id %q: clean session %v, want false", set.ClientID, set.CleanSession)
	}
}

// High Mobility's brokers take the certificate's id as the client id: with
// none configured, say so at once (offering the id in the certificate's file
// name) instead of reconnecting forever.
func TestHighMobilityNeedsTheCertificateID(t *testing.T) {
	for _, tc := range []struct {
		broker, cert, want string
	}{
		{"ssl://mqtt.high-mobility.com:8883", "/etc/fleetdeck/0A1B2C3D4E5F-certificate.pem.crt", `set client_id = "0A1B2C3D4E5F" in [telemetry] (the id in the name of 0A1B2C3D4E5F-certificate.pem.crt)`},
		{"ssl://sandbox.mqtt.high-mobility.com:8883", "/etc/fleetdeck/client.pem", "set client_id in [telemetry]"},
		{"wss://MQTT-V2.High-Mobility.com./mqtt", "", "set client_id in [telemetry]"},
	} {
		p := NewPipeline(PipelineOptions{MQTT: Options{Broker: tc.broker, Topics: []string{"#"}, CertFile: tc.cert}})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := p.Run(ctx) // refused at once; otherwise it would retry until ctx ends
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `README, "Telemetry client id"`) {
			t.Errorf("%s, %s: %v", tc.broker, tc.cert, err)
		}
		if s := p.State(); s.Phase != Failed {
			t.Errorf("%s: state %v", tc.broker, s)
		}
	}
	for _, broker := range []string{"ssl://mqtt.example.com:8883", "ssl://high-mobility.com.evil.example:8883", "ssl://nothigh-mobility.com:8883"} {
		if highMobilityHost(broker) {
			t.Errorf("%s taken for High Mobility's", broker)
		}
	}
}

// A broker name that does not resolve fails without an address: the
// reason says so instead of crashing the process.
func TestDescribeUnresolvedName(t *testing.T) {
	err := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "mqtt.example.invalid", IsNotFound: true}}
	if got := describeConnErr(err); got != "dial: lookup mqtt.example.invalid: no such host" {
		t.Errorf("describeConnErr = %q", got)
	}
}

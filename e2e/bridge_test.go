package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/bridgetest"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/stream"
)

// testVIN is the vehicle the bridge tests publish for.
const testVIN = "WBA5R1C51KAJ98123"

// "One feed, many boxes" (README): one mosquitto bridge holds the
// provider's session with the certificate and fans the feed out to every
// ops box. Here the sandbox plays the provider.

// provider is the sandbox as the bridge's provider.
func provider(sb *sandbox.Sandbox) bridgetest.Provider {
	dir := sb.Dir()
	return bridgetest.Provider{URL: sb.MQTTURL(), CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"),
		Key: filepath.Join(dir, "client-key.pem"), AppID: sb.AppID(), ClientID: "fleetdeck-bridge"}
}

// subscriber is one ops box's telemetry pipeline, recording every message
// it receives (before dedup, so a duplicate delivery shows).
type subscriber struct {
	p      *stream.Pipeline
	record string
}

func startSubscriber(t *testing.T, broker, appID, clientID string) *subscriber {
	t.Helper()
	tc := &config.Telemetry{Broker: broker, AppID: appID, Topics: []string{"/live/level13/{app_id}/#"}, QoS: 1, ClientID: clientID, Pseudonymized: config.PseudoAuto}
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
	p := provider(sb)
	bridge := bridgetest.Start(t, p)
	boxes := []*subscriber{
		startSubscriber(t, bridge, sb.AppID(), "ops-box-1"),
		startSubscriber(t, bridge, sb.AppID(), "ops-box-2"),
	}
	pub := bridgetest.Publisher(t, p)

	// The bridge subscribes to the provider a moment after it starts, and
	// the boxes to the bridge: probe until both boxes hear the provider.
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		bridgetest.PublishSpeed(t, pub, sb.AppID(), testVIN, fmt.Sprintf("probe-%d", i), i)
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
		bridgetest.PublishSpeed(t, pub, sb.AppID(), testVIN, fmt.Sprintf("m-%04d", i), i%200)
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

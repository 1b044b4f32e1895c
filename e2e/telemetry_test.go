package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/stream"
)

// The console's stream, configured by the sandbox's config.toml (no topic:
// the defaults), receives what the sandbox publishes: V1 without the
// leading slash, list properties, and with --mqtt-v2 V2 messages.
func TestTelemetryFromTheSandbox(t *testing.T) {
	for name, o := range map[string]sandbox.Options{
		"V1":             {},
		"V1 seed topics": {SeedTopics: true},
		"V2":             {MQTTV2: true},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o.Dir, o.Rate = t.TempDir(), 400
			sb, err := sandbox.Start(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()
			cfg, err := config.Load(sb.ConfigPath(), "")
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			versions := map[int]int{}
			p := stream.NewPipeline(stream.PipelineOptions{MQTT: stream.OptionsFromConfig(cfg.Telemetry, ""),
				OnMessage: func(m *stream.Message) {
					mu.Lock()
					versions[m.Version]++
					mu.Unlock()
				}})
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()

			deadline := time.Now().Add(10 * time.Second)
			for {
				if lists(p) >= 3 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no list properties after 10 s: stats %+v, state %v", p.Stats(), p.State())
				}
				time.Sleep(50 * time.Millisecond)
			}
			want := 1
			if o.MQTTV2 {
				want = 2
			}
			mu.Lock()
			if versions[want] == 0 || len(versions) != 1 {
				t.Errorf("updates by version %v, want only version %d", versions, want)
			}
			mu.Unlock()
			if st := p.Stats(); st.Malformed != 0 {
				t.Errorf("stats %+v: the sandbox's messages must all decode", st)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// lists counts the distinct list properties the store holds, with the tyre
// pressures' four items checked on the way.
func lists(p *stream.Pipeline) int {
	seen := map[string]bool{}
	for _, v := range p.Store().Vehicles() {
		for _, prop := range p.Store().Vehicle(v.ID) {
			if !prop.List {
				continue
			}
			if prop.Name == "tire_pressures" && len(prop.Items) != 4 {
				continue
			}
			seen[prop.Capability+"."+prop.Name] = true
		}
	}
	return len(seen)
}

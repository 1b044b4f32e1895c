package stream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
)

func TestDefaultConfigMosquitto(t *testing.T) {
	needMosquitto(t)
	pki := newTestPKI(t)
	testDefaultConfig(t, pki, startMosquitto(t, pki))
}

// The sandbox's broker is mochi: the same forms must reach the console there.
func TestDefaultConfigMochi(t *testing.T) {
	pki := newTestPKI(t)
	testDefaultConfig(t, pki, startMochi(t, pki))
}

// testDefaultConfig loads a config.toml that names no topic, subscribes the
// way the console does, and publishes every form High Mobility uses: V1
// with and without the leading slash, list properties, and V2 on its one
// topic per application. Messages for another application, or on the
// sandbox form (the broker is not HM's sandbox), must not arrive.
func testDefaultConfig(t *testing.T, pki *testPKI, b testBroker) {
	const app = "1FBBEDED80595912588FF4FF"
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	toml := fmt.Sprintf(`[telemetry]
broker = %q
app_id = %q
ca_file = %q
cert_file = %q
key_file = %q
client_id = "fleetdeck-default-%d"
`, b.URL(), app, pki.CA, pki.ClientCert, pki.ClientKey, time.Now().UnixNano()%1e6)
	if err := os.WriteFile(cfgPath, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	opts := OptionsFromConfig(cfg.Telemetry, "")
	if want := []string{"live/level13/" + app + "/#", "/live/level13/" + app + "/#"}; strings.Join(opts.Topics, " ") != strings.Join(want, " ") {
		t.Fatalf("default topics %q, want %q", opts.Topics, want)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string
	p := NewPipeline(PipelineOptions{MQTT: opts, OnMessage: func(m *Message) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("v%d %s %s.%s %s", m.Version, m.Vehicle, m.Capability, m.Property, m.Data))
	}})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 10*time.Second, "connected", func() bool { return p.State().Phase == Connected })
	if r := p.State().Reason; r != "" {
		t.Errorf("connected with reason %q: the broker refused a default filter", r)
	}

	const vin = "WBA12345678901234"
	v1 := func(prefix, id, prop, data string) {
		b.Publish(t, prefix+"/level13/"+app+"/"+vin+"/diagnostics/get/"+prop, payloadFor(id, vin, "diagnostics", prop, data, "2024-05-01T10:33:10Z"))
	}
	v1("live", "a1", "odometer", `{"unit":"kilometers","value":1}`)        // HM's documents: no leading slash
	v1("/live", "a2", "speed", `{"unit":"kilometers_per_hour","value":2}`) // the seed's form
	v1("live", "a2", "speed", `{"unit":"kilometers_per_hour","value":2}`)  // the same message in both forms: once
	v1("sandbox", "a3", "fuel_level", `0.5`)                               // not HM's sandbox broker: not subscribed
	b.Publish(t, "/live/level13/OTHERAPP/"+vin+"/diagnostics/get/speed", payloadFor("a4", vin, "diagnostics", "speed", "9", "2024-05-01T10:33:10Z"))
	for _, fx := range []string{"v1_trouble_codes.json", "v1_bulb_failures.json"} {
		f := fixtureNamed(t, fx)
		b.Publish(t, strings.Replace(f.topic, hmApp, app, 1), readFixture(t, f.file))
	}
	b.Publish(t, "live/level13/"+app, readFixture(t, "v2_issue_example.json")) // V2: the application's one topic

	want := []string{
		"v1 1GCRCSEA4CZ139700 dashboard_lights.bulb_failures [\"turn_signal_right\",\"high_beam\"]",
		"v1 1GCRCSEA4CZ139700 diagnostics.trouble_codes [{\"occurrences\":2,\"id\":\"C1116FA\",\"ecu_id\":\"RDU_212FR\",\"status\":\"PENDING\",\"system\":\"unknown\"},{\"occurrences\":2,\"id\":\"C163AFA\",\"ecu_id\":\"DTR212\",\"status\":\"PENDING\",\"system\":\"body\"}]",
		"v1 WBA12345678901234 diagnostics.odometer {\"unit\":\"kilometers\",\"value\":1}",
		"v1 WBA12345678901234 diagnostics.speed {\"unit\":\"kilometers_per_hour\",\"value\":2}",
		"v2 EXV10000000 diagnostics.odometer {\"unit\":\"kilometers\",\"value\":19201.01}",
		"v2 EXV10000000 vehicle_location.altitude {\"unit\":\"meters\",\"value\":63}",
		"v2 EXV10000000 vehicle_location.coordinates {\"latitude\":11.572,\"longitude\":8.487}",
	}
	waitFor(t, 10*time.Second, "every form", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(want)
	})
	time.Sleep(200 * time.Millisecond) // anything that should not come would come by now
	mu.Lock()
	sorted := append([]string(nil), got...)
	mu.Unlock()
	sort.Strings(sorted)
	if strings.Join(sorted, "\n") != strings.Join(want, "\n") {
		t.Errorf("received:\n%s\nwant:\n%s", strings.Join(sorted, "\n"), strings.Join(want, "\n"))
	}
	if st := p.Stats(); st.Duplicates != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v (one duplicate: the same message in both topic forms)", st)
	}
	// The Telemetry view's store: lists show their count, V2 values their number.
	codes := find(t, p.Store().Vehicle("1GCRCSEA4CZ139700"), "diagnostics", "trouble_codes")
	if codes.Value != "2 items" || len(codes.Items) != 2 {
		t.Errorf("trouble codes %+v", codes)
	}
	if odo := find(t, p.Store().Vehicle("EXV10000000"), "diagnostics", "odometer"); !odo.Numeric || odo.Number != 19201.01 {
		t.Errorf("V2 odometer %+v", odo)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func fixtureNamed(t *testing.T, name string) fixture {
	t.Helper()
	for _, f := range fixtures {
		if f.file == name {
			return f
		}
	}
	t.Fatalf("no fixture %s", name)
	return fixture{}
}

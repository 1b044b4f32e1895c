package stream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

// A VIN with an invisible character after it looks exactly like the VIN:
// kept, it would be a second, identical-looking row. It is dropped as
// malformed and logged as suspicious, with the characters spelled out.
func TestInvisibleVehicleIDIsDroppedAndLogged(t *testing.T) {
	pki := newTestPKI(t)
	b := startMochi(t, pki)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs testlog.Buffer
	p := NewPipeline(PipelineOptions{
		MQTT: Options{
			Broker: b.URL(), CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
			ClientID: "fleetdeck-suspicious-test", Topics: []string{"/live/level13/APP/#", "live/level13/APP/#"}, QoS: 1,
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 5*time.Second, "connected", func() bool { return p.State().Phase == Connected })

	const vin = "WBA5R1C51KAJ98123"
	odometer := func(id, vehicle string) {
		b.Publish(t, topicFor(vehicle, "diagnostics", "odometer"),
			payloadFor(id, vehicle, "diagnostics", "odometer", `{"unit":"kilometers","value":1}`, "2024-05-01T10:33:10Z"))
	}
	odometer("real", vin)
	for i, spoof := range []string{vin + "\u200b", "\ufeff" + vin, vin + "\U000e0041", "WBA5R1C51KAJ9\u202e3218"} {
		odometer("spoof-"+string(rune('a'+i)), spoof)
	}
	// MQTT V2 names the vehicle in the payload, escaped or not.
	for i, vin := range []string{`WBA5R1C51KAJ98123\u200b`, "WBA5R1C51KAJ98123\u2060"} {
		b.Publish(t, "live/level13/APP", []byte(fmt.Sprintf(`{"version":2,"application_id":"APP","message_id":"v2-%d","vin":"%s","data":{"diagnostics":{"odometer":[{"data":{"unit":"kilometers","value":2}}]}}}`, i, vin)))
	}
	waitFor(t, 5*time.Second, "7 messages", func() bool { return p.Stats().Received >= 7 })
	waitFor(t, 2*time.Second, "decoded", func() bool { return p.inbox.pending() == 0 && p.Stats().Applied >= 1 })
	time.Sleep(50 * time.Millisecond)

	if vs := p.Store().Vehicles(); len(vs) != 1 || vs[0].ID != vin {
		t.Errorf("vehicles %+v, want only %s", vs, vin)
	}
	if st := p.Stats(); st.Applied != 1 || st.Malformed != 6 {
		t.Errorf("stats %+v, want 1 applied and 6 malformed", st)
	}
	log := logs.String()
	if !strings.Contains(log, "suspicious") || !strings.Contains(log, `\u200b`) {
		t.Errorf("the spoofed id was not logged as suspicious, spelled out:\n%s", log)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// A recording replays what the broker relayed, hostile ids included: the
// decoder refuses them as the live handler does.
func TestReplayedInvisibleVehicleIDIsDropped(t *testing.T) {
	const vin = "WBA12345678901234"
	at := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC).Format(time.RFC3339Nano)
	var logs testlog.Buffer
	p := NewPipeline(PipelineOptions{
		Replay: writeRecording(t, []recLine{
			{T: at, Topic: topicFor(vin, "diagnostics", "odometer"), Payload: payloadFor("a", vin, "diagnostics", "odometer", `1`, "2024-05-01T10:33:10Z")},
			{T: at, Topic: topicFor(vin+"\u200b", "diagnostics", "odometer"), Payload: payloadFor("b", vin+"\u200b", "diagnostics", "odometer", `2`, "2024-05-01T10:33:10Z")},
		}),
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if vs := p.Store().Vehicles(); len(vs) != 1 || vs[0].ID != vin {
		t.Errorf("vehicles %+v", vs)
	}
	if st := p.Stats(); st.Applied != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "suspicious") || !strings.Contains(logs.String(), `\\u200b`) {
		t.Errorf("log:\n%s", logs.String())
	}
}

// A V1 topic's capability and property key the vehicle's property rows:
// "odometer" with a zero-width space would be a second odometer row.
func TestInvisiblePropertyIsRefused(t *testing.T) {
	const vin = "WBA12345678901234"
	for _, tc := range []struct{ capability, property string }{
		{"diagnostics", "odometer\u200b"},
		{"diagnostics\u2066", "odometer"},
	} {
		_, err := newDecoder("").decode(topicFor(vin, tc.capability, tc.property),
			payloadFor("x", vin, tc.capability, tc.property, `1`, "2024-05-01T10:33:10Z"))
		if !isSuspicious(err) {
			t.Errorf("%q.%q: %v, want it refused as suspicious", tc.capability, tc.property, err)
		}
	}
}

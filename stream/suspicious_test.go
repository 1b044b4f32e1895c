package stream

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink several goroutines write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A VIN with an invisible character after it looks exactly like the VIN:
// kept, it would be a second, identical-looking row. It is dropped as
// malformed and logged as suspicious, with the characters spelled out.
func TestInvisibleVehicleIDIsDroppedAndLogged(t *testing.T) {
	pki := newTestPKI(t)
	b := startMochi(t, pki)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	p := NewPipeline(PipelineOptions{
		MQTT: Options{
			Broker: b.URL(), CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
			ClientID: "fleetdeck-suspicious-test", Topics: []string{"/live/level13/APP/#"}, QoS: 1,
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
	waitFor(t, 5*time.Second, "5 messages", func() bool { return p.Stats().Received >= 5 })
	waitFor(t, 2*time.Second, "decoded", func() bool { return p.inbox.pending() == 0 && p.Stats().Applied >= 1 })
	time.Sleep(50 * time.Millisecond)

	if vs := p.Store().Vehicles(); len(vs) != 1 || vs[0].ID != vin {
		t.Errorf("vehicles %+v, want only %s", vs, vin)
	}
	if st := p.Stats(); st.Applied != 1 || st.Malformed != 4 {
		t.Errorf("stats %+v, want 1 applied and 4 malformed", st)
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

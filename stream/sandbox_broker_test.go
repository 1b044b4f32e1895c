package stream

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/broker"
)

// The embedded sandbox's broker: what a newcomer's console talks to.
func TestSessionSandboxBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := broker.Start(ctx, broker.Options{Addr: "127.0.0.1:0", Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ca, cert, key := b.Files()
	var states stateLog
	p := NewPipeline(PipelineOptions{
		MQTT:    Options{Broker: "ssl://" + b.Addr(), CAFile: ca, CertFile: cert, KeyFile: key, ClientID: "fleetdeck-sandbox-test", Topics: []string{"/live/level13/APP/#"}, QoS: 1},
		OnState: states.add,
	})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, 5*time.Second, "connected", func() bool { return p.State().Phase == Connected })

	const vin = "WBA12345678901234"
	publish := func(i int) {
		if err := b.Publish(topicFor(vin, "diagnostics", "odometer"),
			payloadFor(fmt.Sprint(i), vin, "diagnostics", "odometer", fmt.Sprintf(`{"unit":"kilometers","value":%d}`, i), "2024-05-01T10:33:10Z"), 1); err != nil {
			t.Fatal(err)
		}
	}
	publish(1)
	waitFor(t, 2*time.Second, "the first message", func() bool { return p.Stats().Applied == 1 })

	mark := states.len()
	if err := b.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for i := 2; p.Stats().Applied < 2; i++ {
		if time.Since(back) > 5*time.Second {
			t.Fatalf("no data 5 s after the restart; states %s", states.String())
		}
		publish(i)
		time.Sleep(20 * time.Millisecond)
	}
	gap := time.Since(back)
	t.Logf("data flowing again %v after the sandbox broker's restart", gap.Round(time.Millisecond))
	if gap > 2*time.Second {
		t.Errorf("data flowing again only after %v", gap)
	}
	waitFor(t, time.Second, "connected", func() bool { return p.State().Phase == Connected })
	if ph := states.phases(mark); !containsInOrder(ph, Reconnecting, Connected) {
		t.Errorf("phases %v", ph)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

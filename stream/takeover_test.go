package stream

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Two processes on one client id (a console started beside serve, on one
// certificate) once reconnected in turn forever, each kicking the other
// off. Now the one that came second stops with one line naming the id, and
// the one that held the session gets it back and keeps it.
func TestSessionTakeoverStopsTheFight(t *testing.T) {
	pki := newTestPKI(t)
	b := startMochi(t, pki)
	opts := func() Options {
		return Options{
			Broker: b.URL(), CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
			ClientID: "fleetdeck-takeover-test", Topics: []string{"/live/level13/APP/#"}, QoS: 1,
			takeoverGap: 2500 * time.Millisecond, takeoverStable: 3 * time.Second, takeoverBackoff: 500 * time.Millisecond,
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var applied atomic.Int64
	var first stateLog
	holder := NewPipeline(PipelineOptions{MQTT: opts(), OnState: first.add, OnMessage: func(*Message) { applied.Add(1) }})
	holderDone := make(chan error, 1)
	go func() { holderDone <- holder.Run(ctx) }()
	waitFor(t, 5*time.Second, "connected", func() bool { return holder.State().Phase == Connected })
	time.Sleep(3500 * time.Millisecond) // it has held the session a while

	var second stateLog
	newcomer := NewPipeline(PipelineOptions{MQTT: opts(), OnState: second.add})
	start := time.Now()
	nctx, ncancel := context.WithTimeout(ctx, 25*time.Second) // a fight would go on until then
	defer ncancel()
	err := newcomer.Run(nctx)
	t.Logf("the newcomer stopped after %v: %v", time.Since(start).Round(time.Millisecond), err)
	const line = `another client with id "fleetdeck-takeover-test" took this session`
	if err == nil || !strings.Contains(err.Error(), line) || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("the newcomer: %v", err)
	}
	if s := newcomer.State(); s.Phase != Failed || !strings.Contains(s.Reason, line) {
		t.Errorf("the newcomer's state: %v", s)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("the fight went on for %v", time.Since(start))
	}

	// The holder has the session back and keeps it: data flows, and no
	// more reconnections. (A reconnection the newcomer's client had in
	// flight when it stopped may still kick the holder once.)
	waitFor(t, 10*time.Second, "the holder connected for a second", func() bool {
		s := holder.State()
		return s.Phase == Connected && time.Since(s.Since) > time.Second
	})
	mark := first.len()
	for i := range 20 {
		b.Publish(t, topicFor("WBA12345678901234", "diagnostics", "odometer"),
			payloadFor(fmt.Sprint("after-", i), "WBA12345678901234", "diagnostics", "odometer", `{"unit":"kilometers","value":1}`, "2024-05-01T10:33:10Z"))
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, 2*time.Second, "data at the holder", func() bool { return applied.Load() > 0 })
	if ph := first.phases(mark); len(ph) != 0 {
		t.Errorf("the holder kept reconnecting after the newcomer stopped: %v\n%s", ph, first.String())
	}
	cancel()
	if err := <-holderDone; err != nil {
		t.Errorf("the holder: %v", err)
	}
}

// The newcomer gives up first: a process whose first connection lasted
// needs twice the cut connections before it pauses, and the connection that
// lasts after a fight never counts.
func TestTakeoverWatchStreaks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// fight connects and loses a connection every 2 s (each lasting 1 s)
	// until the watch fires, and says after how many.
	fight := func(w *takeoverWatch, from time.Time) int {
		for i := 1; i <= 10; i++ {
			at := from.Add(time.Duration(i) * 2 * time.Second)
			w.connected(at)
			w.lost(at.Add(time.Second))
			select {
			case <-w.fired:
				return i
			default:
			}
		}
		return 0
	}
	newcomer := newTakeoverWatch(Options{})
	if n := fight(newcomer, t0); n != newcomerStreak || newcomer.incumbent() {
		t.Errorf("the newcomer gave up after %d cut connections (incumbent %v), want %d", n, newcomer.incumbent(), newcomerStreak)
	}
	holder := newTakeoverWatch(Options{})
	holder.connected(t0)
	later := t0.Add(time.Hour) // kicked off after an hour
	holder.lost(later)
	if n := fight(holder, later); n != incumbentStreak || !holder.incumbent() {
		t.Errorf("the holder paused after %d cut connections (incumbent %v), want %d", n, holder.incumbent(), incumbentStreak)
	}
	// Five cut connections, then one that lasts: no pause.
	almost := newTakeoverWatch(Options{})
	almost.connected(t0)
	almost.lost(later)
	for i := range incumbentStreak - 1 {
		at := later.Add(time.Duration(i+1) * 2 * time.Second)
		almost.connected(at)
		almost.lost(at.Add(time.Second))
	}
	almost.connected(later.Add(time.Minute))
	select {
	case <-almost.fired:
		t.Error("the connection that lasted after the fight counted")
	default:
	}
	// Connections lost far apart are a flaky network, not a fight.
	calm := newTakeoverWatch(Options{})
	for i := range 20 {
		at := t0.Add(time.Duration(i) * time.Minute)
		calm.connected(at)
		calm.lost(at.Add(30 * time.Second))
	}
	select {
	case <-calm.fired:
		t.Error("connections that lasted 30 s were taken for a takeover")
	default:
	}
}

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
			takeoverStable: 3 * time.Second, takeoverBackoff: 500 * time.Millisecond,
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
	// more reconnections.
	waitFor(t, 10*time.Second, "the holder connected again", func() bool { return holder.State().Phase == Connected })
	mark := first.len()
	for i := range 20 {
		b.Publish(t, topicFor("WBA12345678901234", "diagnostics", "odometer"),
			payloadFor(fmt.Sprint("after-", i), "WBA12345678901234", "diagnostics", "odometer", `{"unit":"kilometers","value":1}`, "2024-05-01T10:33:10Z"))
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, 2*time.Second, "data at the holder", func() bool { return applied.Load() > 0 })
	if ph := first.phases(mark); len(ph) != 0 {
		t.Errorf("the holder kept reconnecting after the newcomer stopped: %v", ph)
	}
	cancel()
	if err := <-holderDone; err != nil {
		t.Errorf("the holder: %v", err)
	}
}

// The newcomer gives up first: a process whose first connection lasted
// needs twice the quick reconnections before it pauses.
func TestTakeoverWatchStreaks(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fights := func(w *takeoverWatch, from time.Time) int {
		for i := 1; i <= 10; i++ {
			w.connected(from.Add(time.Duration(i) * 2 * time.Second))
			select {
			case <-w.fired:
				return i
			default:
			}
		}
		return 0
	}
	newcomer := newTakeoverWatch(Options{})
	newcomer.connected(t0)
	if n := fights(newcomer, t0); n != newcomerStreak || newcomer.incumbent() {
		t.Errorf("the newcomer gave up after %d quick reconnections (incumbent %v), want %d", n, newcomer.incumbent(), newcomerStreak)
	}
	holder := newTakeoverWatch(Options{})
	holder.connected(t0)
	later := t0.Add(time.Hour) // kicked off after an hour
	holder.connected(later)
	if n := fights(holder, later); n != incumbentStreak || !holder.incumbent() {
		t.Errorf("the holder paused after %d quick reconnections (incumbent %v), want %d", n, holder.incumbent(), incumbentStreak)
	}
	// Reconnections far apart are a flaky network, not a fight.
	calm := newTakeoverWatch(Options{})
	for i := range 20 {
		calm.connected(t0.Add(time.Duration(i) * time.Minute))
	}
	select {
	case <-calm.fired:
		t.Error("reconnections a minute apart were taken for a takeover")
	default:
	}
}

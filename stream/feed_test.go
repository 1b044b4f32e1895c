package stream

import (
	"context"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
)

// ingest pushes n messages through the worker the way Run does (one signal
// per batch of 50).
func ingest(p *Pipeline, w *worker, from, n int, pause time.Duration) {
	catalog := sampleCatalog()
	for i := from; i < from+n; i++ {
		id := sampleVehicle(i)
		prop := catalog[i%len(catalog)]
		it := inboxItem{topic: topicFor(id, prop.capability, prop.property), payload: samplePayload(i, id, prop, i), arrival: time.Now().UnixNano()}
		w.process(&it)
		if i%50 == 49 {
			p.signal()
			time.Sleep(pause)
		}
	}
	p.signal()
}

func TestFeedCoalesces(t *testing.T) {
	before := leaktest.Count()
	p := NewPipeline(PipelineOptions{})
	feed := NewFeed(p, 50*time.Millisecond, WithHeartbeat(0))
	if NewFeed(p, time.Second) != feed {
		t.Fatal("a pipeline has one feed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := feed.Subscribe(ctx)
	if first := <-ch; !first.Full {
		t.Errorf("first batch %+v", first)
	}
	go ingest(p, p.newWorker(nil), 0, 1000, 10*time.Millisecond) // ~200 ms
	seen := map[string]bool{}
	batches := 0
	timeout := time.After(5 * time.Second)
	var last Batch
	for len(seen) < 1000 {
		select {
		case b := <-ch:
			batches++
			if b.Seq <= last.Seq {
				t.Errorf("seq %d after %d", b.Seq, last.Seq)
			}
			last = b
			for _, id := range b.Changed {
				seen[id] = true
			}
		case <-timeout:
			t.Fatalf("saw %d of 1000 vehicles in %d batches", len(seen), batches)
		}
	}
	t.Logf("1000 messages in %d batches", batches)
	if batches > 10 {
		t.Errorf("%d batches for 1000 messages over ~200 ms at 50 ms", batches)
	}
	if last.Stats.Applied != 1000 {
		t.Errorf("stats in the batch %+v", last.Stats)
	}
	// Idle: no batch at all without a heartbeat.
	select {
	case b := <-ch:
		if len(b.Changed) > 0 {
			t.Errorf("idle feed sent %+v", b)
		}
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	if _, ok := <-ch; ok {
		// one batch may have been pending; the next read must see the close
		if _, ok := <-ch; ok {
			t.Error("channel not closed after ctx ended")
		}
	}
	leaktest.Wait(t, before)
}

func TestFeedSlowSubscriberDoesNotSlowIngestion(t *testing.T) {
	before := leaktest.Count()
	p := NewPipeline(PipelineOptions{})
	feed := NewFeed(p, 5*time.Millisecond, WithHeartbeat(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := feed.Subscribe(ctx)
	fast := feed.Subscribe(ctx)
	<-slow // the initial batch; then it stops reading
	fastSeen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range fast {
			for _, id := range b.Changed {
				fastSeen[id] = true
			}
		}
	}()

	start := time.Now()
	ingest(p, p.newWorker(nil), 0, 5000, 0)
	took := time.Since(start)
	if took > 2*time.Second {
		t.Errorf("ingesting 5000 messages took %v", took)
	}
	waitFor(t, 2*time.Second, "the feed to go out", func() bool {
		p.signal()
		return len(slow) == 1 && p.Store().Len() == 5000
	})
	time.Sleep(50 * time.Millisecond)
	b := <-slow // everything merged into the one pending batch
	if len(b.Changed) != 5000 {
		t.Errorf("slow subscriber's merged batch has %d vehicles", len(b.Changed))
	}
	if b.Stats.Applied != 5000 {
		t.Errorf("merged batch stats %+v", b.Stats)
	}
	cancel()
	<-done
	if len(fastSeen) != 5000 {
		t.Errorf("fast subscriber saw %d vehicles", len(fastSeen))
	}
	leaktest.Wait(t, before)
}

func TestFeedStateAndHeartbeat(t *testing.T) {
	before := leaktest.Count()
	p := NewPipeline(PipelineOptions{})
	feed := NewFeed(p, 10*time.Millisecond, WithHeartbeat(50*time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	ch := feed.Subscribe(ctx)
	<-ch
	p.setState(ConnState{Phase: Reconnecting, Attempt: 2})
	select {
	case b := <-ch:
		if b.State.String() != "reconnecting 2" || b.Heartbeat {
			t.Errorf("batch %+v", b)
		}
	case <-time.After(time.Second):
		t.Fatal("no batch for a state change")
	}
	beats := 0
	deadline := time.After(300 * time.Millisecond)
loop:
	for {
		select {
		case b := <-ch:
			if b.Heartbeat {
				beats++
			}
		case <-deadline:
			break loop
		}
	}
	if beats < 3 || beats > 7 {
		t.Errorf("%d heartbeats in 300 ms at 50 ms", beats)
	}
	// Subscribers come and go; the loop ends with the last one.
	ctx2, cancel2 := context.WithCancel(context.Background())
	ch2 := feed.Subscribe(ctx2)
	cancel()
	cancel2()
	for range ch {
	}
	for range ch2 {
	}
	leaktest.Wait(t, before)
	if ch3 := feed.Subscribe(ctx); len(ch3) != 0 {
		if _, ok := <-ch3; ok {
			t.Error("subscribing with an ended ctx must give a closed channel")
		}
	}
}

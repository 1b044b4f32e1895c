package stream

import (
	"context"
	"sync"
	"time"
)

// Batch tells a subscriber what changed since its previous batch. Changed
// lists vehicle ids (read them with Store().Vehicle); it is shared between
// subscribers and must not be modified.
type Batch struct {
	Seq       uint64
	Changed   []string
	State     ConnState
	Stats     Stats
	At        time.Time
	Heartbeat bool // sent because time passed (ages to redraw), not because data changed
	// Full asks the subscriber to read the whole store (the first batch of a
	// subscription, and whatever it merged into while unread).
	Full bool
}

// Feed hands the pipeline's changes to the UI as coalesced batches: at most
// one per interval, and only when something changed (plus a slow heartbeat).
// Program.Send blocks while Update runs, so a message per MQTT message would
// tie ingestion to rendering; here a slow subscriber only gets fewer, larger
// batches.
type Feed struct {
	p         *Pipeline
	interval  time.Duration
	heartbeat time.Duration

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	stop chan struct{} // closes the running loop; nil when none runs
	seq  uint64
}

type subscriber struct {
	ch chan Batch
}

// FeedOption tunes a Feed.
type FeedOption func(*Feed)

// WithHeartbeat sends a batch every d even when nothing changed, so that
// "last seen 5 s ago" keeps counting; 0 turns it off. Default 1 s.
func WithHeartbeat(d time.Duration) FeedOption { return func(f *Feed) { f.heartbeat = d } }

// NewFeed returns the pipeline's feed. A pipeline has one: the feed drains
// the store's record of what changed, so every view, every SSH session,
// subscribes to the same Feed (a second call returns the first feed).
// interval ≤ 0 means 100 ms (10 Hz).
func NewFeed(p *Pipeline, interval time.Duration, opts ...FeedOption) *Feed {
	p.feedMu.Lock()
	defer p.feedMu.Unlock()
	if p.feed != nil {
		return p.feed
	}
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	f := &Feed{p: p, interval: interval, heartbeat: time.Second, subs: make(map[*subscriber]struct{})}
	for _, o := range opts {
		o(f)
	}
	p.feed = f
	return f
}

// Subscribe returns a channel of batches that is closed when ctx ends. At
// most one batch waits in it: when the subscriber is slow, the pending batch
// is replaced by one that merges both. The first batch comes at once (with
// Full set: read the whole store).
func (f *Feed) Subscribe(ctx context.Context) <-chan Batch {
	s := &subscriber{ch: make(chan Batch, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		close(s.ch)
		return s.ch
	}
	f.subs[s] = struct{}{}
	f.seq++
	s.ch <- Batch{Seq: f.seq, State: f.p.State(), Stats: f.p.Stats(), At: time.Now(), Full: true}
	if f.stop == nil {
		f.stop = make(chan struct{})
		go f.loop(f.stop)
	}
	context.AfterFunc(ctx, func() { f.remove(s) })
	return s.ch
}

func (f *Feed) remove(s *subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.subs[s]; !ok {
		return
	}
	delete(f.subs, s)
	close(s.ch)
	if len(f.subs) == 0 && f.stop != nil {
		close(f.stop) // the loop lives as long as someone listens
		f.stop = nil
	}
}

// loop sleeps until the pipeline signals a change (or the heartbeat is
// due), waits out the rest of the interval so changes pile up, then sends
// one batch. Idle, it wakes once per heartbeat and no more.
func (f *Feed) loop(stop <-chan struct{}) {
	var hb <-chan time.Time
	var hbTimer *time.Timer
	if f.heartbeat > 0 {
		hbTimer = time.NewTimer(f.heartbeat)
		defer hbTimer.Stop()
		hb = hbTimer.C
	}
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	defer wait.Stop()

	var last time.Time
	var lastState ConnState
	var changed []string
	for {
		beat := false
		select {
		case <-stop:
			return
		case <-f.p.changed:
		case <-hb:
			beat = true
		}
		if d := f.interval - time.Since(last); d > 0 && !beat {
			wait.Reset(d)
			select {
			case <-stop:
				return
			case <-wait.C:
			}
		}
		changed = f.p.store.takeChanged(changed[:0])
		state := f.p.State()
		if len(changed) == 0 && state.same(lastState) && !beat {
			continue // the signal's change went out with the previous batch
		}
		ids := make([]string, len(changed))
		copy(ids, changed)
		now := time.Now()
		f.deliver(Batch{Changed: ids, State: state, Stats: f.p.Stats(), At: now, Heartbeat: beat && len(ids) == 0})
		last, lastState = now, state
		if hbTimer != nil {
			hbTimer.Reset(f.heartbeat)
		}
	}
}

func (f *Feed) deliver(b Batch) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	b.Seq = f.seq
	// Only this loop sends, under f.mu, so after taking the pending batch out
	// the send below cannot block.
	for s := range f.subs {
		select {
		case s.ch <- b:
			continue
		default:
		}
		out := b
		select {
		case old := <-s.ch:
			out = merge(old, b)
		default:
		}
		s.ch <- out
	}
}

// merge folds an unread batch into a newer one: the newest state and stats,
// the union of the changed vehicles.
func merge(old, b Batch) Batch {
	b.Full = b.Full || old.Full
	if len(old.Changed) == 0 {
		b.Heartbeat = b.Heartbeat && old.Heartbeat
		return b
	}
	seen := make(map[string]struct{}, len(old.Changed)+len(b.Changed))
	ids := make([]string, 0, len(old.Changed)+len(b.Changed))
	for _, list := range [2][]string{old.Changed, b.Changed} {
		for _, id := range list {
			if _, ok := seen[id]; !ok {
				seen[id] = struct{}{}
				ids = append(ids, id)
			}
		}
	}
	b.Changed = ids
	b.Heartbeat = false
	return b
}

package audit

import (
	"context"
	"sync"
)

// Changes returns a channel that receives a value soon after any process
// appends to the journal: at once for this process's appends, at commit for
// another's on PostgreSQL (LISTEN/NOTIFY), within a second on SQLite (which
// cannot notify across processes, so the store looks). Signals coalesce: a
// reader that falls behind gets one, not a backlog, and should then read
// what it shows (Recent) again. The channel closes when ctx ends or the
// journal closes. A reader should keep a slow poll as well: a notice can
// be lost while a PostgreSQL connection is re-established (the store
// signals once after it is).
func (j *Journal) Changes(ctx context.Context) <-chan struct{} {
	return j.changes.subscribe(ctx)
}

// hub fans change signals out to subscribers. The store's watcher runs
// while at least one subscriber is there, so a journal nobody watches
// holds no extra connection.
type hub struct {
	watch func(ctx context.Context, changed func())

	mu      sync.Mutex
	subs    map[chan struct{}]struct{}
	closed  bool
	stop    context.CancelFunc // the watcher's; nil while none runs
	stopped chan struct{}      // closed when the watcher has returned
}

func newHub(watch func(ctx context.Context, changed func())) *hub {
	return &hub{watch: watch, subs: map[chan struct{}]struct{}{}}
}

func (h *hub) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch
	}
	h.subs[ch] = struct{}{}
	if h.stop == nil {
		wctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		h.stop, h.stopped = cancel, done
		go func() {
			defer close(done)
			h.watch(wctx, h.notify)
		}()
	}
	context.AfterFunc(ctx, func() { h.unsubscribe(ch) })
	return ch
}

func (h *hub) unsubscribe(ch chan struct{}) {
	h.mu.Lock()
	if _, ok := h.subs[ch]; !ok {
		h.mu.Unlock()
		return
	}
	delete(h.subs, ch)
	close(ch)
	var stop context.CancelFunc
	var stopped chan struct{}
	if len(h.subs) == 0 && h.stop != nil {
		stop, stopped = h.stop, h.stopped
		h.stop, h.stopped = nil, nil
	}
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
}

// notify signals every subscriber without blocking.
func (h *hub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// close ends every subscription and the watcher.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
	stop, stopped := h.stop, h.stopped
	h.stop, h.stopped = nil, nil
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
}

package stream

import (
	"context"
	"sync"
)

// inboxItem is one message as it came off the wire.
type inboxItem struct {
	topic   string
	payload []byte
	arrival int64 // unix ns
}

// inbox is the bounded buffer between the MQTT client's handler and the
// decode worker. push never blocks (the handler runs on paho's router
// goroutine, and a blocked router stalls keep-alives); the worker takes
// everything queued at once, so one lock and one wake-up serve a burst.
type inbox struct {
	mu      sync.Mutex
	items   []inboxItem
	spare   []inboxItem
	limit   int
	closed  bool
	wake    chan struct{} // 1: the worker has something to do
	drained chan struct{} // 1: the worker emptied the inbox (for blocking producers)
}

func newInbox(limit int) *inbox {
	if limit <= 0 {
		limit = 16384
	}
	return &inbox{
		limit:   limit,
		items:   make([]inboxItem, 0, 1024),
		spare:   make([]inboxItem, 0, 1024),
		wake:    make(chan struct{}, 1),
		drained: make(chan struct{}, 1),
	}
}

// push queues it and reports false when the inbox is full (the caller
// counts a drop).
func (b *inbox) push(it inboxItem) bool {
	b.mu.Lock()
	if len(b.items) >= b.limit || b.closed {
		b.mu.Unlock()
		return false
	}
	b.items = append(b.items, it)
	first := len(b.items) == 1
	b.mu.Unlock()
	if first {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// pushWait queues it, waiting for room (replay must not drop).
func (b *inbox) pushWait(ctx context.Context, it inboxItem) error {
	for !b.push(it) {
		b.mu.Lock()
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return context.Canceled
		}
		select {
		case <-b.drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// take waits for items and returns all of them. The slice is the worker's
// until the next take. ok is false once the inbox is closed (or ctx ended)
// and nothing is left.
func (b *inbox) take(ctx context.Context) (items []inboxItem, ok bool) {
	for {
		b.mu.Lock()
		if len(b.items) > 0 {
			clear(b.spare) // drop references to the previous batch's payloads
			items = b.items
			b.items, b.spare = b.spare[:0], items
			b.mu.Unlock()
			select {
			case b.drained <- struct{}{}:
			default:
			}
			return items, true
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-b.wake:
		case <-ctx.Done():
			b.close()
		}
	}
}

// close refuses further items; take returns what is queued, then false.
func (b *inbox) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// pending returns how many items wait.
func (b *inbox) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

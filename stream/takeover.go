package stream

import (
	"sync"
	"time"
)

// A broker lets one client hold a client id: when a second client connects
// with it, the broker closes the first. Two processes with one id (a
// console and `serve` on one certificate) would then kick each other off
// forever, each seeing part of the stream. takeoverWatch recognises the
// fight from this process's side: connections that keep ending right after
// they began.
//
// The process that came second (its very first connection was soon cut)
// gives up after newcomerStreak such connections, and says so in one line;
// the one that held the session before (its first connection lasted) waits
// longer (incumbentStreak), so that it is the newcomer that stops, and then
// backs off instead of fighting. The connection that lasts once the fight
// is over is never lost, so it never counts.
const (
	defaultTakeoverGap     = 5 * time.Second  // a connection lost sooner than this was cut right away
	defaultTakeoverStable  = 30 * time.Second // a first connection that lasted this long held the session
	defaultTakeoverBackoff = 10 * time.Second // the incumbent's first pause (doubling, at most maxTakeoverBackoff)
	maxTakeoverBackoff     = 5 * time.Minute
	newcomerStreak         = 3
	incumbentStreak        = 6
)

type takeoverWatch struct {
	gap, stable time.Duration
	fired       chan struct{} // 1: a fight was recognised

	mu       sync.Mutex
	connects int       // successful connections so far
	since    time.Time // when the current one began
	run      int       // connections cut right away, in a row
	held     bool      // the first connection lasted: this process held the session first
}

func newTakeoverWatch(o Options) *takeoverWatch {
	w := &takeoverWatch{gap: o.takeoverGap, stable: o.takeoverStable, fired: make(chan struct{}, 1)}
	if w.gap <= 0 {
		w.gap = defaultTakeoverGap
	}
	if w.stable <= 0 {
		w.stable = defaultTakeoverStable
	}
	return w
}

// connected records a successful connection (paho's notification).
func (w *takeoverWatch) connected(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.connects++
	w.since = now
}

// lost records the loss of the current connection. paho reports both on
// goroutines of their own, but a loss comes long before the next
// connection, which needs a round trip to the broker.
func (w *takeoverWatch) lost(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.since.IsZero() {
		return // lost before it ever connected
	}
	lasted := now.Sub(w.since)
	w.since = time.Time{}
	if w.connects == 1 && lasted >= w.stable {
		w.held = true
	}
	if lasted >= w.gap {
		w.run = 0
		return
	}
	if w.run++; w.run >= w.streak() {
		w.run = 0
		select {
		case w.fired <- struct{}{}:
		default:
		}
	}
}

func (w *takeoverWatch) streak() int {
	if w.held {
		return incumbentStreak
	}
	return newcomerStreak
}

// incumbent reports whether this process held the session first.
func (w *takeoverWatch) incumbent() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held
}

// restart forgets the connections of a client that was stopped, but not
// whether this process held the session first.
func (w *takeoverWatch) restart() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.run, w.since = 0, time.Time{}
	select {
	case <-w.fired:
	default:
	}
}

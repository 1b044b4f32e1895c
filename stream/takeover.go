package stream

import (
	"sync"
	"time"
)

// A broker lets one client hold a client id: when a second client connects
// with it, the broker closes the first. Two processes with one id (a
// console and `serve` on one certificate) would then kick each other off
// forever, each seeing part of the stream. takeoverWatch recognises the
// fight from this process's side: connections that keep following each
// other quickly, because each ends right after it began.
//
// The process that came second (its very first connection was soon cut)
// gives up after newcomerStreak quick reconnections, and says so in one
// line; the one that held the session before (its first connection lasted)
// waits longer (incumbentStreak), so that it is the newcomer that stops,
// and then backs off instead of fighting.
const (
	defaultTakeoverGap     = 5 * time.Second  // connections closer than this: the previous one was cut right away
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
	last     time.Time // the last one
	run      int       // quick reconnections in a row
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
	if w.connects > 1 {
		d := now.Sub(w.last)
		if w.connects == 2 && d >= w.stable {
			w.held = true
		}
		if d < w.gap {
			w.run++
		} else {
			w.run = 0
		}
	}
	w.last = now
	if w.run >= w.streak() {
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
	w.run, w.last = 0, time.Time{}
	if w.connects > 0 {
		w.connects = 2 // the first-connection rule is decided
	}
	select {
	case <-w.fired:
	default:
	}
}

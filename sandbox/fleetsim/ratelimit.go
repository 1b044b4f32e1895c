package fleetsim

import (
	"time"
)

// rateWindow is the span the documented limit counts over.
const rateWindow = time.Minute

// window remembers the times of a client's last `limit` admitted requests.
type window struct {
	times []time.Time // ring buffer
	next  int
	n     int
}

// admit records a request at now, or returns how long to wait when the client
// already made limit requests in the last minute.
func (a *authState) admit(client string, limit int, now time.Time) (bool, time.Duration) {
	if limit < 0 {
		return true, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.rate[client]
	if !ok {
		// Identities come from known service accounts and the one OAuth2
		// client, so this map stays small.
		w = &window{times: make([]time.Time, limit)}
		a.rate[client] = w
	}
	if limit == 0 {
		return false, rateWindow
	}
	if w.n == limit {
		oldest := w.times[w.next] // the ring is full: next is the oldest slot
		if wait := oldest.Add(rateWindow).Sub(now); wait > 0 {
			return false, wait
		}
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % limit
	if w.n < limit {
		w.n++
	}
	return true, 0
}

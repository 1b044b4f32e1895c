package stream

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// A topic (V1) or the payload's vin (V2) names the vehicle, a VIN or a
// pseudonym, and the vehicle's row in the views is keyed by it. An id with
// a character termsafe removes (an escape sequence, a zero-width space, a
// bidi override, a tag character) is never what a broker relays from a
// real vehicle: made safe, it would either merge into the row of the id it
// imitates or show as a second, identical-looking row. Such a message is
// dropped as malformed (it is still recorded), and logged as suspicious with
// the characters spelled out. A V1 topic's capability and property levels
// are held to the same rule, since they key the vehicle's property rows.

// suspiciousLogEvery bounds the log lines about suspicious topics: whoever
// can publish them can publish many.
const suspiciousLogEvery = 10 * time.Second

// suspiciousID is an id the views key rows by (a vehicle, or a V1 topic's
// capability or property) that termsafe would have to change: the decoder
// refuses it.
type suspiciousID struct{ kind, id string }

func (e *suspiciousID) Error() string {
	return e.kind + " " + strconv.QuoteToASCII(e.id) + " has invisible or control characters"
}

// checkID refuses an id that is not safe to draw as it is.
func checkID(kind, id string) error {
	if termsafe.Safe(id) {
		return nil
	}
	return &suspiciousID{kind: kind, id: id}
}

// suspiciousLog rate-limits the log lines about suspicious topics.
type suspiciousLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *suspiciousLog) report(log *slog.Logger, topic string, e *suspiciousID) {
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < suspiciousLogEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	// QuoteToASCII spells every invisible or control character out (\u200b),
	// so the log line shows what the screen would have hidden.
	log.Warn("telemetry message dropped as suspicious: it names a "+e.kind+" with invisible or control characters, made to look like another",
		e.kind, strconv.QuoteToASCII(termsafe.Clip(e.id, 256)), "topic", strconv.QuoteToASCII(termsafe.Clip(topic, 256)),
		"suppressed_since_last", suppressed)
}

package stream

import (
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// A topic names the vehicle (a VIN or a pseudonym), and the vehicle's row in
// the views is keyed by it. A topic level with a character termsafe removes
// (an escape sequence, a zero-width space, a bidi override, a tag character)
// is never what a broker relays from a real vehicle: made safe, it would
// either merge into the row of the id it imitates or show as a second,
// identical-looking row. Such a message is dropped as malformed, and logged
// as suspicious with the characters spelled out.

// suspiciousLogEvery bounds the log lines about suspicious topics: whoever
// can publish them can publish many.
const suspiciousLogEvery = 10 * time.Second

// suspiciousLevel returns the first level of topic that is not safe to
// draw, and whether there is one.
func suspiciousLevel(topic string) (string, bool) {
	if termsafe.Safe(topic) {
		return "", false
	}
	for level := range strings.SplitSeq(topic, "/") {
		if !termsafe.Safe(level) {
			return level, true
		}
	}
	return topic, true // not reached: an unsafe topic has an unsafe level
}

// suspiciousLog rate-limits the log lines about suspicious topics.
type suspiciousLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (l *suspiciousLog) report(log *slog.Logger, topic, level string) {
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
	log.Warn("telemetry message dropped as suspicious: its topic names a vehicle with invisible or control characters, made to look like another id",
		"level", strconv.QuoteToASCII(level), "topic", strconv.QuoteToASCII(termsafe.Clip(topic, 256)),
		"suppressed_since_last", suppressed)
}

// dropSuspicious counts and logs (through l) a message whose topic is
// suspicious, and reports whether it was one.
func (p *Pipeline) dropSuspicious(l *suspiciousLog, topic string) bool {
	level, bad := suspiciousLevel(topic)
	if !bad {
		return false
	}
	p.received.Add(1)
	p.malformed.Add(1)
	l.report(p.log, topic, level)
	return true
}

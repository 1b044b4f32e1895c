package ui

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/stream"
)

// The rate the store reports decays with storeRateTau: undoing it gives
// the interval a vehicle sends at, and the decay the view applies between
// reads matches the store's own.
func TestRateTauMatchesTheStore(t *testing.T) {
	t.Parallel()
	now := testNow
	st := stream.NewStore(stream.StoreOptions{Now: func() time.Time { return now }})
	for i := 0; i < 40; i++ { // every 2 s for 80 s
		at := testNow.Add(time.Duration(i) * 2 * time.Second)
		m := &stream.Message{Vehicle: "WBA12345678901234", Capability: "diagnostics", Property: "speed", Data: []byte("1"),
			Timestamp: at, Arrival: at, MessageID: []byte(fmt.Sprint(i))}
		if err := st.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	last := testNow.Add(78 * time.Second)
	now = last.Add(7 * time.Second)
	v := st.Vehicles()[0]
	if iv := expectedInterval(&v, now); iv < 1800*time.Millisecond || iv > 2200*time.Millisecond {
		t.Fatalf("expected interval %v, want about 2s", iv)
	}
	readAt := now
	now = now.Add(13 * time.Second)
	later := st.Vehicles()[0].Rate
	if got := rateNow(&v, readAt, now); math.Abs(got-later) > 1e-6*later {
		t.Fatalf("decayed in the view to %g, the store says %g", got, later)
	}
}

func TestFreshness(t *testing.T) {
	t.Parallel()
	seen := func(ago time.Duration, rate float64) stream.VehicleSummary {
		return stream.VehicleSummary{ID: "V", LastSeen: testNow.Add(-ago), Rate: rate * math.Exp(-ago.Seconds()/storeRateTau.Seconds())}
	}
	for _, tc := range []struct {
		v    stream.VehicleSummary
		want freshness
	}{
		{seen(500*time.Millisecond, 1), fresh},
		{seen(4*time.Second, 0.5), late},                                        // every 2 s, quiet for 2 intervals
		{seen(7*time.Second, 0.5), stale},                                       // quiet for 3.5 intervals
		{seen(20*time.Second, 0.05), fresh},                                     // every 20 s: not late yet
		{seen(3*time.Second, 10), late},                                         // every 100 ms: late after the 2 s floor
		{seen(6*time.Second, 10), stale},                                        // and stale after the 5 s floor
		{stream.VehicleSummary{ID: "V", LastSeen: testNow, Stale: true}, stale}, // the store says so
	} {
		if got := vehicleFreshness(&tc.v, testNow, testNow); got != tc.want {
			t.Errorf("seen %v ago at %.2f msg/s: %v, want %v", testNow.Sub(tc.v.LastSeen), tc.v.Rate, got, tc.want)
		}
	}
}

// Rows say how fresh they are; a stale one is dimmed across the row.
func TestStaleRowsAreMarked(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"))
	v := m.View()
	for id, glyph := range map[string]string{"1FTFW1ET5DFC10312": "●", "26ace794": "◐", "WBA12345678901234": "○"} {
		if row := rowWith(v, id); !strings.Contains(row, glyph+" ") {
			t.Errorf("row of %s lacks %s: %q", id, glyph, row)
		}
	}
	mustContain(t, v, "    VEHICLE")
	// Help says what they mean (scrolled to on a small screen).
	drive(t, m, keyMsg("?"))
	mustContain(t, m.View(), "more lines")
	drive(t, m, keyMsg("G"))
	mustContain(t, m.View(), "● fresh, ◐ late", "attempt N")
}

// When the feed stops, a vehicle's msg/s goes to 0 and so does the header's,
// without any batch arriving.
func TestRatesDecayWhenTheFeedStops(t *testing.T) {
	t.Parallel()
	e := newEnv()
	clk := e.withClock()
	e.tele.vehicles[0].Rate = 2.5
	e.tele.vehicles[0].LastSeen = testNow
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"))
	batch := func(seq uint64, received uint64, at time.Time) {
		drive(t, m, envelope{pane: paneTelemetry, seq: seq, msg: batchMsg{ok: true, b: stream.Batch{Seq: seq, State: stream.ConnState{Phase: stream.Connected},
			Stats: stream.Stats{Received: received}, At: at}}})
	}
	batch(1, 0, testNow)
	batch(2, 100, testNow.Add(time.Second))
	if row := rowWith(m.View(), "1FTFW1ET5DFC10312"); !strings.Contains(row, "2.5") {
		t.Fatalf("rate before: %q", row)
	}
	mustContain(t, m.View(), "30 msg/s")
	clk.add(40 * time.Second)
	for i := 0; i < 8; i++ {
		drive(t, m, clockMsg{})
	}
	v := m.View()
	if row := rowWith(v, "1FTFW1ET5DFC10312"); !strings.Contains(row, " 0.0") || !strings.Contains(row, "○") {
		t.Fatalf("40 s after the last message the row still says: %q", row)
	}
	mustContain(t, v, "● connected · 0 msg/s")
}

// The header and the status bar say how long the broker has been gone and
// what the number after "reconnecting" counts; notifications say when it
// went and when it came back.
func TestDisconnectedFor(t *testing.T) {
	t.Parallel()
	e := newEnv()
	clk := e.withClock()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"))
	state := func(seq uint64, s stream.ConnState) {
		drive(t, m, envelope{pane: paneTelemetry, seq: seq, msg: batchMsg{ok: true, b: stream.Batch{Seq: seq, State: s, At: clk.now()}}})
	}
	state(1, stream.ConnState{Phase: stream.Reconnecting, Attempt: 1, Reason: "connection refused"})
	clk.add(40 * time.Second)
	state(2, stream.ConnState{Phase: stream.Reconnecting, Attempt: 23, Reason: "connection refused"})
	v := m.View()
	mustContain(t, v, "● reconnecting (attempt 23) · disconnected for 40s", "broker reconnecting (attempt 23), down 40s")
	mustNotContain(t, v, "reconnecting 23")
	mustContain(t, notesText(m), "✗ broker connection lost: reconnecting (attempt 1) (connection refused)")
	clk.add(5 * time.Second)
	state(3, stream.ConnState{Phase: stream.Connected})
	v = m.View()
	mustContain(t, v, "● connected", "broker connected")
	mustNotContain(t, v, "disconnected for")
	mustContain(t, notesText(m), "✓ broker connected again after 45s")
}

// notesText is the history as lines "✓ text" / "✗ text".
func notesText(m *Model) string {
	var b strings.Builder
	for _, n := range m.notes.entries {
		icon := "✓ "
		if n.level == levelError {
			icon = "✗ "
		}
		b.WriteString(icon + n.text + "\n")
	}
	return b.String()
}

// A provider's state is its last call's: an error after a success shows
// as an error (never "fleet ok" next to a failure), a success after it
// turns it back to ok.
func TestProviderStateFollowsTheLastCall(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	mustContain(t, m.View(), "fleet ok")
	e.fleet.mu.Lock()
	e.fleet.listErr = errors.New("list vehicles: dial tcp 127.0.0.1:8443: connect: connection refused")
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("r"))
	v := m.View()
	mustContain(t, v, "fleet error", "✗ 1 new (n)", "list vehicles: dial tcp")
	mustNotContain(t, v, "fleet ok")
	mustContain(t, notesText(m), "✗ list vehicles: dial tcp 127.0.0.1:8443: connect: connection refused")
	e.fleet.mu.Lock()
	e.fleet.listErr = nil
	e.fleet.mu.Unlock()
	drive(t, m, keyMsg("r"))
	mustContain(t, m.View(), "fleet ok")
	// The status bar carries no error text of its own any more: the
	// notification does, and it can be dismissed.
	drive(t, m, keyMsg("N"))
	mustNotContain(t, m.View(), "dial tcp")
}

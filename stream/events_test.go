package stream

import (
	"fmt"
	"math"
	"testing"
	"time"
)

var evT0 = time.Date(2025, 8, 12, 16, 0, 0, 0, time.UTC)

type evFeed struct {
	t  *testing.T
	s  *Store
	at time.Time
	n  int
}

// send applies one message for vehicle WBA… at e.at, a second after the
// previous one unless advanced.
func (e *evFeed) send(capability, property, data string, f *Failure) {
	e.t.Helper()
	e.n++
	m := &Message{Vehicle: "WBA12345678901234", Capability: capability, Property: property,
		Timestamp: e.at, Arrival: e.at, MessageID: []byte(fmt.Sprint(e.n)), Failure: f}
	if f == nil {
		m.Data = []byte(data)
	}
	if err := e.s.Apply(m); err != nil {
		e.t.Fatal(err)
	}
	e.at = e.at.Add(time.Second)
}

func newEvFeed(t *testing.T, o StoreOptions) *evFeed {
	o.Now = func() time.Time { return evT0.Add(time.Hour) }
	return &evFeed{t: t, s: NewStore(o), at: evT0}
}

func TestEventsAreDerivedAtIngest(t *testing.T) {
	e := newEvFeed(t, StoreOptions{})
	speed := func(v float64) {
		e.send("diagnostics", "speed", fmt.Sprintf(`{"unit":"kilometers_per_hour","value":%g}`, v), nil)
	}
	e.send("ignition", "state", `"off"`, nil) // the first state: no event
	e.send("ignition", "state", `"on"`, nil)  // 1 ignition on
	e.send("ignition", "state", `"on"`, nil)  // unchanged
	speed(0)                                  // the first speed: no event
	speed(0)
	speed(12.5) // 2 moving
	speed(30)
	speed(0) // 3 stopped
	e.send("diagnostics", "fuel_level", `0.12`, nil)
	e.send("diagnostics", "fuel_level", `0.08`, nil) // 4 low
	e.send("diagnostics", "fuel_level", `0.07`, nil)
	e.send("diagnostics", "fuel_level", `0.55`, nil) // 5 refilled
	fail := &Failure{Reason: "rate_limit", Description: "too many"}
	e.send("doors", "locks_state", "", fail) // 6 failure
	e.send("doors", "locks_state", "", fail) // the same failure again
	e.send("doors", "locks_state", `"locked"`, nil)
	e.send("doors", "locks_state", "", fail) // 7 it failed again after a value
	e.at = e.at.Add(6 * time.Minute)
	e.send("ignition", "state", `"lock"`, nil) // 8 silence, 9 ignition lock

	ev, ok := e.s.Events("WBA12345678901234")
	if !ok {
		t.Fatal("vehicle unknown")
	}
	type want struct {
		kind EventKind
		prop string
		text string
		val  float64
	}
	wants := []want{
		{EventIgnition, "state", "on", 0},
		{EventMoving, "speed", "", 12.5},
		{EventStopped, "speed", "", 0},
		{EventLow, "fuel_level", "", 8},
		{EventRefilled, "fuel_level", "", 55},
		{EventFailure, "locks_state", "rate_limit", 0},
		{EventFailure, "locks_state", "rate_limit", 0},
		{EventSilence, "state", "", 361},
		{EventIgnition, "state", "lock", 0},
	}
	if len(ev.Events) != len(wants) {
		t.Fatalf("%d events, want %d: %+v", len(ev.Events), len(wants), ev.Events)
	}
	for i, w := range wants {
		g := ev.Events[i]
		if g.Kind != w.kind || g.Property != w.prop || g.Text != w.text || math.Abs(g.Value-w.val) > 0.01 {
			t.Errorf("event %d = %v %s %q %.2f, want %v %s %q %.2f", i, g.Kind, g.Property, g.Text, g.Value, w.kind, w.prop, w.text, w.val)
		}
		if i > 0 && g.At.Before(ev.Events[i-1].At) {
			t.Errorf("event %d is older than the one before", i)
		}
	}
	if !ev.First.Equal(evT0) || !ev.Last.Equal(e.at.Add(-time.Second)) {
		t.Errorf("first %v last %v", ev.First, ev.Last)
	}
	if _, ok := e.s.Events("nobody"); ok {
		t.Error("an unknown vehicle has events")
	}
}

func TestEventsAreBounded(t *testing.T) {
	e := newEvFeed(t, StoreOptions{MaxEvents: 4})
	for i := 0; i < 10; i++ {
		e.send("ignition", "state", []string{`"on"`, `"off"`}[i%2], nil)
	}
	ev, _ := e.s.Events("WBA12345678901234")
	if len(ev.Events) != 4 || ev.Dropped != 5 {
		t.Fatalf("%d events kept, %d dropped; want 4 and 5", len(ev.Events), ev.Dropped)
	}
	// The newest four, oldest first: the changes of messages 6..9.
	for i, want := range []string{"on", "off", "on", "off"} {
		if ev.Events[i].Text != want || i > 0 && !ev.Events[i].At.After(ev.Events[i-1].At) {
			t.Fatalf("after wrapping: %+v", ev.Events)
		}
	}
}

func TestPositions(t *testing.T) {
	e := newEvFeed(t, StoreOptions{})
	e.send("vehicle_location", "coordinates", `{"latitude":59.437,"longitude":24.7536}`, nil)
	e.send("vehicle_location", "heading", `{"unit":"degrees","value":95.5}`, nil)
	e.send("diagnostics", "speed", `{"unit":"kilometers_per_hour","value":40}`, nil)
	e.send("ignition", "state", `"on"`, nil)
	e.send("vehicle_location", "coordinates", `{"latitude":123,"longitude":24}`, nil) // not on Earth: kept out
	// A vehicle with no position is not on the map.
	if err := e.s.Apply(&Message{Vehicle: "XTA21000000000001", Capability: "diagnostics", Property: "speed", Data: []byte(`3`), Arrival: evT0}); err != nil {
		t.Fatal(err)
	}
	ps := e.s.Positions(nil)
	if len(ps) != 1 {
		t.Fatalf("%d positions, want 1", len(ps))
	}
	p := ps[0]
	if p.Lat != 59.437 || p.Lon != 24.7536 || !p.HasHeading || p.Heading != 95.5 || !p.Moving() || p.Ignition != IgnitionOn || !p.At.Equal(evT0) {
		t.Fatalf("position %+v", p)
	}
}

func TestTraceWhileWatched(t *testing.T) {
	e := newEvFeed(t, StoreOptions{})
	e.send("diagnostics", "fuel_level", `0.5`, nil)
	if _, ok := e.s.Trace("WBA12345678901234", "diagnostics", "fuel_level"); ok {
		t.Fatal("a trace before anyone watches")
	}
	stop, ok := e.s.Watch("WBA12345678901234")
	if !ok {
		t.Fatal("watch refused")
	}
	stop2, _ := e.s.Watch("WBA12345678901234")
	e.send("diagnostics", "fuel_level", `0.25`, nil)
	tr, ok := e.s.Trace("WBA12345678901234", "diagnostics", "fuel_level")
	if !ok || len(tr.Samples) != 2 || tr.Samples[0].Value != 50 || tr.Samples[1].Value != 25 || !tr.Samples[0].At.Equal(evT0) {
		t.Fatalf("trace %+v (ok %v): want the latest value as a percentage, then the new one", tr, ok)
	}
	stop()
	stop() // twice is once
	if _, ok := e.s.Trace("WBA12345678901234", "diagnostics", "fuel_level"); !ok {
		t.Fatal("the second watch still holds the trace")
	}
	stop2()
	if _, ok := e.s.Trace("WBA12345678901234", "diagnostics", "fuel_level"); ok {
		t.Fatal("the trace outlived its watches")
	}
	// A vehicle watched before it arrives is traced from its first message.
	stop3, _ := e.s.Watch("XTA21000000000001")
	defer stop3()
	for i := 0; i < TraceLen+5; i++ {
		if err := e.s.Apply(&Message{Vehicle: "XTA21000000000001", Capability: "diagnostics", Property: "speed",
			Data: []byte(fmt.Sprint(i)), Arrival: evT0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	tr, _ = e.s.Trace("XTA21000000000001", "diagnostics", "speed")
	if len(tr.Samples) != TraceLen || tr.Samples[0].Value != 5 || tr.Samples[TraceLen-1].Value != TraceLen+4 {
		t.Fatalf("%d samples from %v to %v; want the newest %d", len(tr.Samples), tr.Samples[0].Value, tr.Samples[len(tr.Samples)-1].Value, TraceLen)
	}
}

func TestBrokerGaps(t *testing.T) {
	p := NewPipeline(PipelineOptions{})
	p.setState(ConnState{Phase: Connected})
	p.setState(ConnState{Phase: Reconnecting, Attempt: 1, Reason: "EOF"})
	p.setState(ConnState{Phase: Reconnecting, Attempt: 2, Reason: "EOF"})
	p.setState(ConnState{Phase: Connected})
	p.setState(ConnState{Phase: Reconnecting, Attempt: 1})
	gs := p.Gaps()
	if len(gs) != 2 || gs[0].To.IsZero() || gs[0].To.Before(gs[0].From) || !gs[1].To.IsZero() || gs[0].Reason != "reconnecting 1" {
		t.Fatalf("gaps %+v", gs)
	}
}

// Events keep whole seconds, counted from the vehicle's first message,
// before it too (a vehicle catching up sends old source times).
func TestEventTimesAreWholeSeconds(t *testing.T) {
	s := NewStore(StoreOptions{Now: func() time.Time { return evT0 }})
	first := evT0.Add(700 * time.Millisecond)
	apply := func(state string, source time.Time) {
		t.Helper()
		if err := s.Apply(&Message{Vehicle: "WBA12345678901234", Capability: "ignition", Property: "state",
			Data: []byte(state), Timestamp: source, Arrival: first}); err != nil {
			t.Fatal(err)
		}
	}
	apply(`"off"`, evT0.Add(-95*time.Second))
	apply(`"on"`, evT0.Add(-90*time.Second-300*time.Millisecond)) // 11:58:29.7 → :29
	apply(`"off"`, evT0.Add(42*time.Second+900*time.Millisecond)) // :42.9 → :42
	ev, _ := s.Events("WBA12345678901234")
	if len(ev.Events) != 2 || !ev.Events[0].At.Equal(evT0.Add(-91*time.Second)) || !ev.Events[1].At.Equal(evT0.Add(42*time.Second)) {
		t.Fatalf("events %+v", ev.Events)
	}
}

package stream

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// What the store derives from the feed as it arrives, for the map, the
// timeline and the charts: a vehicle's position and motion, a short log of
// the moments that matter (a failure, the ignition turning, the vehicle
// starting or stopping, a tank running low, a silence), and, for the few
// vehicles someone is looking at closely, a longer history of their numbers.
// Everything here is per vehicle and bounded, allocated only for vehicles
// that have something to keep, and costs a table lookup per message for the
// properties it does not watch.

// EventKind names a telemetry event.
type EventKind uint8

const (
	EventFailure  EventKind = iota + 1 // a property reported a failure instead of a value (Text: its reason)
	EventIgnition                      // ignition.state changed (Text: the new state)
	EventMoving                        // diagnostics.speed went from 0 to moving (Value: km/h or the feed's unit)
	EventStopped                       // diagnostics.speed went to 0
	EventLow                           // fuel or battery level fell below LowLevel percent (Value: %)
	EventRefilled                      // fuel or battery level came back above LowLevel percent (Value: %)
	EventSilence                       // a message after SilenceGap or more of nothing (Value: seconds of silence)
)

func (k EventKind) String() string {
	switch k {
	case EventFailure:
		return "failure"
	case EventIgnition:
		return "ignition"
	case EventMoving:
		return "moving"
	case EventStopped:
		return "stopped"
	case EventLow:
		return "low"
	case EventRefilled:
		return "refilled"
	case EventSilence:
		return "silence"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event thresholds and bounds.
const (
	// LowLevel is the fuel or battery level, in percent, below which a
	// vehicle is low.
	LowLevel = 10.0
	// DefaultMaxEvents is how many events a vehicle keeps (the newest).
	DefaultMaxEvents = 32
	// DefaultSilenceGap is the silence after which a vehicle's next message
	// is an event.
	DefaultSilenceGap = 5 * time.Minute
	// maxTexts bounds the distinct event texts (failure reasons, ignition
	// states) the store interns; later ones read "other".
	maxTexts = 255
)

// Event is one moment in a vehicle's feed. At is the source's timestamp
// when the message had one, else its arrival.
type Event struct {
	At         time.Time
	Kind       EventKind
	Capability string
	Property   string
	Value      float64
	Text       string // terminal-safe
}

// VehicleEvents is what the feed says about one vehicle over time: its
// first and last message and its events, oldest first. Dropped counts the
// older events the bound pushed out.
type VehicleEvents struct {
	ID        string
	Pseudonym bool
	First     time.Time
	Last      time.Time
	Events    []Event
	Dropped   int
}

// watchKind is what the store watches a property for.
type watchKind uint8

const (
	watchNone watchKind = iota
	watchCoordinates
	watchHeading
	watchSpeed
	watchIgnition
	watchLevel
)

func watchOf(capability, property string) watchKind {
	switch capability + "." + property {
	case "vehicle_location.coordinates":
		return watchCoordinates
	case "vehicle_location.heading":
		return watchHeading
	case "diagnostics.speed":
		return watchSpeed
	case "ignition.state":
		return watchIgnition
	case "diagnostics.fuel_level", "charging.battery_level":
		return watchLevel
	}
	return watchNone
}

// Ignition is a vehicle's last ignition state as the map reads it.
type Ignition uint8

const (
	IgnitionUnknown Ignition = iota
	IgnitionOn
	IgnitionOff // off, lock or accessory: the engine is not running
)

// extras is what a vehicle keeps beyond its latest values; allocated on its
// first position, event or watch.
type extras struct {
	lat, lon float64
	posAt    int64 // the position's time (source, else arrival); 0: no position
	heading  float32
	speed    float32
	flags    uint8 // hasHeading, hasSpeed
	ignition Ignition

	events  []event // a ring once full: next is the oldest
	next    int32
	dropped int32

	trace *trace // the long history, while someone watches this vehicle
}

const (
	hasHeading = 1 << iota
	hasSpeed
)

// event is kept small (12 bytes): a vehicle holds up to MaxEvents of them.
// at counts whole seconds from the second of the vehicle's first message.
type event struct {
	at   int32
	val  float32
	name uint16
	kind EventKind
	text uint8 // index into Store.texts; 0: none
}

// hasFailed reports whether the property's stored value is a failure.
func (p *prop) hasFailed() bool { return p.kind == kindFailure }

// eventBase is the whole second of the vehicle's first message, from
// which its events count.
func eventBase(v *vehicle) int64 { return v.first - v.first%int64(time.Second) }

func (v *vehicle) more() *extras {
	if v.x == nil {
		v.x = &extras{}
	}
	return v.x
}

func (s *Store) addEvent(v *vehicle, at int64, e event) {
	d := (at - eventBase(v)) / int64(time.Second)
	if at < eventBase(v) && (at-eventBase(v))%int64(time.Second) != 0 {
		d-- // whole seconds, rounded down before the base too
	}
	e.at = int32(max(min(d, math.MaxInt32), math.MinInt32))
	x := v.more()
	if len(x.events) < s.opts.MaxEvents {
		x.events = append(x.events, e)
		return
	}
	x.events[x.next] = e
	x.next = (x.next + 1) % int32(len(x.events))
	x.dropped++
}

// text interns an event text (a failure reason, an ignition state): they
// come from short enumerations, so a small table holds them all.
func (s *Store) text(b []byte) uint8 {
	for i, t := range s.texts {
		if t == string(b) {
			return uint8(i + 1)
		}
	}
	if len(s.texts) >= maxTexts {
		return 0
	}
	s.texts = append(s.texts, string(b))
	return uint8(len(s.texts))
}

// observe derives what a message means beyond its value. It runs under the
// write lock, after the message was found newer than the stored value and
// before that value is replaced: p still holds the previous one.
func (s *Store) observe(v *vehicle, p *prop, kind watchKind, m *Message, at int64) {
	if m.Failure != nil {
		if p.hasFailed() && sameFailure(v.value(p), m.Failure) {
			return // the same failure again: not a new moment
		}
		s.addEvent(v, at, event{name: p.name, kind: EventFailure, text: s.text([]byte(m.Failure.Reason))})
		return
	}
	switch kind {
	case watchCoordinates:
		lat, ok1 := numberField(m.Data, "latitude")
		lon, ok2 := numberField(m.Data, "longitude")
		if ok1 && ok2 && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
			x := v.more()
			x.lat, x.lon, x.posAt = lat, lon, at
		}
	case watchHeading:
		if f, ok := numberOf(m.Data); ok && !math.IsNaN(f) {
			x := v.more()
			x.heading, x.flags = float32(f), x.flags|hasHeading
		}
	case watchSpeed:
		f, ok := numberOf(m.Data)
		if !ok || math.IsNaN(f) {
			return
		}
		x := v.more()
		was, known := x.speed > 0, x.flags&hasSpeed != 0
		x.speed, x.flags = float32(f), x.flags|hasSpeed
		if known && was != (f > 0) {
			k := EventStopped
			if f > 0 {
				k = EventMoving
			}
			s.addEvent(v, at, event{name: p.name, kind: k, val: float32(f)})
		}
	case watchIgnition:
		state := m.Data
		if len(state) < 2 || state[0] != '"' {
			return
		}
		state = state[1 : len(state)-1]
		x := v.more()
		if !p.hasFailed() && p.n > 0 && bytes.Equal(v.value(p), m.Data) {
			return
		}
		if bytes.Equal(state, []byte("on")) {
			x.ignition = IgnitionOn
		} else {
			x.ignition = IgnitionOff
		}
		if p.n > 0 || p.hasFailed() { // the first state seen is where we start, not a change
			s.addEvent(v, at, event{name: p.name, kind: EventIgnition, text: s.text(state)})
		}
	case watchLevel:
		f, ok := numberOf(m.Data)
		if !ok || math.IsNaN(f) {
			return
		}
		now := levelPercent(f)
		if p.hlen == 0 {
			return // the first reading: nothing crossed
		}
		before := levelPercent(float64(p.hist[(int(p.hpos)+HistoryLen-1)%HistoryLen]))
		switch {
		case before >= LowLevel && now < LowLevel:
			s.addEvent(v, at, event{name: p.name, kind: EventLow, val: float32(now)})
		case before < LowLevel && now >= LowLevel:
			s.addEvent(v, at, event{name: p.name, kind: EventRefilled, val: float32(now)})
		}
	}
}

// levelPercent reads a level the way RenderValue shows it: a fraction of
// one is a percentage.
func levelPercent(f float64) float64 {
	if f >= 0 && f <= 1 {
		return f * 100
	}
	return f
}

// sameFailure compares a stored failure ("reason\x00description") with f
// without allocating.
func sameFailure(raw []byte, f *Failure) bool {
	r, d, ok := bytes.Cut(raw, []byte{0})
	return ok && string(r) == f.Reason && string(d) == f.Description
}

// numberField reads a number member of a JSON object.
func numberField(obj []byte, key string) (float64, bool) {
	v, ok := field(obj, key)
	if !ok || len(v) == 0 || (v[0] != '-' && !isDigit(v[0])) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// Events returns what the feed said about one vehicle over time, or false
// when the store has never seen it.
func (s *Store) Events(id string) (VehicleEvents, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.vehicles[id]
	if v == nil {
		return VehicleEvents{}, false
	}
	out := VehicleEvents{ID: v.id, Pseudonym: v.pseudonym, First: time.Unix(0, v.first), Last: time.Unix(0, v.lastSeen)}
	x := v.x
	if x == nil {
		return out, true
	}
	out.Dropped = int(x.dropped)
	out.Events = make([]Event, 0, len(x.events))
	for i := range x.events {
		e := &x.events[(int(x.next)+i)%len(x.events)]
		name := s.names[e.name]
		ev := Event{At: time.Unix(0, eventBase(v)+int64(e.at)*int64(time.Second)), Kind: e.kind, Capability: name.capability, Property: name.property, Value: float64(e.val)}
		switch {
		case e.text > 0:
			ev.Text = s.texts[e.text-1]
		case e.kind == EventFailure || e.kind == EventIgnition:
			ev.Text = "other"
		}
		out.Events = append(out.Events, ev)
	}
	return out, true
}

// Position is where a vehicle was last reported, with what the map draws
// beside it.
type Position struct {
	ID         string
	Pseudonym  bool
	Lat, Lon   float64
	At         time.Time // the position's source time, else its arrival
	Heading    float64   // degrees clockwise from north
	HasHeading bool
	Speed      float64 // in the feed's unit (km/h in practice)
	HasSpeed   bool
	Ignition   Ignition
	Stale      bool // the vehicle is stale (see Vehicles)
}

// Moving reports a vehicle whose last speed was above zero.
func (p *Position) Moving() bool { return p.HasSpeed && p.Speed > 0 }

// Positions appends the position of every vehicle that reported one to dst
// (reused by a caller that redraws often), in the order of Vehicles.
func (s *Store) Positions(dst []Position) []Position {
	now := s.opts.Now().UnixNano()
	s.rlockOrdered()
	defer s.mu.RUnlock()
	for _, v := range s.order {
		x := v.x
		if x == nil || x.posAt == 0 {
			continue
		}
		dst = append(dst, Position{
			ID: v.id, Pseudonym: v.pseudonym, Lat: x.lat, Lon: x.lon, At: time.Unix(0, x.posAt),
			Heading: float64(x.heading), HasHeading: x.flags&hasHeading != 0,
			Speed: float64(x.speed), HasSpeed: x.flags&hasSpeed != 0,
			Ignition: x.ignition, Stale: s.vehicleStale(v, now),
		})
	}
	return dst
}

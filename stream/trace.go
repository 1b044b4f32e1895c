package stream

import (
	"time"
)

// The long history of a vehicle someone is looking at closely (a chart is
// open on it, or it is selected): every number it sends, with its time, up
// to TraceLen samples per property. Every other vehicle keeps only its
// HistoryLen-sample ring. Watching costs nothing until samples arrive, then
// 12 bytes a sample: at most 24 KB per numeric property, about 480 KB for a
// vehicle with 20 of them.

// Trace bounds.
const (
	TraceLen   = 2048 // samples kept per property of a watched vehicle
	maxWatched = 256  // vehicles watched at once (a few per console or SSH session)
)

// Sample is one number a vehicle sent, at its source time (else arrival),
// as the Telemetry view shows it (a fraction of one as a percentage).
type Sample struct {
	At    time.Time
	Value float64
}

// Trace is a watched property's long history, oldest first. Since is when
// the watch began: nothing before it was kept beyond the short ring.
type Trace struct {
	Since   time.Time
	Samples []Sample
}

type trace struct {
	since int64
	props map[uint16]*samples
}

// samples is a ring once full: next is the oldest.
type samples struct {
	at   []int64
	val  []float32
	next int
}

// shown is a number as the views show it: fractions of one as percentages.
func shown(property string, f float64) float64 {
	if isFraction(property) {
		return levelPercent(f)
	}
	return f
}

func (t *trace) add(name uint16, at int64, f float64) {
	r := t.props[name]
	if r == nil {
		r = &samples{}
		t.props[name] = r
	}
	if len(r.at) < TraceLen {
		r.at = append(r.at, at)
		r.val = append(r.val, float32(f))
		return
	}
	r.at[r.next], r.val[r.next] = at, float32(f)
	r.next = (r.next + 1) % TraceLen
}

// Watch starts keeping the long history of vehicle id (known yet or not)
// and returns the function that stops it; watches of one vehicle are
// counted, and the history goes when the last one stops. ok is false when
// too many vehicles are watched already (stop is then a no-op).
func (s *Store) Watch(id string) (stop func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watched == nil {
		s.watched = make(map[string]int)
	}
	if s.watched[id] == 0 && len(s.watched) >= maxWatched {
		return func() {}, false
	}
	s.watched[id]++
	if v := s.vehicles[id]; v != nil {
		s.startTrace(v)
	}
	done := false
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if done {
			return
		}
		done = true
		s.watched[id]--
		if s.watched[id] > 0 {
			return
		}
		delete(s.watched, id)
		if v := s.vehicles[id]; v != nil && v.x != nil {
			v.x.trace = nil
		}
	}, true
}

// startTrace begins v's long history with the latest value of each of its
// numbers, so a chart has a point at once.
func (s *Store) startTrace(v *vehicle) {
	x := v.more()
	if x.trace != nil {
		return
	}
	x.trace = &trace{since: s.opts.Now().UnixNano(), props: make(map[uint16]*samples)}
	for i := range v.props {
		p := &v.props[i]
		if p.hasFailed() || p.hlen == 0 {
			continue
		}
		at := p.source
		if at == 0 {
			at = p.arrival
		}
		f := float64(p.hist[(int(p.hpos)+HistoryLen-1)%HistoryLen])
		x.trace.add(p.name, at, shown(s.names[p.name].property, f))
	}
}

// Trace returns the long history of one property of a watched vehicle, or
// false when nobody watches it.
func (s *Store) Trace(id, capability, property string) (Trace, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.vehicles[id]
	if v == nil || v.x == nil || v.x.trace == nil {
		return Trace{}, false
	}
	t := v.x.trace
	out := Trace{Since: time.Unix(0, t.since)}
	name, ok := s.nameIdx[propName{capability, property}]
	if !ok {
		return out, true
	}
	r := t.props[name]
	if r == nil {
		return out, true
	}
	out.Samples = make([]Sample, len(r.at))
	for i := range r.at {
		k := (r.next + i) % len(r.at)
		out.Samples[i] = Sample{At: time.Unix(0, r.at[k]), Value: float64(r.val[k])}
	}
	return out, true
}

package stream

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// HistoryLen is how many numeric samples a property keeps for its sparkline.
const HistoryLen = 24

// Store limits and defaults. The topic is chosen by whoever publishes, so
// every table keyed by something from the wire has a ceiling.
const (
	DefaultMaxVehicles  = 100_000
	DefaultMaxNames     = 4096 // distinct capability.property pairs
	DefaultMaxProps     = 256  // per vehicle
	DefaultStaleLag     = 5 * time.Minute
	DefaultStaleIdle    = 15 * time.Minute
	DefaultMaxListItems = 64 // items kept of one list property
	rateTau             = 10 * time.Second
	maxStoredValueBytes = math.MaxUint16
)

var errStoreFull = errors.New("store is full")

// StoreOptions tune a Store; zero values mean the defaults above.
type StoreOptions struct {
	MaxVehicles int
	MaxNames    int
	MaxProps    int
	// MaxListItems bounds the items kept of one multi-valued property (the
	// newest list replaces the previous one; items past the bound are
	// counted, not kept).
	MaxListItems int
	// StaleLag flags a value whose source timestamp is this far behind its
	// arrival (the vehicle was offline and is catching up).
	StaleLag time.Duration
	// StaleIdle flags a value (and a vehicle) not updated for this long.
	StaleIdle time.Duration
	// MaxEvents bounds the events kept per vehicle (default
	// DefaultMaxEvents); SilenceGap is the quiet after which a message is
	// an event (default DefaultSilenceGap). See events.go.
	MaxEvents  int
	SilenceGap time.Duration
	Now        func() time.Time
}

// VehicleSummary is one row of the vehicle list.
type VehicleSummary struct {
	ID         string
	Pseudonym  bool
	LastSeen   time.Time // arrival of the last message
	Rate       float64   // messages per second, exponentially weighted (τ = 10 s)
	Stale      bool
	Properties int
}

// Property is the latest value of one capability.property of a vehicle.
type Property struct {
	Capability string
	Name       string
	Value      string // display text, terminal-safe
	Unit       string
	Numeric    bool
	Number     float64
	SourceTime time.Time // zero when the message carried none
	Arrival    time.Time
	Stale      bool
	Failure    *Failure
	History    []float64 // oldest first; nil for values that are not numbers

	// List marks a multi-valued property (trouble codes, bulb failures, tire
	// pressures, ...): Value reads "3 items", Count is how many the vehicle
	// sent and Items the ones kept (at most StoreOptions.MaxListItems), in
	// the order they came. SourceTime is the newest item's.
	List  bool
	Count int
	Items []ListItem
}

// ListItem is one item of a list property, ready to show.
type ListItem struct {
	Value      string // display text, terminal-safe (RenderValue of the item's data)
	Unit       string
	Numeric    bool
	Number     float64
	Raw        string    // the item's data as compact JSON; "" with Failure
	SourceTime time.Time // zero when the item carried none
	Failure    *Failure
}

// Store keeps the latest value per vehicle/capability/property with a small
// history, compactly: a vehicle with 20 properties costs about 3.1 KB with a
// realistic mix of values and 3.9 KB when all 20 are numbers. A list keeps
// its newest items' JSON and about three bytes each besides: five lists of
// ten trouble codes (~90 bytes each) add about 5.8 KB to a vehicle.
// One goroutine writes (the pipeline); any number read.
type Store struct {
	opts StoreOptions

	mu       sync.RWMutex
	vehicles map[string]*vehicle
	order    []*vehicle // sorted by id
	pending  []*vehicle // new since the last sort
	names    []propName
	nameIdx  map[propName]uint16
	watches  []watchKind // per name: what observe looks for
	texts    []string    // event texts, interned (events.go)
	watched  map[string]int
	dirty    []*vehicle
	scratch  []byte // a list being encoded (the writer holds mu)
}

type propName struct{ capability, property string }

type vehicle struct {
	id        string
	pseudonym bool
	dirty     bool
	rate      float32
	lastSeen  int64 // unix ns
	newest    int64 // newest source timestamp seen (unix ns), 0 = none
	first     int64 // arrival of the first message (unix ns)
	x         *extras
	garbage   uint32
	props     []prop
	arena     []byte // values (raw JSON), failures ("reason\x00description") or lists (see appendList)
}

// prop is kept small on purpose (40 bytes): there are millions of them.
type prop struct {
	source  int64 // unix ns, 0 = unknown
	arrival int64
	hist    *[HistoryLen]float32
	off     uint32 // value bytes: arena[off : off+n], slot capacity c
	n, c    uint16
	name    uint16
	hpos    uint8
	hlen    uint8
	kind    uint8 // kindValue, kindFailure or kindList
}

// What a prop's arena slot holds.
const (
	kindValue uint8 = iota
	kindFailure
	kindList
)

// NewStore returns an empty store.
func NewStore(o StoreOptions) *Store {
	if o.MaxVehicles <= 0 {
		o.MaxVehicles = DefaultMaxVehicles
	}
	if o.MaxNames <= 0 || o.MaxNames > math.MaxUint16 {
		o.MaxNames = DefaultMaxNames
	}
	if o.MaxProps <= 0 {
		o.MaxProps = DefaultMaxProps
	}
	if o.MaxListItems <= 0 {
		o.MaxListItems = DefaultMaxListItems
	}
	if o.StaleLag <= 0 {
		o.StaleLag = DefaultStaleLag
	}
	if o.StaleIdle <= 0 {
		o.StaleIdle = DefaultStaleIdle
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = DefaultMaxEvents
	}
	if o.SilenceGap <= 0 {
		o.SilenceGap = DefaultSilenceGap
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{opts: o, vehicles: make(map[string]*vehicle), nameIdx: make(map[propName]uint16)}
}

// Apply stores one decoded message (its Arrival must be set). A value whose
// source timestamp is older than the stored one (a late redelivery) does
// not replace it. Apply fails only when a limit is reached.
func (s *Store) Apply(m *Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apply(m)
}

// applyAll applies the updates of one MQTT message under one lock (a V2
// message holds several, of one vehicle) and appends each one's result to
// errs.
func (s *Store) applyAll(msgs []Message, errs []error) []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last *vehicle
	for i := range msgs {
		var err error
		last, err = s.applyTo(&msgs[i], last)
		errs = append(errs, err)
	}
	return errs
}

func (s *Store) apply(m *Message) error {
	_, err := s.applyTo(m, nil)
	return err
}

// applyTo applies m; v, when not nil and the vehicle m names, saves looking
// it up. It returns m's vehicle.
func (s *Store) applyTo(m *Message, v *vehicle) (*vehicle, error) {
	arrival := m.Arrival.UnixNano()
	var source int64
	if !m.Timestamp.IsZero() {
		source = m.Timestamp.UnixNano()
	}
	if v == nil || v.id != m.Vehicle {
		v = s.vehicles[m.Vehicle]
	}
	if v == nil {
		if len(s.vehicles) >= s.opts.MaxVehicles {
			return nil, errStoreFull
		}
		// Clone: the id is a substring of the topic, which would otherwise
		// stay alive with it.
		v = &vehicle{id: strings.Clone(m.Vehicle), pseudonym: m.Pseudonym, first: arrival}
		s.vehicles[v.id] = v
		s.pending = append(s.pending, v)
		if s.watched[v.id] > 0 {
			s.startTrace(v)
		}
	}
	name, ok := s.nameIdx[propName{m.Capability, m.Property}]
	if !ok {
		if len(s.names) >= s.opts.MaxNames {
			return nil, errStoreFull
		}
		name = uint16(len(s.names))
		pn := propName{strings.Clone(m.Capability), strings.Clone(m.Property)}
		s.names = append(s.names, pn)
		s.watches = append(s.watches, watchOf(pn.capability, pn.property))
		s.nameIdx[pn] = name
	}
	p := v.find(name)
	if p == nil {
		if len(v.props) >= s.opts.MaxProps {
			return nil, errStoreFull
		}
		p = v.add(name)
	}

	at := source
	if at == 0 {
		at = arrival
	}
	if v.lastSeen != 0 && arrival-v.lastSeen >= int64(s.opts.SilenceGap) {
		s.addEvent(v, at, event{name: name, kind: EventSilence, val: float32(time.Duration(arrival - v.lastSeen).Seconds())})
	}
	// Rate: exponentially decaying event rate, r ← r·e^(−Δt/τ) + 1/τ.
	if v.lastSeen != 0 {
		dt := float64(arrival-v.lastSeen) / float64(rateTau)
		v.rate = float32(float64(v.rate)*math.Exp(-max(dt, 0))) + float32(time.Second)/float32(rateTau)
	} else {
		v.rate = float32(time.Second) / float32(rateTau)
	}
	v.lastSeen = max(v.lastSeen, arrival)
	v.newest = max(v.newest, source)
	if !v.dirty {
		v.dirty = true
		s.dirty = append(s.dirty, v)
	}

	if source != 0 && p.source != 0 && source < p.source {
		return v, nil // older than what we show
	}
	if w := s.watches[name]; w != watchNone || m.Failure != nil {
		s.observe(v, p, w, m, at)
	}
	p.source, p.arrival = source, arrival
	switch {
	case m.Failure != nil:
		p.kind = kindFailure
		v.put(p, m.Failure.Reason, m.Failure.Description)
		return v, nil
	case m.List:
		p.kind = kindList
		s.scratch = appendList(s.scratch[:0], m.Items, source, s.opts.MaxListItems)
		v.putBytes(p, s.scratch)
		return v, nil
	}
	p.kind = kindValue
	v.putBytes(p, m.Data)
	if f, ok := numberOf(m.Data); ok {
		if p.hist == nil {
			p.hist = new([HistoryLen]float32)
		}
		p.hist[p.hpos] = float32(f)
		p.hpos = (p.hpos + 1) % HistoryLen
		if p.hlen < HistoryLen {
			p.hlen++
		}
		if v.x != nil && v.x.trace != nil {
			v.x.trace.add(name, at, shown(m.Property, f))
		}
	}
	return v, nil
}

func (v *vehicle) find(name uint16) *prop {
	for i := range v.props {
		if v.props[i].name == name {
			return &v.props[i]
		}
	}
	return nil
}

func (v *vehicle) add(name uint16) *prop {
	if len(v.props) == cap(v.props) {
		// Grow by a quarter, not double: most vehicles settle at a few
		// dozen properties and doubling would waste a third of that.
		grown := make([]prop, len(v.props), len(v.props)+len(v.props)/4+2)
		copy(grown, v.props)
		v.props = grown
	}
	v.props = append(v.props, prop{name: name})
	return &v.props[len(v.props)-1]
}

func (v *vehicle) putBytes(p *prop, b []byte) {
	if len(b) > maxStoredValueBytes {
		b = b[:0] // cannot happen below MaxPayload; keep the slot empty rather than cut JSON
	}
	if len(b) <= int(p.c) {
		copy(v.arena[p.off:], b)
		p.n = uint16(len(b))
		return
	}
	v.garbage += uint32(p.c)
	c := min((len(b)+7)&^7, maxStoredValueBytes)
	if cap(v.arena)-len(v.arena) < c && int(v.garbage) > len(v.arena)/2 {
		v.compact(c)
	}
	if cap(v.arena)-len(v.arena) < c {
		// Grow by a quarter (append would double): values rarely grow.
		grown := make([]byte, len(v.arena), len(v.arena)+c+len(v.arena)/4)
		copy(grown, v.arena)
		v.arena = grown
	}
	p.off = uint32(len(v.arena))
	v.arena = append(v.arena, b...)
	for range c - len(b) {
		v.arena = append(v.arena, 0)
	}
	p.n, p.c = uint16(len(b)), uint16(c)
}

func (v *vehicle) put(p *prop, reason, description string) {
	n := min(len(reason)+1+len(description), maxStoredValueBytes)
	buf := make([]byte, 0, n)
	buf = append(append(append(buf, reason...), 0), description...)
	v.putBytes(p, buf[:n])
}

// compact rewrites the arena without the slots that values outgrew, with
// room for `extra` more bytes.
func (v *vehicle) compact(extra int) {
	need := extra
	for i := range v.props {
		need += int(v.props[i].c)
	}
	arena := make([]byte, 0, need)
	for i := range v.props {
		p := &v.props[i]
		off := len(arena)
		arena = append(arena, v.arena[p.off:p.off+uint32(p.c)]...)
		p.off = uint32(off)
	}
	v.arena, v.garbage = arena, 0
}

func (v *vehicle) value(p *prop) []byte { return v.arena[p.off : p.off+uint32(p.n)] }

func (v *vehicle) currentRate(now int64) float64 {
	dt := float64(now-v.lastSeen) / float64(rateTau)
	return float64(v.rate) * math.Exp(-max(dt, 0))
}

// Vehicles returns a summary of every vehicle, sorted by id.
func (s *Store) Vehicles() []VehicleSummary {
	now := s.opts.Now().UnixNano()
	s.rlockOrdered()
	defer s.mu.RUnlock()
	out := make([]VehicleSummary, len(s.order))
	for i, v := range s.order {
		out[i] = VehicleSummary{
			ID:         v.id,
			Pseudonym:  v.pseudonym,
			LastSeen:   time.Unix(0, v.lastSeen),
			Rate:       v.currentRate(now),
			Stale:      s.vehicleStale(v, now),
			Properties: len(v.props),
		}
	}
	return out
}

// vehicleStale: nothing arrived for StaleIdle, or even the newest value it
// sent is StaleLag older than its arrival (the vehicle is catching up).
func (s *Store) vehicleStale(v *vehicle, now int64) bool {
	return now-v.lastSeen > int64(s.opts.StaleIdle) || v.newest != 0 && v.lastSeen-v.newest > int64(s.opts.StaleLag)
}

// rlockOrdered takes the read lock with s.order complete (the vehicles
// seen since the last read merged in); the caller unlocks.
func (s *Store) rlockOrdered() {
	s.mu.RLock()
	if len(s.pending) > 0 {
		s.mu.RUnlock()
		s.mu.Lock()
		s.mergePending()
		s.mu.Unlock()
		s.mu.RLock()
	}
}

// mergePending sorts the vehicles seen since the last call into the order:
// O(n + k log k) instead of sorting everything again.
func (s *Store) mergePending() {
	if len(s.pending) == 0 {
		return
	}
	byID := func(a, b *vehicle) int { return cmp.Compare(a.id, b.id) }
	slices.SortFunc(s.pending, byID)
	merged := make([]*vehicle, 0, len(s.order)+len(s.pending))
	i, j := 0, 0
	for i < len(s.order) && j < len(s.pending) {
		if s.order[i].id <= s.pending[j].id {
			merged = append(merged, s.order[i])
			i++
		} else {
			merged = append(merged, s.pending[j])
			j++
		}
	}
	merged = append(append(merged, s.order[i:]...), s.pending[j:]...)
	s.order = merged
	clear(s.pending)
	s.pending = s.pending[:0]
}

// Len returns how many vehicles the store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.vehicles)
}

// Vehicle returns the properties of one vehicle sorted by capability and
// property name, or nil when the vehicle is unknown.
func (s *Store) Vehicle(id string) []Property {
	now := s.opts.Now().UnixNano()
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.vehicles[id]
	if v == nil {
		return nil
	}
	out := make([]Property, 0, len(v.props))
	for i := range v.props {
		p := &v.props[i]
		name := s.names[p.name]
		prop := Property{
			Capability: name.capability,
			Name:       name.property,
			Arrival:    time.Unix(0, p.arrival),
			Stale:      now-p.arrival > int64(s.opts.StaleIdle) || p.source != 0 && p.arrival-p.source > int64(s.opts.StaleLag),
		}
		if p.source != 0 {
			prop.SourceTime = time.Unix(0, p.source)
		}
		raw := v.value(p)
		switch p.kind {
		case kindFailure:
			reason, desc, _ := strings.Cut(string(raw), "\x00")
			prop.Failure = &Failure{Reason: reason, Description: desc}
			prop.Value = "failed: " + reason
		case kindList:
			prop.List = true
			prop.Count, prop.Items = decodeList(raw, p.source, name.capability, name.property)
			prop.Value = itemCount(prop.Count)
		default:
			val := RenderValue(name.capability, name.property, raw)
			prop.Value, prop.Unit, prop.Numeric, prop.Number = val.Text, val.Unit, val.Numeric, val.Number
		}
		if p.hist != nil && p.hlen > 0 {
			h := make([]float64, p.hlen)
			start := (int(p.hpos) - int(p.hlen) + HistoryLen) % HistoryLen
			for k := range h {
				h[k] = float64(p.hist[(start+k)%HistoryLen])
			}
			prop.History = h
		}
		out = append(out, prop)
	}
	slices.SortFunc(out, func(a, b Property) int {
		if c := cmp.Compare(a.Capability, b.Capability); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// takeChanged appends the ids of the vehicles changed since the last call.
func (s *Store) takeChanged(dst []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.dirty {
		dst = append(dst, v.id)
		v.dirty = false
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return dst
}

// A list's arena slot: uvarint(items the vehicle sent), then for each item
// kept: a flags byte (listFailure, listStamp), zigzag varint(timestamp −
// the property's source time) when listStamp, uvarint(length) and the bytes
// (the item's raw JSON, or "reason\x00description"). Items share one
// timestamp more often than not, so it usually costs one byte.
const (
	listFailure = 1 << iota
	listStamp
)

// appendList encodes items after dst, keeping at most maxItems of them and
// never more than a slot holds.
func appendList(dst []byte, items []Item, base int64, maxItems int) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	start := len(dst)
	for i := range items {
		if i == maxItems {
			break
		}
		it := &items[i]
		mark := len(dst)
		var flags byte
		if it.Failure != nil {
			flags |= listFailure
		}
		if !it.Timestamp.IsZero() {
			flags |= listStamp
		}
		dst = append(dst, flags)
		if flags&listStamp != 0 {
			dst = binary.AppendVarint(dst, it.Timestamp.UnixNano()-base)
		}
		if it.Failure != nil {
			n := len(it.Failure.Reason) + 1 + len(it.Failure.Description)
			dst = binary.AppendUvarint(dst, uint64(n))
			dst = append(append(append(dst, it.Failure.Reason...), 0), it.Failure.Description...)
		} else {
			dst = binary.AppendUvarint(dst, uint64(len(it.Data)))
			dst = append(dst, it.Data...)
		}
		if len(dst)-start > maxStoredValueBytes-binary.MaxVarintLen64 {
			return dst[:mark] // this item would not fit the slot: keep the ones before
		}
	}
	return dst
}

// decodeList reads a slot written by appendList.
func decodeList(b []byte, base int64, capability, property string) (int, []ListItem) {
	count, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil
	}
	b = b[n:]
	var items []ListItem
	for len(b) > 0 {
		flags := b[0]
		b = b[1:]
		var it ListItem
		if flags&listStamp != 0 {
			d, n := binary.Varint(b)
			if n <= 0 {
				break
			}
			it.SourceTime = time.Unix(0, base+d)
			b = b[n:]
		}
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			break
		}
		body := b[n : n+int(l)]
		b = b[n+int(l):]
		if flags&listFailure != 0 {
			reason, desc, _ := strings.Cut(string(body), "\x00")
			it.Failure = &Failure{Reason: reason, Description: desc}
			it.Value = "failed: " + reason
		} else {
			it.Raw = string(body)
			val := RenderValue(capability, property, body)
			it.Value, it.Unit, it.Numeric, it.Number = val.Text, val.Unit, val.Numeric, val.Number
		}
		items = append(items, it)
	}
	return int(min(count, math.MaxInt32)), items
}

func itemCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}

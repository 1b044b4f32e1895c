// Package telemetrygen publishes the sandbox's simulated vehicle telemetry:
// Auto API level-13 messages in the topic and payload formats of High
// Mobility's MQTT feeds — V1 (document 001; topics without the leading
// slash, as HM's own documents publish them, or with it as the seed shows)
// or V2 (one topic per application, several capabilities per message, every
// property an array) — for every approved vehicle, at a configurable rate,
// with multi-valued properties (trouble codes that come and go, bulb
// failures, tyre pressures) and the occasional redelivery and property
// failure a real feed has. Vehicles drive the streets of a few cities (see
// vehicle.go).
package telemetrygen

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fleetdeck/fleetdeck/vin"
)

// Defaults for Options.
const (
	DefaultFailureRate    = 1.0 / 500
	DefaultRedeliveryRate = 1.0 / 500
	DefaultTickRate       = 50 // publishing rounds a second
	// V2PropsPerMessage is how many properties a V2 message carries.
	V2PropsPerMessage = 4
	// fleetRefresh is how often Options.Fleet is consulted at most.
	fleetRefresh = time.Second
	// maxBacklog bounds the catch-up after a stall, in seconds of traffic.
	maxBacklog = 0.25
)

// Errors Apply returns (wrapped, with the VIN or command).
var (
	ErrUnknownVehicle     = errors.New("vehicle not approved for telemetry")
	ErrUnsupportedCommand = errors.New("command not supported by the simulator")
)

// Vehicle is one approved vehicle as the clearance simulator reports it.
type Vehicle struct {
	VIN, Brand string
	Pseudonym  string // 40 hex, new per activation; required in pseudonymized mode
	City       string // where it drives (one of Cities); "" lets the VIN pick
}

// Options configures a Generator.
type Options struct {
	AppID         string // topic segment after level13 (V2: the application id, also in the payload)
	Pseudonymized bool   // topic and vin field carry Vehicle.Pseudonym, never the VIN
	// SeedTopics publishes V1 exactly as document 001's example: under
	// "/live/level13/..." and without a top-level timestamp. By default
	// "live/level13/..." as High Mobility's MQTT documents and examples do,
	// with the top-level timestamp their messages may carry.
	SeedTopics bool
	// V2 publishes MQTT V2 messages on "live/level13/{AppID}", each with
	// V2PropsPerMessage properties of one vehicle.
	V2 bool
	// Rate is the total number of messages a second; 0 means one per approved
	// vehicle per second.
	Rate float64
	// Fleet returns the approved vehicles; it is called at most once a
	// second from Run (and by Apply when asked about a VIN it has not seen).
	Fleet func() []Vehicle
	// Publish hands one message to the broker. The payload is not reused
	// afterwards. It must be safe for concurrent use (Apply publishes too).
	Publish func(topic string, payload []byte) error
	Logger  *slog.Logger
	// Seed makes the simulation (routes, stops, faults) and message ids
	// reproducible; 0 picks a random seed.
	Seed int64
	// FailureRate is the share of messages whose property carries a failure
	// instead of data; RedeliveryRate the share published twice with the same
	// message_id. 0 means the default (1 in 500), negative means never, 1
	// means every message.
	FailureRate, RedeliveryRate float64
	// TickRate is how many publishing rounds Run makes a second (default 50).
	TickRate int
	// Now is the model's clock (timestamps, driving); default time.Now.
	Now func() time.Time
}

// Stats counts what a Generator did.
type Stats struct {
	Published     uint64 // messages handed to Publish without error (redeliveries included)
	PublishErrors uint64
	Failures      uint64 // messages carrying a failure instead of data
	Redelivered   uint64 // second copies of a message_id
}

// Generator produces telemetry. Run drives it; Apply changes a vehicle the
// way a remote command would.
type Generator struct {
	opts           Options
	log            *slog.Logger
	failureRate    float64
	redeliveryRate float64

	// pubMu orders publishing: a round generated before a command must
	// not reach the broker after the command's own messages, or a stale
	// "unlocked" would follow the fresh "locked". Taken before mu.
	pubMu sync.Mutex

	mu      sync.Mutex
	rng     *rand.Rand          // message ids and injections
	states  map[string]*vehicle // by VIN; kept across revocations
	active  []activeVehicle     // approved, in Fleet order
	byVIN   map[string]int      // VIN → index in active
	cursor  int                 // round-robin position in active
	fleetAt time.Time           // last Fleet call; zero before the first
	census  census              // moving and stopped among active
	scratch []byte
	batch   []message
	props   []propID // a V2 message's properties
	fails   []int    // and their failures

	published, publishErrors, failures, redelivered atomic.Uint64
}

type activeVehicle struct {
	id string // topic and vin field: VIN or pseudonym
	v  *vehicle
}

type message struct {
	topic   string
	payload []byte
}

// New returns a Generator; nothing runs until Run.
func New(o Options) *Generator {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Fleet == nil {
		o.Fleet = func() []Vehicle { return nil }
	}
	if o.Publish == nil {
		o.Publish = func(string, []byte) error { return nil }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TickRate <= 0 {
		o.TickRate = DefaultTickRate
	}
	if o.Seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:])
		o.Seed = int64(binary.LittleEndian.Uint64(b[:]) | 1)
	}
	return &Generator{
		opts:           o,
		log:            o.Logger,
		failureRate:    rateOption(o.FailureRate, DefaultFailureRate),
		redeliveryRate: rateOption(o.RedeliveryRate, DefaultRedeliveryRate),
		rng:            rand.New(rand.NewPCG(uint64(o.Seed), 0x7e1e)),
		states:         make(map[string]*vehicle),
		byVIN:          make(map[string]int),
	}
}

func rateOption(x, def float64) float64 {
	switch {
	case x == 0:
		return def
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}

// Stats returns the counters so far.
func (g *Generator) Stats() Stats {
	return Stats{
		Published:     g.published.Load(),
		PublishErrors: g.publishErrors.Load(),
		Failures:      g.failures.Load(),
		Redelivered:   g.redelivered.Load(),
	}
}

// Run publishes until ctx ends, then returns nil. Publish errors are logged
// and counted, never fatal.
func (g *Generator) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second / time.Duration(g.opts.TickRate))
	defer tick.Stop()
	last := time.Now()
	var owed float64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		// Real elapsed time, not the tick count, sets the budget: a late
		// tick publishes more rather than the rate drifting down.
		now := time.Now()
		elapsed := now.Sub(last).Seconds()
		last = now

		g.refreshFleet(false)
		rate := g.rate()
		owed += rate * elapsed
		if limit := rate*maxBacklog + 1; owed > limit {
			owed = limit
		}
		n := int(owed)
		if n == 0 {
			continue
		}
		owed -= float64(n)
		g.pubMu.Lock()
		g.publish(g.generate(n, g.opts.Now()))
		g.pubMu.Unlock()
	}
}

func (g *Generator) rate() float64 {
	if g.opts.Rate > 0 {
		return g.opts.Rate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return float64(len(g.active))
}

// refreshFleet consults Options.Fleet when the cached list is older than a
// second (or force is set). Fleet is called without the lock held: it
// belongs to another simulator with locks of its own.
func (g *Generator) refreshFleet(force bool) {
	now := g.opts.Now()
	g.mu.Lock()
	due := force || g.fleetAt.IsZero() || now.Sub(g.fleetAt) >= fleetRefresh
	g.mu.Unlock()
	if !due {
		return
	}
	list := g.opts.Fleet()

	g.mu.Lock()
	defer g.mu.Unlock()
	g.fleetAt = now
	previous := g.active
	g.active = make([]activeVehicle, 0, len(list))
	clear(g.byVIN)
	var fresh *vehicle // the first new combustion vehicle
	lowTank := false
	for _, fv := range list {
		id := fv.VIN
		if g.opts.Pseudonymized {
			id = fv.Pseudonym
		}
		// A segment with MQTT wildcards or separators would break the topic.
		if id == "" || fv.VIN == "" || strings.ContainsAny(id, "/+#") {
			continue
		}
		if _, dup := g.byVIN[fv.VIN]; dup {
			continue
		}
		v := g.states[fv.VIN]
		if v == nil {
			v = newVehicle(g.opts.Seed, fv.VIN, fv.Brand, fv.City, now)
			g.states[fv.VIN] = v
			if fresh == nil && !v.electric {
				fresh = v
			}
		}
		lowTank = lowTank || !v.electric && v.fuel < 0.12
		if v.census != &g.census {
			v.join(&g.census)
		}
		g.byVIN[fv.VIN] = len(g.active)
		g.active = append(g.active, activeVehicle{id: id, v: v})
	}
	for _, av := range previous {
		if _, still := g.byVIN[av.v.vin]; !still {
			av.v.join(nil) // revoked: out of the census
		}
	}
	// Someone in the fleet runs low: the fuel-below-10% moment is always
	// there to be seen.
	if !lowTank && fresh != nil {
		fresh.fuel = 0.07 + fresh.rng.Float64()*0.05
	}
}

// generate builds n messages round-robin over the approved vehicles and
// their properties. The returned slice is reused by the next call: callers
// hold pubMu until they are done with it.
func (g *Generator) generate(n int, now time.Time) []message {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.batch = g.batch[:0]
	if len(g.active) == 0 {
		return g.batch
	}
	for len(g.batch) < n {
		if g.cursor >= len(g.active) {
			g.cursor = 0
		}
		av := g.active[g.cursor]
		g.cursor++
		av.v.advance(now)
		var m message
		if g.opts.V2 {
			g.props = g.props[:0]
			for range V2PropsPerMessage {
				g.props = append(g.props, av.v.nextProp())
			}
			m = g.message(av, g.props, now, true)
		} else {
			m = g.message(av, []propID{av.v.nextProp()}, now, true)
		}
		g.batch = append(g.batch, m)
		if g.redeliveryRate > 0 && g.rng.Float64() < g.redeliveryRate {
			// QoS 1 is at-least-once: the same message_id twice is normal.
			g.batch = append(g.batch, m)
			g.redelivered.Add(1)
		}
	}
	return g.batch
}

// message encodes properties of av: one V1 message (props holds one), or
// one V2 message with all of them. It is called with g.mu held.
func (g *Generator) message(av activeVehicle, props []propID, now time.Time, mayFail bool) message {
	var id [32]byte
	for i := 0; i < len(id); i += 8 {
		binary.BigEndian.PutUint64(id[i:], g.rng.Uint64())
	}
	g.fails = g.fails[:0]
	for range props {
		failure := -1
		if mayFail && g.failureRate > 0 && g.rng.Float64() < g.failureRate {
			failure = g.rng.IntN(len(failureReasons))
			g.failures.Add(1)
		}
		g.fails = append(g.fails, failure)
	}
	var topic strings.Builder
	if g.opts.V2 {
		g.scratch = appendV2Message(g.scratch[:0], &id, g.opts.AppID, av.id, av.v, props, g.fails, now)
		topic.WriteString("live/level13/")
		topic.WriteString(g.opts.AppID)
	} else {
		p := props[0]
		g.scratch = appendMessage(g.scratch[:0], &id, av.id, av.v, p, g.fails[0], now, !g.opts.SeedTopics)
		d := catalog[p]
		topic.Grow(len("/live/level13///") + len(g.opts.AppID) + len(av.id) + len(d.capability) + len("/get/") + len(d.property))
		if g.opts.SeedTopics {
			topic.WriteByte('/')
		}
		topic.WriteString("live/level13/")
		topic.WriteString(g.opts.AppID)
		topic.WriteByte('/')
		topic.WriteString(av.id)
		topic.WriteByte('/')
		topic.WriteString(d.capability)
		topic.WriteString("/get/")
		topic.WriteString(d.property)
	}
	payload := make([]byte, len(g.scratch))
	copy(payload, g.scratch)
	return message{topic: topic.String(), payload: payload}
}

func (g *Generator) publish(batch []message) {
	for i := range batch {
		if err := g.opts.Publish(batch[i].topic, batch[i].payload); err != nil {
			// Log the first error and then every 10 000th: a broker
			// restart would otherwise flood the log.
			if n := g.publishErrors.Add(1); n == 1 || n%10000 == 0 {
				g.log.Warn("publish telemetry", "topic", batch[i].topic, "error", err, "errors", n)
			}
			continue
		}
		g.published.Add(1)
	}
	clear(batch) // drop payload references until the next round
}

// Apply changes the vehicle with this VIN the way a remote command would
// and publishes the changed properties at once. It returns what the
// vehicle answers, with mobway's names: nothing for the doors and the
// ignition, the position for location, data points for diagnostics. It
// works by VIN in pseudonymized mode too (the messages still carry only the
// pseudonym).
func (g *Generator) Apply(vinStr, command string) (data map[string]any, err error) {
	key := vin.Normalize(vinStr)
	if !g.approved(key) {
		// Approved a moment ago? Look once more before refusing.
		g.refreshFleet(true)
		if !g.approved(key) {
			return nil, fmt.Errorf("apply %s to %s: %w", command, key, ErrUnknownVehicle)
		}
	}
	g.pubMu.Lock()
	defer g.pubMu.Unlock()
	now := g.opts.Now()

	g.mu.Lock()
	i, ok := g.byVIN[key]
	if !ok {
		g.mu.Unlock()
		return nil, fmt.Errorf("apply %s to %s: %w", command, key, ErrUnknownVehicle)
	}
	av := g.active[i]
	v := av.v
	v.advance(now)
	var changed []propID
	switch command {
	case "lock_door":
		v.locked = true
		changed = []propID{pLocks}
	case "unlock_door":
		v.locked = false
		changed = []propID{pLocks}
	case "disable_ignition":
		v.immobilise()
		changed = []propID{pIgnition, pSpeed}
	case "enable_ignition":
		v.release()
		changed = []propID{pIgnition}
	case "diagnostics", "location":
	default:
		g.mu.Unlock()
		return nil, fmt.Errorf("apply %q to %s: %w", command, key, ErrUnsupportedCommand)
	}
	data = commandData(v, command)
	var msgs []message
	switch {
	case len(changed) == 0:
	case g.opts.V2:
		msgs = append(msgs, g.message(av, changed, now, false))
	default:
		for _, p := range changed {
			msgs = append(msgs, g.message(av, []propID{p}, now, false))
		}
	}
	g.mu.Unlock()

	g.publish(msgs)
	g.log.Info("command applied", "command", command, "vehicle", av.id)
	return data, nil
}

func (g *Generator) approved(vinStr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.byVIN[vinStr]
	return ok
}

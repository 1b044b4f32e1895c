package telemetrygen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/internal/simclock"
)

const (
	seedAppID     = "1FBBEDED80595912588FF4FF"
	seedPseudonym = "26ace79449aae32d80dd5315a23e795da9323626"
)

var (
	messageIDPattern = regexp.MustCompile(`^[0-9A-F]{64}$`)
	timestampPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

type published struct {
	topic   string
	payload []byte
}

type capture struct {
	mu   sync.Mutex
	msgs []published
}

func (c *capture) Publish(topic string, payload []byte) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, published{topic, payload})
	c.mu.Unlock()
	return nil
}

// take returns and forgets what was published so far.
func (c *capture) take() []published {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.msgs
	c.msgs = nil
	return m
}

type harness struct {
	g     *Generator
	clock *simclock.Clock
	out   *capture
	fleet *fleetList
}

type fleetList struct {
	mu    sync.Mutex
	list  []Vehicle
	calls atomic.Int32
}

func (f *fleetList) get() []Vehicle {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Vehicle(nil), f.list...)
}

func (f *fleetList) set(vs []Vehicle) {
	f.mu.Lock()
	f.list = vs
	f.mu.Unlock()
}

func newHarness(o Options, fleet []Vehicle) *harness {
	h := &harness{
		clock: simclock.New(time.Date(2022, 5, 1, 10, 33, 10, 0, time.UTC)),
		out:   &capture{},
		fleet: &fleetList{list: fleet},
	}
	if o.AppID == "" {
		o.AppID = seedAppID
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	o.Fleet = h.fleet.get
	o.Publish = h.out.Publish
	o.Now = h.clock.Now
	h.g = New(o)
	return h
}

// step advances the model clock by dt and publishes n messages, as one
// round of Run would.
func (h *harness) step(n int, dt time.Duration) []published {
	h.clock.Add(dt)
	h.g.refreshFleet(false)
	h.g.publish(h.g.generate(n, h.clock.Now()))
	return h.out.take()
}

var testFleet = []Vehicle{
	{VIN: "WBA12345678901234", Brand: "bmw", Pseudonym: seedPseudonym},
	{VIN: "5YJ3E1EA7KF000001", Brand: "tesla", Pseudonym: "0123456789abcdef0123456789abcdef01234567"},
	{VIN: "VF1AAAAA555555555", Brand: "renault", Pseudonym: "fedcba9876543210fedcba9876543210fedcba98"},
}

type envelope struct {
	MessageID  string                                `json:"message_id"`
	Version    int                                   `json:"version"`
	VIN        string                                `json:"vin"`
	Timestamp  string                                `json:"timestamp"` // top level: HM's V1 may carry one
	Capability string                                `json:"capability"`
	Property   string                                `json:"property"`
	Data       map[string]map[string]json.RawMessage `json:"data"`
}

type propertyObject struct {
	Data      json.RawMessage `json:"data"`
	Failure   *failureObject  `json:"failure"`
	Timestamp string          `json:"timestamp"`
}

type failureObject struct {
	Reason      string `json:"reason"`
	Description string `json:"description"`
}

type decoded struct {
	envelope
	Topic []string // topic segments
	Prop  propertyObject
	Raw   map[string]json.RawMessage // the property object's keys (a single-valued property)
	Items []propertyObject           // a multi-valued property's items
	List  bool
}

func decode(t *testing.T, m published) decoded {
	t.Helper()
	var d decoded
	dec := json.NewDecoder(bytes.NewReader(m.payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d.envelope); err != nil {
		t.Fatalf("payload %s: %v", m.payload, err)
	}
	d.Topic = strings.Split(m.topic, "/")
	raw, ok := d.Data[d.Capability][d.Property]
	if !ok || len(d.Data) != 1 || len(d.Data[d.Capability]) != 1 {
		t.Fatalf("data does not nest exactly {%s:{%s:…}}: %s", d.Capability, d.Property, m.payload)
	}
	if raw[0] == '[' {
		d.List = true
		if err := json.Unmarshal(raw, &d.Items); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := json.Unmarshal(raw, &d.Raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &d.Prop); err != nil {
		t.Fatal(err)
	}
	return d
}

// shape renders a JSON document's structure: object keys in order, value
// kinds instead of values.
func shape(t *testing.T, doc []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var sb strings.Builder
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '[' {
				sb.WriteString("[")
				for dec.More() {
					if err := walk(); err != nil {
						return err
					}
					sb.WriteString(",")
				}
				sb.WriteString("]")
				_, err := dec.Token()
				return err
			}
			sb.WriteString("{")
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				fmt.Fprintf(&sb, "%s:", k)
				if err := walk(); err != nil {
					return err
				}
				sb.WriteString(",")
			}
			sb.WriteString("}")
			_, err := dec.Token()
			return err
		case string:
			sb.WriteString("string")
		case json.Number:
			sb.WriteString("number")
		case bool:
			sb.WriteString("bool")
		case nil:
			sb.WriteString("null")
		}
		return nil
	}
	if err := walk(); err != nil {
		t.Fatalf("shape of %s: %v", doc, err)
	}
	return sb.String()
}

func findProp(t *testing.T, h *harness, cap, prop string, limit int) (published, decoded) {
	t.Helper()
	for range limit {
		for _, m := range h.step(1, 10*time.Millisecond) {
			d := decode(t, m)
			if d.Capability == cap && d.Property == prop {
				return m, d
			}
		}
	}
	t.Fatalf("no %s.%s message in %d messages", cap, prop, limit)
	return published{}, decoded{}
}

func TestOdometerMessageMatchesSeed(t *testing.T) {
	seedTopic, err := os.ReadFile("testdata/seed_odometer_topic.txt")
	if err != nil {
		t.Fatal(err)
	}
	seedPayload, err := os.ReadFile("testdata/seed_odometer.json")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(Options{Pseudonymized: true, SeedTopics: true, FailureRate: -1, RedeliveryRate: -1}, testFleet[:1])
	m, d := findProp(t, h, "diagnostics", "odometer", 50)

	if want := strings.TrimSpace(string(seedTopic)); m.topic != want {
		t.Errorf("topic\n got %s\nwant %s", m.topic, want)
	}
	if got, want := shape(t, m.payload), shape(t, seedPayload); got != want {
		t.Errorf("payload structure differs from the seed\n got %s\nwant %s\npayload %s", got, want, m.payload)
	}
	if !messageIDPattern.MatchString(d.MessageID) {
		t.Errorf("message_id %q is not 64 upper-case hex like the seed's", d.MessageID)
	}
	if d.Version != 1 || d.VIN != seedPseudonym {
		t.Errorf("version %d vin %q", d.Version, d.VIN)
	}
	if d.Prop.Timestamp != h.clock.Now().Format(timestampLayout) || !timestampPattern.MatchString(d.Prop.Timestamp) {
		t.Errorf("timestamp %q, want the model clock in the seed's format", d.Prop.Timestamp)
	}
	var odo Measurement
	if err := json.Unmarshal(d.Prop.Data, &odo); err != nil || odo.Unit != "kilometers" || odo.Value < 1000 {
		t.Errorf("odometer data %s: %v", d.Prop.Data, err)
	}
}

// Every property: topic segments agree with the payload (no leading slash,
// as HM's documents publish), units are Auto API's, values are in range,
// lists are arrays of {data, timestamp} items.
func TestEveryPropertyIsWellFormed(t *testing.T) {
	h := newHarness(Options{FailureRate: -1, RedeliveryRate: -1}, testFleet)
	units := map[string]string{
		"diagnostics.odometer":                   "kilometers",
		"diagnostics.speed":                      "kilometers_per_hour",
		"diagnostics.battery_voltage":            "volts",
		"diagnostics.estimated_range":            "kilometers",
		"diagnostics.engine_coolant_temperature": "celsius",
		"diagnostics.engine_rpm":                 "revolutions_per_minute",
		"vehicle_location.heading":               "degrees",
		"charging.charging_rate":                 "kilowatts",
	}
	enums := map[string][]string{
		"ignition.state":    {"lock", "off", "accessory", "on", "start"},
		"doors.locks_state": {"locked", "unlocked"},
		"charging.status":   {"not_charging", "charging", "charging_complete"},
	}
	seen := map[string]bool{}
	for _, m := range h.step(400, time.Second) {
		d := decode(t, m)
		name := d.Capability + "." + d.Property
		seen[name] = true
		want := []string{"live", "level13", seedAppID, d.VIN, d.Capability, "get", d.Property}
		if strings.Join(d.Topic, "/") != strings.Join(want, "/") {
			t.Fatalf("topic %s does not match payload %s", m.topic, m.payload)
		}
		if !messageIDPattern.MatchString(d.MessageID) {
			t.Fatalf("bad id: %s", m.payload)
		}
		if d.Timestamp != h.clock.Now().UTC().Format(timestampLayout) {
			t.Fatalf("top-level timestamp %q: %s", d.Timestamp, m.payload)
		}
		if d.List {
			checkList(t, name, d.Items, m.payload)
			continue
		}
		if !timestampPattern.MatchString(d.Prop.Timestamp) {
			t.Fatalf("bad timestamp: %s", m.payload)
		}
		if len(d.Raw) != 2 || d.Prop.Data == nil {
			t.Fatalf("%s: property object must hold exactly data and timestamp: %s", name, m.payload)
		}
		switch {
		case units[name] != "":
			var ms Measurement
			if err := json.Unmarshal(d.Prop.Data, &ms); err != nil || ms.Unit != units[name] {
				t.Fatalf("%s: %s, want unit %s", name, d.Prop.Data, units[name])
			}
			if ms.Value < 0 && name != "diagnostics.engine_coolant_temperature" {
				t.Fatalf("%s negative: %s", name, d.Prop.Data)
			}
			if name == "vehicle_location.heading" && ms.Value >= 360 {
				t.Fatalf("heading %v", ms.Value)
			}
		case enums[name] != nil:
			var s string
			if err := json.Unmarshal(d.Prop.Data, &s); err != nil || !contains(enums[name], s) {
				t.Fatalf("%s: %s not in %v", name, d.Prop.Data, enums[name])
			}
		case name == "diagnostics.fuel_level" || name == "charging.battery_level":
			var f float64
			if err := json.Unmarshal(d.Prop.Data, &f); err != nil || f < 0 || f > 1 {
				t.Fatalf("%s: %s, want a 0..1 fraction", name, d.Prop.Data)
			}
		case name == "vehicle_location.coordinates":
			var c Coordinates
			if err := json.Unmarshal(d.Prop.Data, &c); err != nil || nearestCity(c.Latitude, c.Longitude) > 12 {
				t.Fatalf("coordinates %s are not in one of the cities", d.Prop.Data)
			}
		default:
			t.Fatalf("unexpected property %s", name)
		}
	}
	// The tesla is electric, the bmw or renault may be either; together the
	// common properties and at least one kind's extras must appear.
	for _, name := range []string{"diagnostics.odometer", "diagnostics.speed", "vehicle_location.coordinates",
		"vehicle_location.heading", "ignition.state", "doors.locks_state", "diagnostics.battery_voltage",
		"diagnostics.estimated_range", "charging.battery_level", "charging.status", "charging.charging_rate",
		"diagnostics.trouble_codes", "diagnostics.tire_pressures", "dashboard_lights.bulb_failures"} {
		if !seen[name] {
			t.Errorf("%s never published", name)
		}
	}
}

// checkList checks a multi-valued property's items.
func checkList(t *testing.T, name string, items []propertyObject, payload []byte) {
	t.Helper()
	for _, it := range items {
		if it.Data == nil || it.Failure != nil || !timestampPattern.MatchString(it.Timestamp) {
			t.Fatalf("%s: item without data or timestamp: %s", name, payload)
		}
		switch name {
		case "diagnostics.trouble_codes":
			var c struct {
				Occurrences    int
				ID, EcuID      string
				Status, System string
			}
			dec := json.NewDecoder(bytes.NewReader(it.Data))
			if err := dec.Decode(&c); err != nil || c.Occurrences < 1 || c.ID == "" || !contains([]string{"PENDING", "CONFIRMED"}, c.Status) {
				t.Fatalf("trouble code %s", it.Data)
			}
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(it.Data, &keys)
			for _, k := range []string{"occurrences", "id", "ecu_id", "status", "system"} {
				if _, ok := keys[k]; !ok || len(keys) != 5 {
					t.Fatalf("trouble code %s: want occurrences, id, ecu_id, status, system", it.Data)
				}
			}
		case "dashboard_lights.bulb_failures":
			var s string
			if err := json.Unmarshal(it.Data, &s); err != nil || !contains(bulbNames[:], s) {
				t.Fatalf("bulb failure %s", it.Data)
			}
		case "diagnostics.tire_pressures":
			var tp struct {
				Location string
				Pressure Measurement
			}
			if err := json.Unmarshal(it.Data, &tp); err != nil || !contains(tireLocations[:], tp.Location) ||
				tp.Pressure.Unit != "bars" || tp.Pressure.Value < 1.5 || tp.Pressure.Value > 3 {
				t.Fatalf("tire pressure %s", it.Data)
			}
		default:
			t.Fatalf("unexpected list %s", name)
		}
	}
	if name == "diagnostics.tire_pressures" && len(items) != 4 {
		t.Fatalf("%d tyres", len(items))
	}
}

// nearestCity is the distance in km to the closest city centre.
func nearestCity(lat, lon float64) float64 {
	best := math.Inf(1)
	for _, c := range cities {
		best = math.Min(best, distKm(lat, lon, c.lat, c.lon))
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Over ten minutes of model time: odometers never go back, positions move
// no faster than the top speed allows, and something actually moves.
func TestValuesAreContinuous(t *testing.T) {
	h := newHarness(Options{FailureRate: -1, RedeliveryRate: -1}, testFleet)
	type last struct {
		odo     float64
		lat     float64
		lon     float64
		at      time.Time
		haveOdo bool
		havePos bool
	}
	state := map[string]*last{}
	var moved float64
	for i := range 600 {
		// 42 messages a second: every property of every vehicle once.
		for _, m := range h.step(42, time.Second) {
			d := decode(t, m)
			if d.List {
				continue
			}
			l := state[d.VIN]
			if l == nil {
				l = &last{}
				state[d.VIN] = l
			}
			ts, err := time.Parse(timestampLayout, d.Prop.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			switch d.Capability + "." + d.Property {
			case "diagnostics.odometer":
				var ms Measurement
				_ = json.Unmarshal(d.Prop.Data, &ms)
				if l.haveOdo && ms.Value < l.odo {
					t.Fatalf("second %d: %s odometer went back %v → %v", i, d.VIN, l.odo, ms.Value)
				}
				if l.haveOdo {
					moved += ms.Value - l.odo
				}
				l.odo, l.haveOdo = ms.Value, true
			case "vehicle_location.coordinates":
				var c Coordinates
				_ = json.Unmarshal(d.Prop.Data, &c)
				if l.havePos {
					km := distKm(l.lat, l.lon, c.Latitude, c.Longitude)
					limit := 135.0/3600*ts.Sub(l.at).Seconds() + 0.001
					if km > limit {
						t.Fatalf("second %d: %s jumped %.3f km in %v (limit %.3f)", i, d.VIN, km, ts.Sub(l.at), limit)
					}
				}
				l.lat, l.lon, l.at, l.havePos = c.Latitude, c.Longitude, ts, true
			case "diagnostics.speed":
				var ms Measurement
				_ = json.Unmarshal(d.Prop.Data, &ms)
				if ms.Value < 0 || ms.Value > 130 {
					t.Fatalf("speed %v", ms.Value)
				}
			}
		}
	}
	if moved < 1 {
		t.Fatalf("three vehicles drove %.1f km in ten minutes: the model does not move", moved)
	}
}

func TestPseudonymizedNeverExposesTheVIN(t *testing.T) {
	fleet := append(append([]Vehicle(nil), testFleet...), Vehicle{VIN: "WDD00000000000001", Brand: "mercedes-benz"}) // no pseudonym: must be skipped
	h := newHarness(Options{Pseudonymized: true, FailureRate: 0.05, RedeliveryRate: 0.05}, fleet)
	var all []published
	for range 200 {
		all = append(all, h.step(40, 500*time.Millisecond)...)
	}
	for _, v := range fleet {
		for _, cmd := range []string{"lock_door", "disable_ignition", "enable_ignition"} {
			if _, err := h.g.Apply(v.VIN, cmd); err != nil && v.Pseudonym != "" {
				t.Fatalf("Apply %s %s: %v", v.VIN, cmd, err)
			}
		}
	}
	all = append(all, h.out.take()...)
	if len(all) < 8000 {
		t.Fatalf("only %d messages", len(all))
	}
	pseudonyms := map[string]bool{}
	for _, m := range all {
		for _, v := range fleet {
			for _, form := range []string{v.VIN, strings.ToLower(v.VIN)} {
				if strings.Contains(m.topic, form) || bytes.Contains(m.payload, []byte(form)) {
					t.Fatalf("VIN %s leaked: %s %s", v.VIN, m.topic, m.payload)
				}
			}
		}
		pseudonyms[decode(t, m).VIN] = true
	}
	if len(pseudonyms) != 3 {
		t.Errorf("messages carried %d distinct ids, want the 3 pseudonyms: %v", len(pseudonyms), pseudonyms)
	}
}

func TestPlainModeUsesTheVIN(t *testing.T) {
	h := newHarness(Options{}, testFleet[:1])
	for _, m := range h.step(5, time.Second) {
		if d := decode(t, m); d.VIN != testFleet[0].VIN || d.Topic[3] != testFleet[0].VIN {
			t.Fatalf("vin %q topic %s, want the VIN", d.VIN, m.topic)
		}
	}
}

// latest returns the last published value of cap.prop after n more
// messages.
func latest(t *testing.T, h *harness, msgs []published, cap, prop string) (json.RawMessage, bool) {
	t.Helper()
	var v json.RawMessage
	found := false
	for _, m := range msgs {
		if d := decode(t, m); d.Capability == cap && d.Property == prop && d.Prop.Failure == nil {
			v, found = d.Prop.Data, true
		}
	}
	return v, found
}

func TestApplyChangesTheFeed(t *testing.T) {
	h := newHarness(Options{FailureRate: -1, RedeliveryRate: -1}, testFleet[:1])
	v := testFleet[0]
	h.step(30, time.Second)

	if data, err := h.g.Apply(v.VIN, "lock_door"); err != nil || len(data) != 0 {
		t.Fatalf("lock_door: %v %v (the doors return nothing but mobway's date_time)", data, err)
	}
	// Published at once, before the next round.
	if got, ok := latest(t, h, h.out.take(), "doors", "locks_state"); !ok || string(got) != `"locked"` {
		t.Fatalf("after lock_door: %s (published %v)", got, ok)
	}
	if _, err := h.g.Apply(strings.ToLower(v.VIN), "unlock_door"); err != nil {
		t.Fatal(err)
	}
	if got, _ := latest(t, h, h.step(14, 100*time.Millisecond), "doors", "locks_state"); string(got) != `"unlocked"` {
		t.Fatalf("after unlock_door the feed says %s", got)
	}

	if _, err := h.g.Apply(v.VIN, "disable_ignition"); err != nil {
		t.Fatal(err)
	}
	immediate := h.out.take()
	if got, _ := latest(t, h, immediate, "ignition", "state"); string(got) != `"off"` {
		t.Fatalf("ignition after disable_ignition: %s", got)
	}
	// Immobilised: the ignition stays off and the speed 0 for as long as it
	// takes, while the model would otherwise have driven off long ago.
	for range 60 {
		msgs := h.step(14, 30*time.Second)
		if got, ok := latest(t, h, msgs, "ignition", "state"); ok && string(got) != `"off"` {
			t.Fatalf("ignition %s while immobilised", got)
		}
		if got, ok := latest(t, h, msgs, "diagnostics", "speed"); ok && !strings.Contains(string(got), `"value":0}`) {
			t.Fatalf("speed %s while immobilised", got)
		}
	}

	if _, err := h.g.Apply(v.VIN, "enable_ignition"); err != nil {
		t.Fatal(err)
	}
	if got, _ := latest(t, h, h.out.take(), "ignition", "state"); string(got) != `"on"` {
		t.Fatalf("ignition after enable_ignition: %s", got)
	}

	// diagnostics and location report what the feed reports, with mobway's
	// names and units.
	msgs := h.step(14, 0)
	odo, _ := latest(t, h, msgs, "diagnostics", "odometer")
	pos, _ := latest(t, h, msgs, "vehicle_location", "coordinates")
	diag, err := h.g.Apply(v.VIN, "diagnostics")
	if err != nil {
		t.Fatal(err)
	}
	var feedOdo Measurement
	_ = json.Unmarshal(odo, &feedOdo)
	if got, _ := diag["odometer"].(float64); math.Abs(got-feedOdo.Value) > 0.1 {
		t.Errorf("diagnostics odometer %v, feed %s", diag["odometer"], odo)
	}
	for _, k := range []string{"left_front_tire_pressure", "system_power_mode", "lv_battery_voltage"} {
		if _, ok := diag[k]; !ok {
			t.Errorf("diagnostics %v lacks %s", diag, k)
		}
	}
	if _, ok := diag["fuel_level"]; !ok {
		if _, ok := diag["hv_battery_soc"]; !ok {
			t.Errorf("diagnostics %v has neither fuel_level nor hv_battery_soc", diag)
		}
	}
	loc, err := h.g.Apply(v.VIN, "location")
	if err != nil {
		t.Fatal(err)
	}
	var feedPos Coordinates
	_ = json.Unmarshal(pos, &feedPos)
	if len(loc) != 2 || math.Abs(loc["latitude"].(float64)-feedPos.Latitude) > 1e-6 || math.Abs(loc["longitude"].(float64)-feedPos.Longitude) > 1e-6 {
		t.Errorf("location %v, feed %s", loc, pos)
	}
}

func TestApplyErrors(t *testing.T) {
	h := newHarness(Options{}, testFleet[:1])
	if _, err := h.g.Apply("WBA00000000000000", "lock_door"); !errors.Is(err, ErrUnknownVehicle) {
		t.Errorf("unknown VIN: %v", err)
	}
	if _, err := h.g.Apply(testFleet[0].VIN, "launch_rocket"); !errors.Is(err, ErrUnsupportedCommand) {
		t.Errorf("unknown command: %v", err)
	}
	// A vehicle approved a moment ago is found without waiting for the
	// cache to expire.
	h.step(1, 0)
	h.fleet.set(testFleet[:2])
	if _, err := h.g.Apply(testFleet[1].VIN, "lock_door"); err != nil {
		t.Errorf("freshly approved vehicle: %v", err)
	}
	// A revoked one is refused once the list is refreshed.
	h.fleet.set(testFleet[1:2])
	h.step(1, 2*time.Second)
	if _, err := h.g.Apply(testFleet[0].VIN, "lock_door"); !errors.Is(err, ErrUnknownVehicle) {
		t.Errorf("revoked vehicle: %v", err)
	}
}

func TestFleetChangesFollowTheList(t *testing.T) {
	h := newHarness(Options{Pseudonymized: true, FailureRate: -1, RedeliveryRate: -1}, testFleet[:2])
	ids := func(msgs []published) map[string]bool {
		s := map[string]bool{}
		for _, m := range msgs {
			s[decode(t, m).VIN] = true
		}
		return s
	}
	if got := ids(h.step(20, time.Second)); len(got) != 2 {
		t.Fatalf("ids %v", got)
	}
	// Revoke the first, re-activate the second under a new pseudonym.
	renewed := testFleet[1]
	renewed.Pseudonym = "1111111111111111111111111111111111111111"
	h.fleet.set([]Vehicle{renewed})
	got := ids(h.step(20, 1500*time.Millisecond))
	if len(got) != 1 || !got[renewed.Pseudonym] {
		t.Fatalf("after the change ids %v, want only %s", got, renewed.Pseudonym)
	}
}

func TestFleetIsCachedForASecond(t *testing.T) {
	h := newHarness(Options{}, testFleet)
	for range 50 {
		h.step(10, 10*time.Millisecond) // half a second of model time
	}
	if n := h.fleet.calls.Load(); n != 1 {
		t.Fatalf("Fleet called %d times in 0.5 s, want 1", n)
	}
	h.step(10, 600*time.Millisecond)
	if n := h.fleet.calls.Load(); n != 2 {
		t.Fatalf("Fleet called %d times after 1.1 s, want 2", n)
	}
}

func TestFailureInjection(t *testing.T) {
	h := newHarness(Options{FailureRate: 1, RedeliveryRate: -1}, testFleet)
	reasons := map[string]bool{}
	for _, m := range h.step(500, time.Second) {
		d := decode(t, m)
		if d.List {
			// A list that could not be read: one item carrying the failure.
			if len(d.Items) != 1 {
				t.Fatalf("want one failed item: %s", m.payload)
			}
			d.Prop = d.Items[0]
			d.Raw = map[string]json.RawMessage{"failure": nil, "timestamp": nil}
		}
		if d.Prop.Failure == nil || d.Prop.Data != nil || len(d.Raw) != 2 {
			t.Fatalf("want failure instead of data: %s", m.payload)
		}
		if d.Prop.Failure.Description == "" || !timestampPattern.MatchString(d.Prop.Timestamp) {
			t.Fatalf("failure without description or timestamp: %s", m.payload)
		}
		reasons[d.Prop.Failure.Reason] = true
	}
	// Exactly the schema's enum, every one of it.
	schema := []string{"rate_limit", "execution_timeout", "format_error", "unauthorised", "unknown", "pending", "oem_error", "privacy_mode_active"}
	for _, r := range schema {
		if !reasons[r] {
			t.Errorf("reason %s never injected", r)
		}
	}
	for r := range reasons {
		if !contains(schema, r) {
			t.Errorf("reason %s is not in the schema's enum", r)
		}
	}
	if s := h.g.Stats(); s.Failures != 500 {
		t.Errorf("Stats().Failures = %d, want 500", s.Failures)
	}
}

func TestRedeliveryInjection(t *testing.T) {
	h := newHarness(Options{FailureRate: -1, RedeliveryRate: 1}, testFleet)
	msgs := h.step(100, time.Second)
	if len(msgs) != 100 {
		t.Fatalf("%d messages, want 100", len(msgs))
	}
	for i := 0; i < len(msgs); i += 2 {
		if !bytes.Equal(msgs[i].payload, msgs[i+1].payload) || msgs[i].topic != msgs[i+1].topic {
			t.Fatalf("message %d not redelivered verbatim", i)
		}
		if i > 0 && decode(t, msgs[i]).MessageID == decode(t, msgs[i-1]).MessageID {
			t.Fatalf("distinct messages share a message_id")
		}
	}
}

func TestDefaultInjectionRates(t *testing.T) {
	h := newHarness(Options{}, testFleet)
	ids := map[string]int{}
	failures := 0
	for range 50 {
		for _, m := range h.step(1000, 100*time.Millisecond) {
			// Decoding 50 000 messages is slow under -race; the layout is
			// fixed (see TestOdometerMessageMatchesSeed).
			ids[string(m.payload[len(`{"message_id":"`):][:64])]++
			if bytes.Contains(m.payload, []byte(`"failure":{"reason":`)) {
				failures++
			}
		}
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	// 1 in 500 of 50 000: about 100 each.
	if failures < 50 || failures > 200 || dups < 50 || dups > 200 {
		t.Errorf("failures %d, redeliveries %d in 50 000 messages; want about 100 each", failures, dups)
	}

	none := newHarness(Options{FailureRate: -1, RedeliveryRate: -1}, testFleet)
	for _, m := range none.step(5000, time.Second) {
		if d := decode(t, m); d.Prop.Failure != nil {
			t.Fatal("failure injected with FailureRate < 0")
		}
	}
	if s := none.g.Stats(); s.Redelivered != 0 || s.Published != 5000 {
		t.Errorf("stats %+v", s)
	}
}

func TestSameSeedSameFeed(t *testing.T) {
	a := newHarness(Options{Seed: 7}, testFleet)
	b := newHarness(Options{Seed: 7}, testFleet)
	c := newHarness(Options{Seed: 8}, testFleet)
	ma, mb, mc := a.step(200, time.Second), b.step(200, time.Second), c.step(200, time.Second)
	for i := range ma {
		if ma[i].topic != mb[i].topic || !bytes.Equal(ma[i].payload, mb[i].payload) {
			t.Fatalf("message %d differs with the same seed", i)
		}
	}
	if bytes.Equal(ma[0].payload, mc[0].payload) {
		t.Error("different seeds gave the same message")
	}
}

func TestRunRate(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test")
	}
	vehicles := make([]Vehicle, 300)
	for i := range vehicles {
		vehicles[i] = Vehicle{VIN: fmt.Sprintf("WBA%014d", i), Brand: "bmw"}
	}
	for _, tc := range []struct {
		name string
		rate float64
		want float64
	}{
		{"explicit 2000/s", 2000, 2000},
		{"default one per vehicle", 0, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var count atomic.Int64
			var fleetCalls atomic.Int32
			g := New(Options{
				AppID: "APP", Rate: tc.rate, Seed: 1,
				Fleet:   func() []Vehicle { fleetCalls.Add(1); return vehicles },
				Publish: func(string, []byte) error { count.Add(1); return nil },
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- g.Run(ctx) }()
			time.Sleep(time.Second)
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Run did not return after cancel")
			}
			got := float64(count.Load())
			if math.Abs(got-tc.want) > 0.15*tc.want {
				t.Errorf("published %.0f in 1s, want %.0f ±15%%", got, tc.want)
			}
			if n := fleetCalls.Load(); n > 2 {
				t.Errorf("Fleet called %d times in 1s", n)
			}
		})
	}
}

func TestPublishErrorsAreCountedNotFatal(t *testing.T) {
	var attempts atomic.Int64
	g := New(Options{
		AppID: "APP", Rate: 500, Seed: 1,
		Fleet:   func() []Vehicle { return testFleet },
		Publish: func(string, []byte) error { attempts.Add(1); return errors.New("broker restarting") },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	s := g.Stats()
	if s.PublishErrors == 0 || s.PublishErrors != uint64(attempts.Load()) || s.Published != 0 {
		t.Fatalf("stats %+v after %d failing publishes", s, attempts.Load())
	}
}

func TestEmptyFleetPublishesNothing(t *testing.T) {
	h := newHarness(Options{}, nil)
	if msgs := h.step(100, time.Second); len(msgs) != 0 {
		t.Fatalf("%d messages without vehicles", len(msgs))
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		prec int
		want string
	}{
		{100, 1, "100"}, {12.25, 1, "12.2"}, {0.634, 2, "0.63"}, {-0.001, 1, "0"}, {math.NaN(), 2, "0"}, {1450, 0, "1450"}, {52.5, 6, "52.5"},
	} {
		if got := string(appendFloat(nil, tc.x, tc.prec)); got != tc.want {
			t.Errorf("appendFloat(%v, %d) = %s, want %s", tc.x, tc.prec, got, tc.want)
		}
	}
	if got := string(appendString(nil, "a\"b\\c\n")); got != `"a\"b\\c\u000A"` {
		t.Errorf("appendString: %s", got)
	}
	var s string
	if err := json.Unmarshal(appendString(nil, "a\"b\\c\n\x01"), &s); err != nil || s != "a\"b\\c\n\x01" {
		t.Errorf("appendString round trip: %q %v", s, err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	vehicles := make([]Vehicle, 1000)
	for i := range vehicles {
		vehicles[i] = Vehicle{VIN: fmt.Sprintf("WBA%014d", i), Brand: "bmw", Pseudonym: fmt.Sprintf("%040x", i)}
	}
	g := New(Options{AppID: seedAppID, Pseudonymized: true, Seed: 1, RedeliveryRate: -1, Fleet: func() []Vehicle { return vehicles }})
	g.refreshFleet(true)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	const perTick = 1000
	for i := 0; i < b.N; i += perTick {
		now = now.Add(20 * time.Millisecond)
		g.publish(g.generate(min(perTick, b.N-i), now))
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/msg")
}

// BenchmarkRun50k runs the real ticker loop at 50 000 msg/s for a second
// per iteration and reports what it achieved.
func BenchmarkRun50k(b *testing.B) {
	vehicles := make([]Vehicle, 1000)
	for i := range vehicles {
		vehicles[i] = Vehicle{VIN: fmt.Sprintf("WBA%014d", i), Brand: "bmw"}
	}
	var total atomic.Int64
	for range b.N {
		g := New(Options{AppID: "APP", Rate: 50000, Seed: 1,
			Fleet:   func() []Vehicle { return vehicles },
			Publish: func(string, []byte) error { total.Add(1); return nil },
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = g.Run(ctx)
		cancel()
	}
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "msg/s")
}

// A round generated just before a command must not reach the broker after
// the command's messages: the feed would show the old lock state again.
func TestCommandIsNotOvertakenByAnOlderRound(t *testing.T) {
	var (
		mu       sync.Mutex
		states   []string // locks_state values in publish order
		holdNext atomic.Bool
		held     = make(chan struct{})
		release  = make(chan struct{})
	)
	publish := func(topic string, payload []byte) error {
		if holdNext.CompareAndSwap(true, false) {
			// Stall this round mid-publish, after it was generated.
			close(held)
			<-release
		}
		if strings.HasSuffix(topic, "/doors/get/locks_state") {
			var m struct {
				Data map[string]map[string]struct{ Data string }
			}
			_ = json.Unmarshal(payload, &m)
			mu.Lock()
			states = append(states, m.Data["doors"]["locks_state"].Data)
			mu.Unlock()
		}
		return nil
	}
	clock := simclock.New(time.Date(2022, 5, 1, 10, 0, 0, 0, time.UTC)) // still: no phase change touches the locks
	g := New(Options{AppID: "APP", Rate: 2000, Seed: 5, FailureRate: -1, RedeliveryRate: -1, Now: clock.Now,
		Fleet: func() []Vehicle { return testFleet[:1] }, Publish: publish})
	if _, err := g.Apply(testFleet[0].VIN, "unlock_door"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()

	holdNext.Store(true)
	waitClosed(t, held)
	applied := make(chan error)
	go func() {
		_, err := g.Apply(testFleet[0].VIN, "lock_door")
		applied <- err
	}()
	time.Sleep(50 * time.Millisecond) // give an unordered Apply time to overtake
	close(release)
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a few more rounds

	mu.Lock()
	defer mu.Unlock()
	locked := false
	for _, s := range states {
		if s == "locked" {
			locked = true
		} else if locked {
			t.Fatalf("\"unlocked\" published after the lock_door result: %v", states)
		}
	}
	if !locked {
		t.Fatalf("lock_door never showed: %v", states)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(3 * time.Second):
		t.Fatal("timed out")
	}
}

package telemetrygen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
)

// defaultFleet is the sandbox's default fleet as the generator gets it once
// the pending renault is approved: the approved vehicles, their brands and
// the depots some are tagged with.
var defaultFleet = func() []Vehicle {
	var out []Vehicle
	for _, v := range fleetsim.DefaultFleet(time.Now()) {
		if v.Status == fleetsim.StatusApproved || v.Status == fleetsim.StatusPending && v.Settle >= 0 {
			out = append(out, Vehicle{VIN: v.VIN, Brand: v.Brand, City: v.Tags["depot"]})
		}
	}
	return out
}()

// drive runs the model for d in steps of every (one message per vehicle a
// step), and calls check after each step.
func drive(h *harness, d, every time.Duration, check func(step int, vs []*vehicle)) {
	n := len(h.fleet.list)
	for i := 0; i < int(d/every); i++ {
		h.step(n, every)
		vs := make([]*vehicle, 0, n)
		for _, av := range h.g.active {
			vs = append(vs, av.v)
		}
		check(i, vs)
	}
}

// The default fleet drives, stops and parks the way issues 12 and 14 rely
// on, and its numbers agree with each other.
func TestDrivingModel(t *testing.T) {
	if len(defaultFleet) != 8 {
		t.Fatalf("the default fleet has %d vehicles that stream", len(defaultFleet))
	}
	for _, seed := range []int64{1, 6, 22, 58} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			h := newHarness(Options{Seed: seed, FailureRate: -1, RedeliveryRate: -1}, defaultFleet)
			type prev struct {
				pos      point
				odometer float64
				fuel     float64
				phase    phase
			}
			last := map[string]prev{}
			var stops, parks, lowFuelSeen, refuels int
			var burned, km float64
			drive(h, 2*time.Hour, time.Second, func(sec int, vs []*vehicle) {
				moving, still := 0, 0
				c := census{}
				for _, v := range vs {
					if v.speed > 0 {
						moving++
					} else {
						still++
					}
					if v.moving() {
						c.driving++
					} else {
						c.stopped++
					}
					if v.census != &h.g.census {
						t.Fatalf("%s is not in the generator's census", v.vin)
					}
					// Moving means driving with the ignition on.
					if v.speed > 0 && (v.phase != driving || v.ignition != "on") {
						t.Fatalf("second %d: %s at %.1f km/h in phase %d with ignition %s", sec, v.vin, v.speed, v.phase, v.ignition)
					}
					if v.phase == parked && v.parkedFor > 15 && v.ignition != "off" && v.ignition != "lock" {
						t.Fatalf("second %d: %s parked %.0f s with ignition %s", sec, v.vin, v.parkedFor, v.ignition)
					}
					if v.phase == stopped && (v.speed != 0 || v.ignition != "on") {
						t.Fatalf("second %d: %s stopped at %.1f km/h, ignition %s", sec, v.vin, v.speed, v.ignition)
					}
					// Destinations lie within the radius; a route's corners
					// may cut outside it, never beyond the square around it.
					if r := math.Hypot(v.pos.x, v.pos.y); r > v.city.radiusKm*math.Sqrt2+0.3 {
						t.Fatalf("%s is %.1f km from the centre of %s", v.vin, r, v.city.name)
					}
					// Heading follows the streets while driving.
					if v.phase == driving {
						rel := math.Mod(v.heading-v.city.gridDeg+720, 90)
						if math.Min(rel, 90-rel) > 0.5 {
							t.Fatalf("%s heading %.1f is off the %s grid (%.0f°)", v.vin, v.heading, v.city.name, v.city.gridDeg)
						}
					}
					p, ok := last[v.vin]
					if ok {
						moved := math.Hypot(v.pos.x-p.pos.x, v.pos.y-p.pos.y)
						odo := v.odometer - p.odometer
						// The odometer counts what the position covered (a
						// corner makes the path longer than the chord).
						if odo < moved-1e-9 || odo > 75.0/3600+1e-9 || odo < 0 {
							t.Fatalf("second %d: %s moved %.4f km, odometer +%.4f", sec, v.vin, moved, odo)
						}
						if moved > 0 && v.phase != driving && p.phase != driving {
							t.Fatalf("%s moved while standing", v.vin)
						}
						km += odo
						if v.fuel < p.fuel {
							burned += p.fuel - v.fuel
						} else if v.fuel > p.fuel {
							refuels++
							if v.phase != parked {
								t.Fatalf("%s refueled while %d", v.vin, v.phase)
							}
						}
						if p.phase == driving && v.phase == stopped {
							stops++
						}
						if p.phase == driving && v.phase == parked {
							parks++
						}
					}
					if !v.electric && v.fuel < 0.10 {
						lowFuelSeen++
					}
					last[v.vin] = prev{v.pos, v.odometer, v.fuel, v.phase}
				}
				if c.driving != h.g.census.driving || c.stopped != h.g.census.stopped || h.g.census.members != len(vs) {
					t.Fatalf("second %d: census %+v, counted %+v", sec, h.g.census, c)
				}
				// Some moving and some stopped at any moment (after the
				// first minute, in which a fleet that started all parked
				// gets going).
				if sec > 60 && (moving == 0 || still == 0) {
					var b strings.Builder
					for _, v := range vs {
						fmt.Fprintf(&b, "\n  %s phase %d speed %.1f red %.0f left %.0f route %d held %v", v.vin, v.phase, v.speed, v.redLeft, v.phaseLeft, len(v.route), v.held)
					}
					t.Fatalf("second %d: %d moving, %d standing still; census %+v%s", sec, moving, still, h.g.census, b.String())
				}
			})
			t.Logf("2 h: %.0f km driven, %d stops with the engine on, %d parks, %d refuels, low fuel in %d vehicle-seconds", km, stops, parks, refuels, lowFuelSeen)
			if km < 60 || stops < 5 || parks < 5 || burned <= 0 || lowFuelSeen == 0 {
				t.Errorf("the fleet does not drive, stop, park and run low: %.0f km, %d stops, %d parks, fuel burned %.3f, low fuel %d", km, stops, parks, burned, lowFuelSeen)
			}
		})
	}
}

// With a seed the drive is the same every time.
func TestDrivingIsDeterministic(t *testing.T) {
	run := func(seed int64) string {
		h := newHarness(Options{Seed: seed, FailureRate: -1, RedeliveryRate: -1}, defaultFleet)
		var b strings.Builder
		drive(h, 20*time.Minute, time.Second, func(sec int, vs []*vehicle) {
			if sec%60 == 0 {
				for _, v := range vs {
					fmt.Fprintf(&b, "%s %.6f %.6f %.1f %s|", v.vin, v.lat(), v.lon(), v.speed, v.ignition)
				}
			}
		})
		return b.String()
	}
	if a, b := run(7), run(7); a != b {
		t.Error("the same seed drove differently")
	}
	if run(7) == run(8) {
		t.Error("different seeds drove the same")
	}
}

// A vehicle's depot is its city.
func TestVehiclesDriveInTheirCity(t *testing.T) {
	h := newHarness(Options{Seed: 3}, defaultFleet)
	h.step(len(defaultFleet), time.Second)
	for _, fv := range defaultFleet {
		v := h.g.states[fv.VIN]
		if fv.City != "" && v.city.name != fv.City {
			t.Errorf("%s drives in %s, its depot is %s", fv.VIN, v.city.name, fv.City)
		}
		if d := distKm(v.lat(), v.lon(), v.city.lat, v.city.lon); d > v.city.radiusKm*math.Sqrt2+0.3 {
			t.Errorf("%s is %.1f km from %s", fv.VIN, d, v.city.name)
		}
	}
}

// Trouble codes come and go; the list the feed carries is the vehicle's.
func TestTroubleCodesComeAndGo(t *testing.T) {
	h := newHarness(Options{Seed: 5, FailureRate: -1, RedeliveryRate: -1}, defaultFleet)
	seen := map[string]bool{}
	appeared, cleared := 0, 0
	prev := map[string]map[string]bool{}
	drive(h, 8*time.Hour, 10*time.Second, func(sec int, vs []*vehicle) {
		for _, v := range vs {
			now := map[string]bool{}
			for _, c := range v.codes {
				now[c.id] = true
				seen[c.id] = true
				if !prev[v.vin][c.id] && prev[v.vin] != nil {
					appeared++
				}
			}
			for id := range prev[v.vin] {
				if !now[id] {
					cleared++
				}
			}
			prev[v.vin] = now
		}
	})
	if appeared == 0 || cleared == 0 || len(seen) < 3 {
		t.Errorf("in 8 h: %d codes appeared, %d cleared, %d distinct", appeared, cleared, len(seen))
	}
	// What the feed publishes is what the vehicle has.
	for range 100 {
		for _, m := range h.step(len(defaultFleet), 100*time.Millisecond) {
			if !strings.HasSuffix(m.topic, "/diagnostics/get/trouble_codes") {
				continue
			}
			d := decode(t, m)
			v := h.g.states[d.VIN]
			if len(d.Items) != len(v.codes) {
				t.Fatalf("%s: %d items, the vehicle has %d codes", d.VIN, len(d.Items), len(v.codes))
			}
			return
		}
	}
	t.Fatal("no trouble codes published")
}

// --mqtt-v2: one topic per application, several capabilities per message,
// every property an array of items.
func TestV2Messages(t *testing.T) {
	const app = "9ef2b1a5-3b8c-4c56-9d2e-6a1f2b3c4d5e"
	h := newHarness(Options{AppID: app, V2: true, FailureRate: 0.05, RedeliveryRate: -1}, testFleet)
	caps := map[int]int{}
	props := 0
	for _, m := range h.step(300, time.Second) {
		if m.topic != "live/level13/"+app {
			t.Fatalf("topic %s", m.topic)
		}
		var msg struct {
			Version       int                                    `json:"version"`
			ApplicationID string                                 `json:"application_id"`
			MessageID     string                                 `json:"message_id"`
			VIN           string                                 `json:"vin"`
			Data          map[string]map[string][]propertyObject `json:"data"`
		}
		dec := json.NewDecoder(bytes.NewReader(m.payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&msg); err != nil {
			t.Fatalf("%s: %v", m.payload, err)
		}
		if msg.Version != 2 || msg.ApplicationID != app || !messageIDPattern.MatchString(msg.MessageID) || msg.VIN == "" {
			t.Fatalf("envelope %s", m.payload)
		}
		n := 0
		for cap, ps := range msg.Data {
			for prop, items := range ps {
				n++
				props++
				if catalog[propNamed(t, cap, prop)].list {
					continue // a list may be empty
				}
				if len(items) != 1 || (items[0].Data == nil) == (items[0].Failure == nil) || !timestampPattern.MatchString(items[0].Timestamp) {
					t.Fatalf("%s.%s: %s", cap, prop, m.payload)
				}
			}
		}
		if n != V2PropsPerMessage {
			t.Fatalf("%d properties, want %d: %s", n, V2PropsPerMessage, m.payload)
		}
		caps[len(msg.Data)]++
	}
	if caps[1] == len(caps) {
		t.Errorf("no V2 message held more than one capability: %v", caps)
	}
	// A command publishes its changes as one V2 message.
	if _, err := h.g.Apply(testFleet[0].VIN, "disable_ignition"); err != nil {
		t.Fatal(err)
	}
	out := h.out.take()
	if len(out) != 1 || !bytes.Contains(out[0].payload, []byte(`"ignition":{"state":[{"data":"off"`)) ||
		!bytes.Contains(out[0].payload, []byte(`"speed":[{"data":{"unit":"kilometers_per_hour","value":0}`)) {
		t.Errorf("disable_ignition published %d messages: %s", len(out), out)
	}
}

func propNamed(t *testing.T, capability, property string) propID {
	t.Helper()
	for p, d := range catalog {
		if d.capability == capability && d.property == property {
			return propID(p)
		}
	}
	t.Fatalf("unknown %s.%s", capability, property)
	return 0
}

// Topics: HM's form by default, the seed's with SeedTopics.
func TestTopicForms(t *testing.T) {
	for _, seed := range []bool{false, true} {
		h := newHarness(Options{SeedTopics: seed}, testFleet[:1])
		for _, m := range h.step(3, time.Second) {
			if strings.HasPrefix(m.topic, "/") != seed || !strings.Contains(m.topic, "live/level13/"+seedAppID+"/") {
				t.Errorf("SeedTopics=%v: topic %s", seed, m.topic)
			}
		}
	}
}

package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// liveFor is how old a live value may be and still count as the vehicle's
// state now: the feed sends every few seconds, so a minute of silence
// means the console no longer knows.
const liveFor = time.Minute

// liveValue is one property of a vehicle as the feed last gave it.
type liveValue struct {
	known   bool // the feed has carried it
	text    string
	number  float64
	numeric bool
	at      time.Time // the source's timestamp, else the arrival
	failure string    // the vehicle reported it could not read it
}

// vehicleFacts is what the console knows about one vehicle at one moment:
// its clearance (from the Clearance list) and its live state (from the
// feed). Every confirmation shows them, and the journal keeps what was shown.
type vehicleFacts struct {
	vin                       string
	listed                    bool // in the clearance list
	brand                     string
	status                    fleet.Status
	onFeed                    bool // the feed has data under this VIN
	hasFeed                   bool // telemetry is configured at all
	speed, ignition, location liveValue
	immobilised               immobilisation
	at                        time.Time // when these were read
}

// readFacts gathers the facts about vin now.
func readFacts(c *Common, vin string) vehicleFacts {
	f := vehicleFacts{vin: vin, at: c.Now()}
	if c.lookup != nil {
		if v, ok := c.lookup(vin); ok {
			f.listed, f.brand, f.status = true, v.Brand, v.Status
		}
	}
	if c.live != nil {
		f.hasFeed = true
		props := c.live.Vehicle(vin)
		f.onFeed = len(props) > 0
		for i := range props {
			p := &props[i]
			switch p.Capability + "." + p.Name {
			case "diagnostics.speed":
				f.speed = liveOf(p)
			case "ignition.state":
				f.ignition = liveOf(p)
			case "vehicle_location.coordinates":
				f.location = liveOf(p)
			}
		}
	}
	if c.immob != nil {
		f.immobilised, _ = c.immob.get(vin)
	}
	return f
}

func liveOf(p *stream.Property) liveValue {
	v := liveValue{known: true, text: termsafe.String(p.Value), number: p.Number, numeric: p.Numeric, at: p.SourceTime}
	if v.at.IsZero() {
		v.at = p.Arrival
	}
	if u := termsafe.String(p.Unit); u != "" {
		v.text += " " + u
	}
	if p.Failure != nil {
		v.failure = termsafe.String(p.Failure.Reason)
		if d := termsafe.String(p.Failure.Description); d != "" {
			v.failure += ": " + d
		}
	}
	return v
}

// fresh reports a value that says how things are now.
func (v liveValue) fresh(now time.Time) bool {
	return v.known && v.failure == "" && !v.at.IsZero() && now.Sub(v.at) <= liveFor
}

// motion is what the console can say about whether a vehicle moves.
type motion uint8

const (
	motionUnknown motion = iota // no fresh speed: treat as moving
	motionStopped
	motionMoving
)

// motion reads the speed: above 0 is moving, 0 is stopped, anything the
// console cannot vouch for (missing, stale, failed) is unknown.
func (f vehicleFacts) motion(now time.Time) motion {
	switch {
	case !f.speed.fresh(now) || !f.speed.numeric:
		return motionUnknown
	case f.speed.number > 0:
		return motionMoving
	}
	return motionStopped
}

// describe renders one live value: "12.5 km/h · 3s ago", or what is
// missing ("no speed for 4 min (last 12.5 km/h)"). warn says it should be
// drawn in the warning colour.
func (v liveValue) describe(f vehicleFacts, what string, now time.Time) (text string, warn bool) {
	switch {
	case !f.hasFeed:
		return "unknown: no telemetry configured", true
	case !f.onFeed:
		return "no data: this VIN is not on the live feed", true
	case !v.known:
		return "no " + what + " on the feed", true
	case v.failure != "":
		return "the vehicle could not report its " + what + ": " + v.failure, true
	case v.at.IsZero():
		return v.text + " · age unknown", true
	}
	d := now.Sub(v.at)
	if d > liveFor {
		return fmt.Sprintf("no %s for %s (last %s)", what, longAge(d), v.text), true
	}
	return v.text + " · " + age(now, v.at), false
}

// longAge renders an age in words a warning reads well with: "4 min",
// "2 h", "3 days".
func longAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// clearanceText is the vehicle's brand and clearance, as one phrase.
func (f vehicleFacts) clearanceText() string {
	if !f.listed {
		return "not in the clearance list"
	}
	return termsafe.String(f.brand) + " · clearance " + termsafe.String(string(f.status))
}

// shown is the live state as the journal keeps it with a confirmation:
// what the operator had on screen when they confirmed.
func (f vehicleFacts) shown(now time.Time) string {
	parts := make([]string, 0, 3)
	for _, it := range []struct {
		name string
		v    liveValue
	}{{"speed", f.speed}, {"ignition", f.ignition}, {"location", f.location}} {
		text, _ := it.v.describe(f, it.name, now)
		if it.v.fresh(now) {
			text = it.v.text + " (" + shortDuration(now.Sub(it.v.at)) + " old)"
		}
		parts = append(parts, it.name+" "+text)
	}
	return strings.Join(parts, "; ")
}

// factLines draws the facts as labelled lines for width w: the vehicle,
// then speed, ignition and location with their ages, each in the warning
// colour when the console cannot vouch for it.
func factLines(c *Common, f vehicleFacts, w int) []string {
	st := c.Styles
	now := c.Now()
	const labelW = 10
	label := func(s string) string { return st.Dim.Render(pad(s, labelW)) }
	out := []string{label("Vehicle") + st.Bold.Render(termsafe.String(f.vin)) + "  " + f.clearanceText()}
	for _, it := range []struct {
		label, what string
		v           liveValue
	}{{"Speed", "speed", f.speed}, {"Ignition", "ignition state", f.ignition}, {"Location", "location", f.location}} {
		text, warn := it.v.describe(f, it.what, now)
		if it.what == "speed" {
			switch f.motion(now) {
			case motionMoving:
				text, warn = text+" · moving", true
			case motionStopped:
				text += " · stopped"
			}
		}
		lines := wrapText(text, max(w-labelW, 10), 3)
		for i, l := range lines {
			if warn {
				l = st.Warning.Render(l)
			}
			if i == 0 {
				out = append(out, label(it.label)+l)
			} else {
				out = append(out, strings.Repeat(" ", labelW)+l)
			}
		}
	}
	if im := f.immobilised; !im.since.IsZero() {
		out = append(out, label("Status")+st.Error.Render("⊘ immobilised "+age(now, im.since)))
	}
	return out
}

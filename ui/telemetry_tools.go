package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// How fresh a vehicle's data looks, and the Telemetry pane's share of the
// console-wide tools (linked selection, copy, export, the palette's filter).

// storeRateTau is the time constant of the store's message rate
// (stream.Store: r ← r·e^(−Δt/τ) + 1/τ per message, decaying the same way
// when read). TestRateTauMatchesTheStore keeps the two equal.
const storeRateTau = 10 * time.Second

// Bounds of the interval a vehicle is expected to send at, and the least
// delay before its row counts as late or stale (batches come every 100 ms
// and a message may wait in the broker a moment).
const (
	minInterval = 100 * time.Millisecond
	maxInterval = 10 * time.Minute
	minLate     = 2 * time.Second
	minStale    = 5 * time.Second
)

// freshness says whether a vehicle's data is as recent as its usual pace
// promises.
type freshness uint8

const (
	fresh freshness = iota
	late            // quieter than 1.5 expected intervals
	stale           // quieter than 3 expected intervals (or the store says so)
)

func (f freshness) glyph() string {
	switch f {
	case late:
		return "◐"
	case stale:
		return "○"
	}
	return "●"
}

// expectedInterval is how often v usually sends. The store's rate decays
// as e^(−t/τ) from the last message; undoing the decay up to when the
// summary was read gives the rate when it last sent, and its inverse is the
// interval.
func expectedInterval(v *stream.VehicleSummary, readAt time.Time) time.Duration {
	since := max(readAt.Sub(v.LastSeen), 0)
	r := v.Rate * math.Exp(since.Seconds()/storeRateTau.Seconds())
	if r <= 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return maxInterval
	}
	d := time.Duration(float64(time.Second) / r)
	return min(max(d, minInterval), maxInterval)
}

func vehicleFreshness(v *stream.VehicleSummary, readAt, now time.Time) freshness {
	if v.Stale {
		return stale
	}
	gap := now.Sub(v.LastSeen)
	iv := expectedInterval(v, readAt)
	switch {
	case gap > max(3*iv, minStale):
		return stale
	case gap > max(iv*3/2, minLate):
		return late
	}
	return fresh
}

// rateNow is v's message rate at now: the rate read decays further from
// the moment it was read, so a vehicle that stopped sending goes to 0
// whether or not anything else arrives.
func rateNow(v *stream.VehicleSummary, readAt, now time.Time) float64 {
	d := max(now.Sub(readAt), 0)
	return v.Rate * math.Exp(-d.Seconds()/storeRateTau.Seconds())
}

// connText says what a connection state means, numbers named:
// "reconnecting (attempt 23)".
func connText(s stream.ConnState) string {
	switch s.Phase {
	case stream.Connecting:
		if s.Attempt > 1 {
			return fmt.Sprintf("connecting (attempt %d)", s.Attempt)
		}
		return "connecting"
	case stream.Reconnecting:
		if s.Attempt > 0 {
			return fmt.Sprintf("reconnecting (attempt %d)", s.Attempt)
		}
		return "reconnecting"
	}
	return termsafe.String(s.String())
}

func connected(s stream.ConnState) bool {
	return s.Phase == stream.Connected || s.Phase == stream.Replaying
}

// noteState follows the feed's connection: when it went down (for
// "disconnected for 40s"), and a notification when it goes down or comes
// back.
func (m *Telemetry) noteState(s stream.ConnState) tea.Cmd {
	now := m.c.Now()
	up := connected(s)
	switch {
	case up && !m.downSince.IsZero():
		gone := now.Sub(m.downSince)
		m.downSince = time.Time{}
		if m.wasUp {
			return notify(levelInfo, "broker connected again after "+shortDuration(gone))
		}
		m.wasUp = true
	case up:
		m.wasUp = true
	case m.downSince.IsZero():
		m.downSince = now
		if m.wasUp {
			text := "broker connection lost: " + connText(s)
			if s.Reason != "" && s.Phase != stream.Failed {
				text += " (" + termsafe.String(s.Reason) + ")"
			}
			return notify(levelError, text)
		}
	}
	return nil
}

// downFor is how long the feed has been disconnected (0: it is not).
func (m *Telemetry) downFor(now time.Time) time.Duration {
	if m.downSince.IsZero() {
		return 0
	}
	return max(now.Sub(m.downSince), 0)
}

// tick runs once a second: the feed's rate goes to 0 when no batch has
// come for a while (a closed or stuck feed sends none).
func (m *Telemetry) tick(now time.Time) {
	if m.closed || (!m.lastBatch.IsZero() && now.Sub(m.lastBatch) > 2*time.Second) {
		m.rate *= 0.5
		if m.rate < 0.5 {
			m.rate = 0
		}
	}
}

// --- linked selection, palette, copy, export ----------------------------

func (m *Telemetry) SelectedVehicle() string { return m.selID }

func (m *Telemetry) SelectVehicle(id string, force bool) bool {
	if m.src == nil {
		return false
	}
	for vi, i := range m.view {
		if m.vehicles[i].ID == id {
			m.vwin.set(vi)
			m.loadProps()
			return true
		}
	}
	if !force {
		return false
	}
	for i := range m.vehicles {
		if m.vehicles[i].ID == id {
			m.filter.clear()
			m.selID = id
			m.refilter()
			m.loadProps()
			return true
		}
	}
	return false
}

func (m *Telemetry) setFilter(q string) {
	m.filter.ti.SetValue(q)
	m.refilter()
	m.loadProps()
}

func (m *Telemetry) TakesText() bool { return m.filter.active }

func (m *Telemetry) copyTarget() (string, string) {
	if m.focusProps && m.pwin.cursor >= 0 && m.pwin.cursor < len(m.props) {
		p := &m.props[m.pwin.cursor]
		text := termsafe.String(p.Capability) + "." + termsafe.String(p.Name) + " = " + termsafe.String(p.Value)
		if u := termsafe.String(p.Unit); u != "" {
			text += " " + u
		}
		return "the property", text
	}
	if m.vwin.cursor >= 0 && m.vwin.cursor < len(m.view) && m.vehicles[m.view[m.vwin.cursor]].Pseudonym {
		return "the pseudonym", termsafe.String(m.selID)
	}
	return "the VIN", termsafe.String(m.selID)
}

// exportTable is the vehicle list (filter applied), or the selected
// vehicle's properties when they have the focus.
func (m *Telemetry) exportTable() table {
	now := m.c.Now()
	if m.focusProps && m.selID != "" {
		t := table{name: "properties", note: fmt.Sprintf("%d properties of %s", len(m.props), termsafe.String(m.selID)),
			cols: []string{"vehicle", "capability", "property", "value", "unit", "source_time", "arrival", "stale", "failure"}}
		for i := range m.props {
			p := &m.props[i]
			failure := ""
			if p.Failure != nil {
				failure = strings.TrimSuffix(termsafe.String(p.Failure.Reason)+": "+termsafe.String(p.Failure.Description), ": ")
			}
			t.rows = append(t.rows, []any{termsafe.String(m.selID), termsafe.String(p.Capability), termsafe.String(p.Name),
				termsafe.String(p.Value), termsafe.String(p.Unit), p.SourceTime, p.Arrival, p.Stale, failure})
		}
		return t
	}
	t := table{name: "telemetry", note: fmt.Sprintf("%d of %d vehicles", len(m.view), len(m.vehicles)),
		cols: []string{"vehicle", "kind", "last_seen", "msg_per_s", "freshness", "properties"}}
	if q := m.filter.query(); q != "" {
		t.note += fmt.Sprintf(", filter %q", q)
	}
	names := [...]string{fresh: "fresh", late: "late", stale: "stale"}
	for _, i := range m.view {
		v := &m.vehicles[i]
		_, kind := vehicleLabel(v)
		t.rows = append(t.rows, []any{termsafe.String(v.ID), kind, v.LastSeen, math.Round(rateNow(v, m.readAt, now)*100) / 100,
			names[vehicleFreshness(v, m.readAt, now)], v.Properties})
	}
	return t
}

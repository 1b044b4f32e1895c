// Package timeline tells what happened to one vehicle, in time order, from
// the three places that know: its clearance changelog (the fleet API), the
// audit journal (commands and clearance requests: who, what, the outcome,
// the final status) and the telemetry feed (its first and last message,
// failures, the ignition turning, starting and stopping, a low tank, a
// silence, and the broker's own outages). The console's timeline and
// `fleetdeck vehicles timeline` both build it here.
package timeline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Kind says where an event comes from.
type Kind string

const (
	KindClearance Kind = "clearance"
	KindCommand   Kind = "command"
	KindTelemetry Kind = "telemetry"
)

// Kinds lists the kinds in the order a filter cycles through them.
var Kinds = []Kind{KindClearance, KindCommand, KindTelemetry}

// Level is how an event reads at a glance.
type Level string

const (
	LevelInfo    Level = "info"
	LevelOK      Level = "ok"
	LevelWarning Level = "warning"
	LevelError   Level = "error"
)

// Event is one line of a timeline. Every string is terminal-safe.
type Event struct {
	At     time.Time `json:"at"`
	Kind   Kind      `json:"kind"`
	Level  Level     `json:"level"`
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
	Actor  string    `json:"actor,omitempty"`
}

// Line is the event as one line of text (for copying), time in loc.
func (e Event) Line(loc *time.Location) string {
	s := e.At.In(loc).Format("2006-01-02 15:04:05") + "  " + string(e.Kind) + "  " + e.What
	if e.Detail != "" {
		s += " · " + e.Detail
	}
	if e.Actor != "" {
		s += " · by " + e.Actor
	}
	return s
}

// Journal is the part of the audit journal a timeline reads; *audit.Journal
// has it.
type Journal interface {
	List(ctx context.Context, f audit.Filter) ([]audit.Record, error)
}

// Sources are what a timeline is merged from; any may be missing.
type Sources struct {
	Vehicle *fleet.Vehicle        // the clearance list's entry; nil: not in the fleet (or unknown)
	Records []audit.Record        // the journal's records for the vehicle
	Feed    *stream.VehicleEvents // nil: the feed never saw it
	Gaps    []stream.Gap          // the broker's outages
	Now     time.Time             // for a gap still open; zero: time.Now
}

// Build merges the sources into one list, oldest first, keeping events at
// or after since (zero: all). Events at the same instant keep the order
// clearance, commands, telemetry.
func Build(s Sources, since time.Time) []Event {
	var out []Event
	if s.Vehicle != nil {
		out = append(out, clearanceEvents(s.Vehicle)...)
	}
	for _, r := range s.Records {
		out = append(out, journalEvents(r)...)
	}
	if s.Feed != nil {
		out = append(out, feedEvents(s.Feed, s.Gaps, s.Now)...)
	}
	if !since.IsZero() {
		out = slices.DeleteFunc(out, func(e Event) bool { return e.At.Before(since) })
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.At.Compare(b.At) })
	return out
}

func clearanceEvents(v *fleet.Vehicle) []Event {
	out := make([]Event, 0, len(v.Changelog))
	for _, c := range v.Changelog {
		e := Event{At: c.Timestamp, Kind: KindClearance, Level: statusLevel(c.Status),
			What: "clearance " + termsafe.String(string(c.Status)), Detail: termsafe.String(c.Reason)}
		out = append(out, e)
	}
	return out
}

func statusLevel(s fleet.Status) Level {
	switch s {
	case fleet.StatusApproved:
		return LevelOK
	case fleet.StatusRejected, fleet.StatusError:
		return LevelError
	case fleet.StatusRevoked, fleet.StatusRevoking, fleet.StatusCanceled, fleet.StatusCanceling:
		return LevelWarning
	}
	return LevelInfo
}

// journalEvents: one event for the request (with its immediate answer) and
// one for an accepted command's final status. The journal never holds a
// confirmation code, so neither does the timeline: it says a code was
// issued.
func journalEvents(r audit.Record) []Event {
	cmd := termsafe.String(r.Command)
	actor := termsafe.String(r.Actor.String())
	e := Event{At: r.At, Kind: KindCommand, Actor: actor, Level: LevelInfo}
	switch r.Action {
	case audit.ActionClearanceAdd:
		e.Kind, e.What = KindClearance, "clearance requested"
		if cmd != "" {
			e.What += " (" + cmd + ")"
		}
	case audit.ActionClearanceRevoke:
		e.Kind, e.What = KindClearance, "revocation requested"
	case audit.ActionClearanceCancel:
		e.Kind, e.What = KindClearance, "cancellation requested"
	case audit.ActionCommandConfirmation:
		e.What = cmd + ": code requested"
	case audit.ActionCommandConfirm:
		e.What = cmd + " with the code"
	case audit.ActionCommandSend:
		e.What = cmd + " sent"
	default:
		e.What = termsafe.String(string(r.Action)) + " " + cmd
	}
	var first string
	if len(r.Outcomes) > 0 {
		first = termsafe.String(r.Outcomes[0].Outcome)
	}
	switch {
	case !r.Known():
		e.Detail, e.Level = audit.OutcomeUnknown, LevelWarning
	case first == "confirmation issued":
		e.Detail = "code issued (never recorded)"
	case strings.HasPrefix(first, "error"):
		e.Detail, e.Level = first, LevelError
	default:
		e.Detail = first
	}
	if d := detailText(r.Detail); d != "" {
		e.Detail = strings.TrimPrefix(e.Detail+" · "+d, " · ")
	}
	out := []Event{e}
	if final, ok := r.Final(); ok {
		f := Event{At: final.At, Kind: KindCommand, What: cmd + " finished", Detail: termsafe.String(final.Outcome),
			Actor: actor, Level: LevelInfo}
		switch {
		case strings.HasPrefix(final.Outcome, "Success"):
			f.Level = LevelOK
		case strings.HasPrefix(final.Outcome, "Error"):
			f.Level = LevelError
		}
		out = append(out, f)
	} else if r.AwaitsFinal() {
		out[0].Detail += "; final status not recorded yet"
	}
	return out
}

// detailText is a journal entry's detail (a reason, the speed the
// operator saw, an approver) as "name: value" pairs in name order.
func detailText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, termsafe.String(strings.ReplaceAll(k, "_", " "))+": "+termsafe.String(d[k]))
	}
	return strings.Join(parts, " · ")
}

func feedEvents(f *stream.VehicleEvents, gaps []stream.Gap, now time.Time) []Event {
	if now.IsZero() {
		now = time.Now()
	}
	out := make([]Event, 0, len(f.Events)+2)
	out = append(out, Event{At: f.First, Kind: KindTelemetry, Level: LevelInfo, What: "first message on the feed"})
	if f.Dropped > 0 {
		out[0].Detail = fmt.Sprintf("%d older events not kept", f.Dropped)
	}
	for _, ev := range f.Events {
		out = append(out, feedEvent(ev))
	}
	for _, g := range gaps {
		end := g.To
		if end.IsZero() {
			end = now
		}
		// Only the outages while the vehicle was on the feed concern it.
		if end.Before(f.First) {
			continue
		}
		e := Event{At: g.From, Kind: KindTelemetry, Level: LevelWarning, What: "broker connection lost",
			Detail: termsafe.String(g.Reason)}
		if g.To.IsZero() {
			e.Detail += "; still down"
		} else {
			e.Detail += "; back after " + duration(g.To.Sub(g.From))
		}
		out = append(out, e)
	}
	out = append(out, Event{At: f.Last, Kind: KindTelemetry, Level: LevelInfo, What: "last message on the feed"})
	return out
}

func feedEvent(ev stream.Event) Event {
	e := Event{At: ev.At, Kind: KindTelemetry, Level: LevelInfo}
	prop := termsafe.String(ev.Capability + "." + ev.Property)
	switch ev.Kind {
	case stream.EventFailure:
		e.Level, e.What, e.Detail = LevelError, prop+" failed", termsafe.String(ev.Text)
	case stream.EventIgnition:
		e.What = "ignition " + termsafe.String(ev.Text)
	case stream.EventMoving:
		e.Level, e.What, e.Detail = LevelOK, "started moving", number(ev.Value)+" km/h"
	case stream.EventStopped:
		e.What = "stopped"
	case stream.EventLow:
		e.Level, e.What, e.Detail = LevelWarning, levelName(ev.Property)+" below "+number(stream.LowLevel)+"%", number(ev.Value)+"%"
	case stream.EventRefilled:
		e.Level, e.What, e.Detail = LevelOK, levelName(ev.Property)+" back above "+number(stream.LowLevel)+"%", number(ev.Value)+"%"
	case stream.EventSilence:
		e.Level, e.What = LevelWarning, "heard again after "+duration(time.Duration(ev.Value*float64(time.Second)))+" of silence"
		e.Detail = "first: " + prop
	default:
		e.What = ev.Kind.String() + " " + prop
	}
	return e
}

func levelName(property string) string {
	if property == "battery_level" {
		return "battery"
	}
	return "fuel"
}

func number(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// duration is d the way people say it: "45s", "6m", "2h05m".
func duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		if s := d % time.Minute; s != 0 {
			return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(s/time.Second))
		}
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Count tallies events per kind (for a filter's labels).
func Count(events []Event) map[Kind]int {
	n := make(map[Kind]int, len(Kinds))
	for _, e := range events {
		n[e.Kind]++
	}
	return n
}

// Filter keeps the events of one kind ("" keeps all).
func Filter(events []Event, k Kind) []Event {
	if k == "" {
		return events
	}
	out := make([]Event, 0, len(events))
	for _, e := range events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

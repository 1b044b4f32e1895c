package timeline

import (
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
)

var t0 = time.Date(2025, 8, 12, 8, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// sources has events of all three kinds interleaved in time, one journal
// record with a final status, one without an outcome, and a broker gap.
func sources() Sources {
	alice := audit.Actor{Kind: audit.KindLocal, User: "alice"}
	bob := audit.Actor{Kind: audit.KindSSH, User: "bob", Role: "operator"}
	return Sources{
		Vehicle: &fleet.Vehicle{VIN: "WBA12345678901234", Status: fleet.StatusApproved, Changelog: []fleet.Change{
			{Timestamp: at(0), Status: fleet.StatusPending},
			{Timestamp: at(2), Status: fleet.StatusRejected, Reason: "odometer does not match"},
			{Timestamp: at(9), Status: fleet.StatusApproved},
		}},
		Records: []audit.Record{
			{Entry: audit.Entry{At: at(1), Actor: alice, Action: audit.ActionClearanceAdd, Command: "brand bmw"},
				Outcomes: []audit.Entry{{At: at(1), Outcome: "pending"}}},
			{Entry: audit.Entry{At: at(20), Actor: bob, Action: audit.ActionCommandConfirmation, Command: "disable_ignition"},
				Outcomes: []audit.Entry{{At: at(20), Outcome: "confirmation issued"}}},
			{Entry: audit.Entry{At: at(21), Actor: bob, Action: audit.ActionCommandConfirm, Command: "disable_ignition",
				Detail: map[string]string{"reason": "reported stolen", "speed_shown": "0 km/h"}},
				Outcomes: []audit.Entry{
					{At: at(21), Outcome: "Pending id c-1", CommandID: "c-1"},
					{At: at(23), Action: audit.ActionCommandStatus, Outcome: "Success", CommandID: "c-1"},
				}},
			{Entry: audit.Entry{At: at(40), Actor: alice, Action: audit.ActionCommandSend, Command: "lock_door"}},
		},
		Feed: &stream.VehicleEvents{ID: "WBA12345678901234", First: at(10), Last: at(45), Events: []stream.Event{
			{At: at(12), Kind: stream.EventIgnition, Capability: "ignition", Property: "state", Text: "on"},
			{At: at(13), Kind: stream.EventMoving, Capability: "diagnostics", Property: "speed", Value: 42},
			{At: at(22), Kind: stream.EventStopped, Capability: "diagnostics", Property: "speed"},
			{At: at(24), Kind: stream.EventIgnition, Capability: "ignition", Property: "state", Text: "off"},
			{At: at(30), Kind: stream.EventLow, Capability: "diagnostics", Property: "fuel_level", Value: 8.4},
			{At: at(31), Kind: stream.EventFailure, Capability: "doors", Property: "locks_state", Text: "rate_limit"},
			{At: at(44), Kind: stream.EventSilence, Capability: "diagnostics", Property: "speed", Value: 360},
		}},
		Gaps: []stream.Gap{
			{From: at(5), To: at(6), Reason: "reconnecting 1"}, // before the vehicle's first message: not its concern
			{From: at(35), To: at(37), Reason: "reconnecting 1"},
		},
	}
}

func TestMergeOrderAcrossTheThreeSources(t *testing.T) {
	got := Build(sources(), time.Time{})
	want := []struct {
		min  int
		kind Kind
		what string
	}{
		{0, KindClearance, "clearance pending"},
		{1, KindClearance, "clearance requested (brand bmw)"},
		{2, KindClearance, "clearance rejected"},
		{9, KindClearance, "clearance approved"},
		{10, KindTelemetry, "first message on the feed"},
		{12, KindTelemetry, "ignition on"},
		{13, KindTelemetry, "started moving"},
		{20, KindCommand, "disable_ignition: code requested"},
		{21, KindCommand, "disable_ignition with the code"},
		{22, KindTelemetry, "stopped"},
		{23, KindCommand, "disable_ignition finished"},
		{24, KindTelemetry, "ignition off"},
		{30, KindTelemetry, "fuel below 10%"},
		{31, KindTelemetry, "doors.locks_state failed"},
		{35, KindTelemetry, "broker connection lost"},
		{40, KindCommand, "lock_door sent"},
		{44, KindTelemetry, "heard again after 6m of silence"},
		{45, KindTelemetry, "last message on the feed"},
	}
	if len(got) != len(want) {
		for _, e := range got {
			t.Log(e.Line(time.UTC))
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if !g.At.Equal(at(w.min)) || g.Kind != w.kind || g.What != w.what {
			t.Errorf("event %d: %s %s %q; want +%dm %s %q", i, g.At.Format("15:04"), g.Kind, g.What, w.min, w.kind, w.what)
		}
	}
	byWhat := map[string]Event{}
	for _, e := range got {
		byWhat[e.What] = e
	}
	if e := byWhat["clearance rejected"]; e.Detail != "odometer does not match" || e.Level != LevelError {
		t.Errorf("rejection: %+v, want its reason and the error level", e)
	}
	if e := byWhat["disable_ignition: code requested"]; e.Detail != "code issued (never recorded)" || e.Actor != "ssh:bob (operator)" {
		t.Errorf("code step: %+v", e)
	}
	if e := byWhat["disable_ignition with the code"]; e.Detail != "Pending id c-1 · reason: reported stolen · speed shown: 0 km/h" {
		t.Errorf("the journal's detail: %+v", e)
	}
	if e := byWhat["disable_ignition finished"]; e.Detail != "Success" || e.Level != LevelOK {
		t.Errorf("final status: %+v", e)
	}
	if e := byWhat["lock_door sent"]; e.Detail != audit.OutcomeUnknown || e.Level != LevelWarning {
		t.Errorf("a record without an outcome: %+v", e)
	}
	if e := byWhat["broker connection lost"]; e.Detail != "reconnecting 1; back after 2m" {
		t.Errorf("gap: %+v", e)
	}
	if e := byWhat["fuel below 10%"]; e.Detail != "8.4%" {
		t.Errorf("low fuel: %+v", e)
	}
	if e := byWhat["doors.locks_state failed"]; e.Detail != "rate_limit" || e.Level != LevelError {
		t.Errorf("failure: %+v", e)
	}
}

func TestSinceAndFilter(t *testing.T) {
	all := Build(sources(), time.Time{})
	recent := Build(sources(), at(30))
	if len(recent) != 6 || !recent[0].At.Equal(at(30)) {
		t.Fatalf("since +30m: %d events from %v", len(recent), recent[0].At)
	}
	n := Count(all)
	if n[KindClearance] != 4 || n[KindCommand] != 4 || n[KindTelemetry] != 10 {
		t.Fatalf("counts %v", n)
	}
	for _, e := range Filter(all, KindCommand) {
		if e.Kind != KindCommand {
			t.Fatalf("filter let %s through", e.Kind)
		}
	}
	if len(Filter(all, "")) != len(all) {
		t.Fatal("an empty filter dropped events")
	}
}

func TestHostileTextIsMadeSafe(t *testing.T) {
	s := Sources{Vehicle: &fleet.Vehicle{Changelog: []fleet.Change{{Timestamp: t0, Status: "app\x1b[31mroved", Reason: "\x1b]52;c;aGk=\x07x"}}}}
	for _, e := range Build(s, time.Time{}) {
		if strings.ContainsRune(e.Line(time.UTC), 0x1b) {
			t.Fatalf("escape in %q", e.Line(time.UTC))
		}
	}
}

func TestLine(t *testing.T) {
	e := Event{At: t0, Kind: KindCommand, What: "lock_door sent", Detail: "Success", Actor: "alice"}
	if got := e.Line(time.UTC); got != "2025-08-12 08:00:00  command  lock_door sent · Success · by alice" {
		t.Fatalf("%q", got)
	}
}

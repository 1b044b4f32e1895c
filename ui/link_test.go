package ui

import (
	"testing"

	"github.com/fleetdeck/fleetdeck/stream"
)

// linkEnv has WBA12345678901234 in all three views: approved in Clearance
// (so in Commands) and on the feed.
func linkEnv() *testEnv {
	e := newEnv()
	e.tele.vehicles = append(e.tele.vehicles, stream.VehicleSummary{ID: "1FTFW1ET5DFC10313", LastSeen: testNow, Rate: 1})
	return e
}

func TestSelectionFollowsAcrossViews(t *testing.T) {
	t.Parallel()
	m := started(t, linkEnv(), 200, 50)
	mustContain(t, m.View(), "⇄ linked")
	// Clearance: WBA… is the 4th row.
	drive(t, m, keyMsg("j"), keyMsg("j"), keyMsg("j"))
	if got := m.clearance.selectedVIN(); got != "WBA12345678901234" {
		t.Fatalf("clearance selected %s", got)
	}
	if m.telemetry.selID != "WBA12345678901234" || m.commands.selectedVIN() != "WBA12345678901234" {
		t.Fatalf("telemetry %s, commands %s", m.telemetry.selID, m.commands.selectedVIN())
	}
	// From Telemetry back: 1FTFW1ET5DFC10312 is first on the feed.
	drive(t, m, keyMsg("2"), keyMsg("g"))
	if m.clearance.selectedVIN() != "1FTFW1ET5DFC10312" || m.commands.selectedVIN() != "1FTFW1ET5DFC10312" {
		t.Fatalf("clearance %s, commands %s", m.clearance.selectedVIN(), m.commands.selectedVIN())
	}
	// A vehicle one view does not list leaves that view where it was.
	drive(t, m, keyMsg("G"))
	if m.telemetry.selID != "1FTFW1ET5DFC10313" || m.clearance.selectedVIN() != "1FTFW1ET5DFC10312" {
		t.Fatalf("telemetry at %s moved Clearance to %s", m.telemetry.selID, m.clearance.selectedVIN())
	}
	drive(t, m, keyMsg("k"))
	if m.telemetry.selID != "WBA12345678901234" || m.clearance.selectedVIN() != "WBA12345678901234" {
		t.Fatalf("telemetry at %s, clearance at %s", m.telemetry.selID, m.clearance.selectedVIN())
	}
	// A mouse click selects and follows too.
	drive(t, m, keyMsg("1"))
	c := m.lay.content[paneClearance]
	drive(t, m, mouseClick(c.x+2, c.y+m.clearance.lay.rowsTop+1))
	if m.clearance.selectedVIN() != "VF1AB000123456789" {
		t.Fatalf("click selected %s", m.clearance.selectedVIN())
	}

	// L turns linking off; the header says so.
	drive(t, m, keyMsg("L"))
	mustContain(t, m.View(), "unlinked")
	drive(t, m, keyMsg("g"))
	if m.telemetry.selID == "1FTFW1ET5DFC10312" {
		t.Fatal("unlinked, yet telemetry followed")
	}
	drive(t, m, keyMsg("L"))
	mustContain(t, m.View(), "⇄ linked")
}

// Linking never clears a filter: a vehicle a filter hides stays unselected
// there. The palette's jump does clear it.
func TestLinkKeepsFiltersJumpClearsThem(t *testing.T) {
	t.Parallel()
	m := started(t, linkEnv(), 200, 50)
	drive(t, m, keyMsg("2"), keyMsg("/"))
	typeText(t, m, "26ace")
	drive(t, m, keyMsg("enter"), keyMsg("1"), keyMsg("j"), keyMsg("j"), keyMsg("j"))
	if m.telemetry.filter.query() != "26ace" {
		t.Fatal("linking changed the telemetry filter")
	}
	drive(t, m, burst(":vin"), keyMsg(" "), burst("WBA12345678901234"), keyMsg("enter"))
	if m.telemetry.filter.query() != "" || m.telemetry.selID != "WBA12345678901234" {
		t.Fatalf("jump: telemetry filter %q, selected %s", m.telemetry.filter.query(), m.telemetry.selID)
	}
	mustContain(t, notesText(m), "jumped to WBA12345678901234: selected in Clearance, Telemetry, Commands")
}

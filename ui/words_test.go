package ui

import (
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// A viewer's session has no command client; the journal is still shown,
// read-only.
func TestViewerSeesTheJournal(t *testing.T) {
	t.Parallel()
	e := newEnv()
	log := &fakeAudit{}
	log.add(record(1, "alice", audit.ActionCommandSend, "1FTFW1ET5DFC10312", "lock_door", audit.Entry{Seq: 2, Outcome: "Success"}))
	log.add(record(3, "bob", audit.ActionClearanceCancel, "WDD1234567A123456", "", audit.Entry{Seq: 4, Outcome: "cancellation requested"}))
	e.opts.Audit, e.opts.Commands, e.opts.ReadOnly = log, nil, true
	e.opts.User, e.opts.Role = "carol", "viewer"
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"))
	v := m.View()
	mustContain(t, v, "read-only session: sending commands is disabled", "Journal", "alice", "send lock_door", "bob", "cancel WDD1234567A123456",
		"cancellation requested")
}

// Where a narrow screen is tall enough, the journal shows under the other
// panes too; on 80×24 there is no room.
func TestJournalStripWhereSpaceAllows(t *testing.T) {
	t.Parallel()
	e := newEnv()
	log := &fakeAudit{}
	log.add(record(1, "alice", audit.ActionClearanceRevoke, "WBA12345678901234", "", audit.Entry{Seq: 2, Outcome: "revocation requested"}))
	e.opts.Audit = log
	m := started(t, e, 100, 40)
	for _, pane := range []string{"1", "2"} {
		drive(t, m, keyMsg(pane))
		v := m.View()
		checkFrame(t, v, 100, 40)
		mustContain(t, v, "Journal (every operator, newest first)", "alice", "revoke", "WBA12345678901234")
	}
	// Clicks in the strip do not reach the pane above it.
	drive(t, m, keyMsg("1"))
	before := m.clearance.win.cursor
	drive(t, m, mouseClick(5, m.lay.strip.y+2))
	if m.clearance.win.cursor != before {
		t.Fatal("a click on the journal strip moved the table")
	}
	small := started(t, e, 80, 24)
	mustNotContain(t, small.View(), "Journal")
}

// While a form is open the help line lists the form's keys.
func TestFormFooterListsTheFormsKeys(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("a"))
	foot := m.View()[strings.LastIndex(m.View(), "\n")+1:]
	if !strings.Contains(foot, "enter next") || !strings.Contains(foot, "esc cancel") || strings.Contains(foot, "sort") {
		t.Fatalf("footer: %q", foot)
	}
	drive(t, m, burst("WBA12345678901234"), keyMsg("enter"))
	foot = m.View()[strings.LastIndex(m.View(), "\n")+1:]
	if !strings.Contains(foot, "↑ up") || !strings.Contains(foot, "shift+tab back") {
		t.Fatalf("select footer: %q", foot)
	}
}

// The brand is proposed from the VIN's manufacturer code.
func TestAddFormProposesTheBrand(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("a"), burst("W1KZF8DB1LA123874"))
	mustContain(t, m.View(), "· W1K: mercedes-benz")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "> mercedes-benz  ← proposed from the VIN (W1K)")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "Odometer (required for Mercedes-Benz)")
	drive(t, m, burst("120"), keyMsg("enter"), keyMsg("enter"))
	if _, added, _ := e.fleet.calls(); len(added) != 1 || added[0][0].Brand != fleet.BrandMercedesBenz || added[0][0].Odometer.Value != 120 {
		t.Fatalf("added %+v", added)
	}
}

// The sandbox's own VIN (with an O) is taken by the eligibility and add
// forms for the sandbox brand, and refused for any other.
func TestSandboxVINInTheForms(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.vehicles = append(e.fleet.vehicles, fleet.Vehicle{VIN: "1HMSJBPPO6X2VVVP5", Brand: fleet.BrandSandbox, Status: fleet.StatusPending})
	m := started(t, e, 80, 24)
	if !m.clearance.SelectVehicle("1HMSJBPPO6X2VVVP5", false) {
		t.Fatal("no sandbox row")
	}
	drive(t, m, keyMsg("e"))
	mustContain(t, m.View(), "a sandbox VIN (brand sandbox)", "> sandbox")
	drive(t, m, keyMsg("enter"), keyMsg("enter"))
	mustContain(t, m.View(), "1HMSJBPPO6X2VVVP5: ✓ eligible")
	if got := strings.Join(e.fleet.eligOf, ","); got != "1HMSJBPPO6X2VVVP5 sandbox" {
		t.Fatalf("eligibility asked for %q", got)
	}
	drive(t, m, keyMsg("enter"))

	// Add: the sandbox brand is proposed for it on a sandbox profile.
	drive(t, m, keyMsg("a"), burst("1HMSJBPPO6X2VVVP7"), keyMsg("enter"))
	mustContain(t, m.View(), "> sandbox  ← proposed from the VIN (1HM)")
	drive(t, m, keyMsg("down"), keyMsg("enter")) // another brand: refused
	mustContain(t, m.View(), "I, O, Q never appear in a VIN")
	if _, added, _ := e.fleet.calls(); len(added) != 0 {
		t.Fatalf("added %+v", added)
	}
	pickBrand(t, m, fleet.BrandSandbox)
	if _, added, _ := e.fleet.calls(); len(added) != 1 || added[0][0].VIN != "1HMSJBPPO6X2VVVP7" || added[0][0].Brand != fleet.BrandSandbox {
		t.Fatalf("added %+v", added)
	}
}

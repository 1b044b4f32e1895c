package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
)

// journaled wraps the env's fakes in the real journal, as the CLI does.
func journaled(t *testing.T, e *testEnv) *audit.Journal {
	t.Helper()
	j, err := audit.Open(filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	actor := audit.Actor{Kind: audit.KindSSH, User: "alice", Role: "operator"}
	e.opts.Fleet = audit.Fleet(e.fleet, j, actor)
	e.opts.Commands = audit.Commands(e.cmds, j, actor)
	e.opts.Audit = j
	return j
}

// journalLines is the journal as "action vin result" lines, oldest first.
func journalLines(t *testing.T, j *audit.Journal) []string {
	t.Helper()
	rs, err := j.Recent(context.Background(), 50)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		line := string(r.Action) + " " + r.VIN
		if r.Command != "" {
			line += " " + r.Command
		}
		out = append(out, line+": "+r.Result())
	}
	return out
}

// markRows marks the Clearance rows of these VINs (cursor moves to each).
func markRows(t *testing.T, m *Model, vins ...string) {
	t.Helper()
	for _, v := range vins {
		if !m.clearance.SelectVehicle(v, false) {
			t.Fatalf("%s is not in the table", v)
		}
		drive(t, m, keyMsg(" "))
	}
}

func TestBulkRevokeAsksOnceAndJournalsEach(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.delFail = map[string]error{"WBA12345678901234": errors.New("fleet API (HTTP 409): already in transition")}
	j := journaled(t, e)
	m := started(t, e, 80, 24)
	markRows(t, m, "1FTFW1ET5DFC10312", "WDD1234567A123456", "YV1AAAAA1BB222222", "WBA12345678901234")
	mustContain(t, m.View(), "✓ 4 marked", "✓1FTFW1ET5DFC10312")
	drive(t, m, keyMsg("d"))
	v := m.View()
	mustContain(t, v, "Revoke or cancel the clearance of 4 marked vehicles?", "3 of 4 marked vehicles will be acted on",
		"1FTFW1ET5DFC10312 revoke waiting", "WDD1234567A123456 cancel waiting", "YV1AAAAA1BB222222 —      skipped: revoked: no clearance to remove")
	if _, _, deleted := e.fleet.calls(); len(deleted) != 0 {
		t.Fatalf("deleted before the confirmation: %v", deleted)
	}
	drive(t, m, keyMsg("y"))
	v = m.View()
	mustContain(t, v, "Finished: 2 done, 1 failed, 1 skipped",
		"1FTFW1ET5DFC10312 revoke ✓ revoke requested", "WDD1234567A123456 cancel ✓ cancel requested",
		"WBA12345678901234 revoke ✗ revoke WBA12345678901234: fleet API (HTTP 409): al…")
	// The selected row's outcome is shown whole under the list.
	drive(t, m, keyMsg("k"))
	mustContain(t, m.View(), "WBA12345678901234: ✗ revoke WBA12345678901234: fleet API (HTTP 409): already in", "transition")
	if _, _, deleted := e.fleet.calls(); strings.Join(deleted, ",") != "1FTFW1ET5DFC10312,WBA12345678901234,WDD1234567A123456" {
		t.Fatalf("deleted %v", deleted)
	}
	got := strings.Join(journalLines(t, j), "\n")
	for _, want := range []string{"clearance.revoke 1FTFW1ET5DFC10312: revocation requested", "clearance.cancel WDD1234567A123456: cancellation requested",
		"clearance.revoke WBA12345678901234: "} {
		if !strings.Contains(got, want) {
			t.Errorf("journal lacks %q:\n%s", want, got)
		}
	}
	// What failed stays marked, to try again.
	drive(t, m, keyMsg("q"))
	if m.c.marks.len() != 2 || !m.c.marks.has("WBA12345678901234") || !m.c.marks.has("YV1AAAAA1BB222222") {
		t.Fatalf("marks left: %v", m.c.marks.list())
	}
	mustContain(t, notesText(m), "✗ revoke/cancel: 2 done, 1 failed, 1 skipped")
	drive(t, m, keyMsg("U"))
	mustNotContain(t, m.View(), "marked")
}

func TestBulkSendToMarkedVehicles(t *testing.T) {
	t.Parallel()
	e := newEnv()
	j := journaled(t, e)
	m := started(t, e, 80, 24)
	markRows(t, m, "WDD1234567A123456") // pending: not in Commands
	drive(t, m, keyMsg("3"), keyMsg(" "), keyMsg(" "))
	mustContain(t, m.View(), "✓ 1FTFW1ET5DFC10312", "✓ WBA12345678901234")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "Send lock_door to 3 marked vehicles?", "WDD1234567A123456 send lock_door skipped: not approved")
	drive(t, m, keyMsg("y"))
	mustContain(t, m.View(), "Finished: 2 done, 1 skipped", "1FTFW1ET5DFC10312 send lock_door ✓ registered id-1: Success")
	drive(t, m, keyMsg("esc"))
	var hist []string
	for _, h := range m.commands.history {
		hist = append(hist, h.vin+" "+h.command+" "+string(h.status))
	}
	if strings.Join(hist, ",") != "WBA12345678901234 lock_door Success,1FTFW1ET5DFC10312 lock_door Success" {
		t.Fatalf("history %v", hist)
	}
	calls := e.cmds.calls()
	if len(calls) != 2 || calls[0].vin != "1FTFW1ET5DFC10312" || calls[1].vin != "WBA12345678901234" {
		t.Fatalf("sent %+v", calls)
	}
	got := strings.Join(journalLines(t, j), "\n")
	if strings.Count(got, "command.send") != 2 {
		t.Fatalf("journal:\n%s", got)
	}
}

// A bulk ignition command goes through the send flow vehicle by vehicle:
// one list to confirm, then each vehicle's own code, typed for it.
func TestBulkIgnitionAsksEachCode(t *testing.T) {
	t.Parallel()
	e := newEnv()
	codes := map[string]string{"1FTFW1ET5DFC10312": "111111", "WBA12345678901234": "222222"}
	e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
		if c.code == "" {
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: codes[c.vin], Message: "Confirme com o código."}}, nil
		}
		if c.code != codes[c.vin] {
			return commands.SendResult{}, &commands.DetailError{HTTPStatus: 400, Kind: commands.ErrConfirmationInvalid, Detail: "Confirmation invalid"}
		}
		return commands.SendResult{Command: &commands.Command{ID: fmt.Sprintf("cmd-%d", n), VIN: c.vin, Command: c.command, Status: commands.StatusSuccess}}, nil
	}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("3"), keyMsg(" "), keyMsg(" "), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	mustContain(t, m.View(), "Send enable_ignition to 2 marked vehicles?", "each asks for its own code from the platform")
	drive(t, m, keyMsg("y"))
	for i, vin := range []string{"1FTFW1ET5DFC10312", "WBA12345678901234"} {
		v := m.View()
		mustContain(t, v, "Vehicle   "+vin, "Type the code to confirm")
		if got := sentCodes(e); len(got) != 2*i+1 {
			t.Fatalf("before %s's code: sends %q", vin, got)
		}
		typeText(t, m, codes[vin])
		drive(t, m, keyMsg("enter"))
	}
	if got := sentCodes(e); !slices.Equal(got, []string{"", "111111", "", "222222"}) {
		t.Fatalf("codes sent %q", got)
	}
	mustContain(t, m.View(), "Finished: 2 done")
}

// The back key stops a bulk action after the call in flight; the rest is
// not done, and a server shutting down waits while a call is in flight.
func TestBulkStopsAfterTheCallInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := started(t, e, 80, 24)
	markRows(t, m, "1FTFW1ET5DFC10312", "WBA12345678901234")
	drive(t, m, keyMsg("d"))
	_, call := m.Update(keyMsg("y")) // the first call, not run yet
	if !m.Busy() {
		t.Fatal("a bulk call in flight must keep the session busy")
	}
	drive(t, m, keyMsg("esc"))
	mustContain(t, m.View(), "stopping after what is under way")
	drive(t, m, call())
	v := m.View()
	mustContain(t, v, "Finished: 1 done, 1 not done (stopped)", "WBA12345678901234 revoke not done: stopped")
	if _, _, deleted := e.fleet.calls(); len(deleted) != 1 {
		t.Fatalf("deleted %v", deleted)
	}
	if m.Busy() {
		t.Fatal("busy after the end")
	}
}

// Many marked vehicles: the list scrolls and says where it is.
func TestBulkListScrolls(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet = bigFleet(40)
	e.opts.Fleet = e.fleet
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("g"))
	for i := 0; i < 40; i++ {
		drive(t, m, keyMsg(" "))
	}
	drive(t, m, keyMsg("d"))
	v := m.View()
	checkFrame(t, v, 80, 24)
	mustContain(t, v, "40 marked vehicles?", "rows 1–12 of 40")
	drive(t, m, keyMsg("G"))
	mustContain(t, m.View(), "rows 29–40 of 40", fmt.Sprintf("WBA%014d", 39))
	drive(t, m, keyMsg("esc"))
	if m.modals.active() {
		t.Fatal("esc should cancel before anything ran")
	}
	if _, _, deleted := e.fleet.calls(); len(deleted) != 0 {
		t.Fatalf("deleted %v", deleted)
	}
}

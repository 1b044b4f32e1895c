package ui

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

func TestToastsExpireErrorsLater(t *testing.T) {
	t.Parallel()
	e := newEnv()
	clk := e.withClock()
	m := started(t, e, 80, 24)
	drive(t, m, notifyMsg{level: levelInfo, text: "lock_door → WBA: Success"}, notifyMsg{level: levelError, text: "send foo: Unknown command"})
	mustContain(t, m.View(), "✓ 12:00:00 lock_door → WBA: Success", "✗ 12:00:00 send foo: Unknown command")
	clk.add(infoToastFor + time.Second)
	drive(t, m, clockMsg{})
	v := m.View()
	mustNotContain(t, v, "lock_door → WBA")
	mustContain(t, v, "send foo: Unknown command")
	clk.add(errorToastFor)
	drive(t, m, clockMsg{})
	mustNotContain(t, m.View(), "send foo")
	// Gone from the screen, kept in the history.
	mustContain(t, notesText(m), "✓ lock_door → WBA: Success", "✗ send foo: Unknown command")
}

// A failed send shown 45 s later next to a success is what the issue
// reports: after a later success the error has gone.
func TestOldErrorDoesNotOutliveItsToast(t *testing.T) {
	t.Parallel()
	e := newEnv()
	clk := e.withClock()
	m := started(t, e, 80, 24)
	drive(t, m, notifyMsg{level: levelError, text: "send foo to WBA: Unknown command"})
	clk.add(45 * time.Second)
	drive(t, m, clockMsg{}, notifyMsg{level: levelInfo, text: "lock_door → WBA: Success"})
	v := m.View()
	mustContain(t, v, "lock_door → WBA: Success")
	mustNotContain(t, v, "Unknown command")
}

func TestRepeatedNotificationCountsUp(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	for i := 0; i < 3; i++ {
		drive(t, m, notifyMsg{level: levelError, text: "list vehicles: timed out"})
	}
	if len(m.notes.entries) != 1 || m.notes.entries[0].count != 3 {
		t.Fatalf("entries %+v", m.notes.entries)
	}
	mustContain(t, m.View(), "✗ 12:00:00 ×3 list vehicles: timed out")
}

// A toast too long for its box says so; the history shows the whole text
// with its time, copies it (OSC 52), and dismissing hides the toasts.
func TestNotificationHistory(t *testing.T) {
	t.Parallel()
	e := newEnv()
	out := &testlog.Buffer{}
	e.opts.Clipboard = out
	m := started(t, e, 80, 24)
	long := "revoke WBA12345678901234: fleet API (HTTP 409): the vehicle is already in transition; wait until it is revoked before trying again, or ask support"
	drive(t, m, notifyMsg{level: levelError, text: long}, notifyMsg{level: levelInfo, text: "exported 8 rows"})
	v := m.View()
	mustContain(t, v, "cut: n shows it all", "✗ 1 new (n)")
	mustNotContain(t, v, "ask support")

	drive(t, m, keyMsg("n"))
	v = m.View()
	mustContain(t, v, "Notifications", "12:00:00 ✓ exported 8 rows", "12:00:00 ✗ revoke WBA12345678901234", "ask support")
	mustNotContain(t, v, "✗ 1 new") // seen now
	drive(t, m, keyMsg("down"), keyMsg("c"))
	want := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(long)) + "\x07"
	if got := out.String(); got != want {
		t.Fatalf("clipboard got %q, want %q", got, want)
	}
	drive(t, m, keyMsg("esc"))
	if m.modals.active() {
		t.Fatal("esc should close the history")
	}
	mustContain(t, m.View(), "exported 8 rows")
	drive(t, m, keyMsg("N"))
	mustNotContain(t, m.View(), "exported 8 rows")
	// A new one shows again.
	drive(t, m, notifyMsg{level: levelInfo, text: "copied"})
	mustContain(t, m.View(), "✓ 12:00:00 copied")
}

// The history scrolls and keeps at most maxNotifications.
func TestNotificationHistoryIsBounded(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	for i := 0; i < maxNotifications+20; i++ {
		drive(t, m, notifyMsg{level: levelInfo, text: fmt.Sprintf("note %03d", i)})
	}
	if len(m.notes.entries) != maxNotifications {
		t.Fatalf("%d entries kept", len(m.notes.entries))
	}
	drive(t, m, keyMsg("n"))
	mustContain(t, m.View(), "▸ 12:00:00 ✓ note 219")
	drive(t, m, keyMsg("G"))
	v := m.View()
	mustContain(t, v, "▸ 12:00:00 ✓ note 020")
	mustNotContain(t, v, "note 019")
}

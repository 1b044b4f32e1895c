package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
	"github.com/fleetdeck/fleetdeck/stream"
)

// List makes fakeAudit a timeline.Journal.
func (f *fakeAudit) List(ctx context.Context, flt audit.Filter) ([]audit.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []audit.Record
	for _, r := range f.records {
		if flt.VIN == "" || r.VIN == flt.VIN {
			out = append(out, r)
		}
	}
	return out, nil
}

// timelineEnv: the map's fixed fleet, where WBA12345678901234 also turned
// its ignition on and drove off an hour ago, and an operator immobilised it
// and sent lock_door to another vehicle.
func timelineEnv(t testing.TB) (*testEnv, *storeSource) {
	e := newEnv()
	src := withMapStore(t, e)
	st := src.s
	vin := "WBA12345678901234"
	h := testNow.Add(-time.Hour)
	fleetMsg(t, st, vin, "ignition", "state", `"off"`, h.Add(-time.Minute)) // older than the stored value: kept out
	fleetMsg(t, st, "XTA21000000000001", "ignition", "state", `"off"`, h)   // someone else's
	log := &fakeAudit{}
	log.add(record(1, "alice", audit.ActionCommandConfirmation, vin, "disable_ignition", audit.Entry{At: testNow.Add(-50 * time.Minute), Outcome: "confirmation issued"}))
	log.records[0].At = testNow.Add(-50 * time.Minute)
	log.add(record(2, "alice", audit.ActionCommandConfirm, vin, "disable_ignition",
		audit.Entry{At: testNow.Add(-49 * time.Minute), Outcome: "Pending id c-9", CommandID: "c-9"},
		audit.Entry{At: testNow.Add(-48 * time.Minute), Action: audit.ActionCommandStatus, Outcome: "Success", CommandID: "c-9"}))
	log.records[1].At = testNow.Add(-49 * time.Minute)
	log.add(record(3, "bob", audit.ActionCommandSend, "1FTFW1ET5DFC10312", "lock_door"))
	e.opts.Audit = log
	return e, src
}

// selectInClearance filters Clearance down to vin.
func selectInClearance(t *testing.T, m *Model, vin string) {
	t.Helper()
	drive(t, m, keyMsg("1"), keyMsg("/"))
	typeText(t, m, strings.ToLower(vin[:6]))
	drive(t, m, keyMsg("enter"))
	if got := m.clearance.selectedVIN(); got != vin {
		t.Fatalf("Clearance selected %q, want %q", got, vin)
	}
}

func TestTimelineFlow(t *testing.T) {
	t.Parallel()
	e, _ := timelineEnv(t)
	var out testlog.Buffer
	e.opts.Clipboard = &out
	m := started(t, e, 120, 30)
	selectInClearance(t, m, "WBA12345678901234")
	drive(t, m, keyMsg("t"))
	tl := topIs[*timelineView](t, &m.modals)
	v := m.View()
	mustContain(t, v, "Timeline · WBA12345678901234", "clearance 2 · commands 3 · telemetry 2")
	// Oldest first: the clearance of days ago, then the journal, then the feed.
	order := []string{"clearance pending", "clearance approved", "disable_ignition: code requested",
		"disable_ignition with the code", "disable_ignition finished", "first message on the feed", "last message on the feed"}
	last := -1
	for _, w := range order {
		i := strings.Index(v, w)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order:\n%s", w, v)
		}
		last = i
	}
	mustContain(t, v, "code issued (never recorded) · by ssh:alice")
	mustNotContain(t, v, "lock_door") // another vehicle's
	if tl.win.cursor != len(tl.shown)-1 {
		t.Fatal("the timeline should open at now (the newest line)")
	}
	// Filter by kind: clearance, commands, telemetry, all.
	drive(t, m, keyMsg("f"))
	mustContain(t, m.View(), "only clearance")
	if len(tl.shown) != 2 {
		t.Fatalf("%d clearance lines, want 2", len(tl.shown))
	}
	drive(t, m, keyMsg("f"))
	mustNotContain(t, m.View(), "clearance approved")
	drive(t, m, keyMsg("f"), keyMsg("f"))
	mustContain(t, m.View(), "all: clearance")
	// Copy the selected line: OSC 52 on the session's own output.
	drive(t, m, keyMsg("k"), keyMsg("c"))
	want := "2025-03-14 11:59:58  telemetry  first message on the feed"
	if n := m.notes.entries; len(n) == 0 || !strings.HasPrefix(n[len(n)-1].text, "copied the timeline line to the clipboard (OSC 52)") {
		t.Fatalf("no notification of the copy: %+v", n)
	}
	if !strings.Contains(out.String(), "\x1b]52;c;"+base64.StdEncoding.EncodeToString([]byte(want))) {
		t.Fatalf("no OSC 52 with the line on the output: %q", out.String())
	}
	// Jump to now reloads and goes to the newest line.
	drive(t, m, keyMsg("g"), keyMsg("n"))
	if tl.win.cursor != len(tl.shown)-1 {
		t.Fatal("n should jump to now")
	}
	drive(t, m, keyMsg("esc"))
	if m.modals.active() {
		t.Fatal("esc should close the timeline")
	}
	mustContain(t, m.View(), "[1 Clearance]")
}

// t works from every view, on that view's selection.
func TestTimelineFromEveryView(t *testing.T) {
	t.Parallel()
	e, _ := timelineEnv(t)
	m := started(t, e, 80, 24)
	for _, k := range []string{"1", "2", "3", "4"} {
		drive(t, m, keyMsg(k))
		want := m.selectedVehicle()
		drive(t, m, keyMsg("t"))
		tl := topIs[*timelineView](t, &m.modals)
		if tl.vin != want || want == "" {
			t.Fatalf("view %s: timeline of %q, want the selected %q", k, tl.vin, want)
		}
		drive(t, m, keyMsg("esc"))
	}
}

// With nothing selected, t says so.
func TestTimelineWithoutSelection(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Telemetry = nil
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("4"), keyMsg("t"))
	topIs[*message](t, &m.modals)
	mustContain(t, m.View(), "No vehicle selected: select one in any view, then press t.")
	drive(t, m, keyMsg("x"))
	if m.modals.active() {
		t.Fatal("any key should close the message")
	}
}

func TestTimelineGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("timeline_%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Parallel()
			e, _ := timelineEnv(t)
			m := e.model(t)
			tm := runProgram(t, m, sz[0], sz[1])
			for _, k := range []string{"/", "w", "b", "a", "enter", "t"} {
				tm.Send(keyMsg(k))
			}
			waitOutput(t, tm, "telemetry 2")
			view := finalView(t, tm)
			checkFrame(t, view, sz[0], sz[1])
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

// chartEnv: WBA12345678901234's speed over five minutes after it was
// selected in Telemetry, which watches it.
func chartSamples(t testing.TB, st *stream.Store) {
	speeds := []float64{0, 12, 25, 38, 47, 52, 49, 44, 30, 18, 6, 0, 0, 9, 22, 35, 41, 44, 40, 33}
	for i, s := range speeds {
		fleetMsg(t, st, "WBA12345678901234", "diagnostics", "speed", fmt.Sprintf(`{"unit":"kilometers_per_hour","value":%g}`, s),
			testNow.Add(time.Duration(i*15)*time.Second))
	}
}

// openSpeedChart selects the BMW in Telemetry, feeds it, and opens the
// chart of its speed.
func openSpeedChart(t *testing.T, m *Model, st *stream.Store) {
	t.Helper()
	drive(t, m, keyMsg("2"))
	m.telemetry.SelectVehicle("WBA12345678901234", true)
	chartSamples(t, st)
	m.telemetry.loadProps()
	drive(t, m, keyMsg("right"))
	for i, p := range m.telemetry.props {
		if p.Capability == "diagnostics" && p.Name == "speed" {
			m.telemetry.pwin.set(i)
		}
	}
	drive(t, m, keyMsg("enter"))
}

func TestChartOfANumber(t *testing.T) {
	t.Parallel()
	e := newEnv()
	src := withMapStore(t, e)
	m := started(t, e, 100, 30)
	openSpeedChart(t, m, src.s)
	cv := topIs[*chartView](t, &m.modals)
	if !cv.hasTrace || len(cv.trace.Samples) != 21 {
		t.Fatalf("chart has %d samples (trace %v), want the latest value and the 20 since selection", len(cv.trace.Samples), cv.hasTrace)
	}
	v := m.View()
	mustContain(t, v, "Chart · diagnostics.speed · WBA12345678901234 · km/h",
		"min 0 km/h · max 52 km/h · last 33 km/h at 12:04:45 · 21 values", "12:00:00", "recording since 12:00:00")
	// Both axes, the y one labelled from zero.
	mustContain(t, v, "└───", " 0└", "│")
	// Esc returns; the chart's watch ends, Telemetry's stays.
	drive(t, m, keyMsg("esc"))
	if m.modals.active() {
		t.Fatal("esc should close the chart")
	}
	if _, ok := src.s.Trace("WBA12345678901234", "diagnostics", "speed"); !ok {
		t.Fatal("closing the chart ended the selected vehicle's history")
	}
	// Selecting another vehicle ends it.
	m.telemetry.SelectVehicle("VF1AB000123456789", true)
	if _, ok := src.s.Trace("WBA12345678901234", "diagnostics", "speed"); ok {
		t.Fatal("the history outlived the selection")
	}
	// Enter on a property that is not a number opens nothing.
	drive(t, m, keyMsg("right"))
	for i, p := range m.telemetry.props {
		if p.Name == "coordinates" {
			m.telemetry.pwin.set(i)
		}
	}
	drive(t, m, keyMsg("enter"))
	if m.modals.active() {
		t.Fatal("enter on coordinates opened something")
	}
}

// A source without the long history charts the short ring, and says so.
func TestChartWithoutHistory(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 100, 30)
	drive(t, m, keyMsg("2"), keyMsg("right"), keyMsg("enter"))
	topIs[*chartView](t, &m.modals)
	mustContain(t, m.View(), "charging.battery_level", "min 70.0 % · max 81.0 % · last 81.0 % · 7 values", "the last 7 values, one per message, times not kept")
}

func TestChartGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("chart_%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Parallel()
			e := newEnv()
			src := withMapStore(t, e)
			m := started(t, e, sz[0], sz[1])
			openSpeedChart(t, m, src.s)
			view := m.View()
			checkFrame(t, view, sz[0], sz[1])
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

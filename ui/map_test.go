package ui

import (
	"fmt"
	"io"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/stream"
)

// storeSource (bench_test.go) gives the map, the timeline and the charts
// what the pipeline gives them.
func (s *storeSource) Positions(dst []stream.Position) []stream.Position { return s.s.Positions(dst) }
func (s *storeSource) Events(id string) (stream.VehicleEvents, bool)     { return s.s.Events(id) }
func (s *storeSource) Gaps() []stream.Gap                                { return nil }
func (s *storeSource) Watch(id string) (func(), bool)                    { return s.s.Watch(id) }
func (s *storeSource) Trace(id, capability, property string) (stream.Trace, bool) {
	return s.s.Trace(id, capability, property)
}

// fleetMsg applies one message to st (value or failure) at at.
func fleetMsg(tb testing.TB, st *stream.Store, id, capability, property, data string, at time.Time) {
	tb.Helper()
	m := &stream.Message{Vehicle: id, Pseudonym: len(id) > 17, Capability: capability, Property: property,
		Data: []byte(data), Timestamp: at, Arrival: at, MessageID: []byte(fmt.Sprint(id, property, at.UnixNano()))}
	if err := st.Apply(m); err != nil {
		tb.Fatal(err)
	}
}

type mapVehicle struct {
	id              string
	lat, lon        float64
	speed, heading  float64
	ignition        string
	ageSec          int
	withoutPosition bool
}

// mapFleet is the fixed fleet of the map's goldens: around the Gulf of
// Finland, two approved VINs of sampleFleet (one moving east, one parked),
// a rejected one and a pending one (no clearance, one of them stale), a
// pseudonym, and one vehicle that never sent a position.
var mapFleet = []mapVehicle{
	{id: "WBA12345678901234", lat: 59.4370, lon: 24.7536, speed: 42, heading: 90, ignition: "on", ageSec: 2},
	{id: "1FTFW1ET5DFC10312", lat: 59.4400, lon: 24.7300, speed: 0, heading: 0, ignition: "off", ageSec: 5},
	{id: "VF1AB000123456789", lat: 60.1699, lon: 24.9384, speed: 30, heading: 200, ignition: "on", ageSec: 3},
	{id: "WDD1234567A123456", lat: 59.3300, lon: 24.4000, speed: 0, heading: 0, ignition: "lock", ageSec: 40 * 60},
	{id: "26ace7941b2c3d4e5f60718293a4b5c6d7e8f901", lat: 60.2000, lon: 24.6500, speed: 0, heading: 0, ignition: "off", ageSec: 8},
	{id: "YV1AAAAA1BB222222", withoutPosition: true, ageSec: 1},
}

func mapStore(tb testing.TB) *stream.Store {
	st := stream.NewStore(stream.StoreOptions{Now: func() time.Time { return testNow }})
	for _, v := range mapFleet {
		at := testNow.Add(-time.Duration(v.ageSec) * time.Second)
		fleetMsg(tb, st, v.id, "diagnostics", "speed", fmt.Sprintf(`{"unit":"kilometers_per_hour","value":%g}`, v.speed), at)
		if v.withoutPosition {
			continue
		}
		fleetMsg(tb, st, v.id, "ignition", "state", fmt.Sprintf("%q", v.ignition), at)
		fleetMsg(tb, st, v.id, "vehicle_location", "heading", fmt.Sprintf(`{"unit":"degrees","value":%g}`, v.heading), at)
		fleetMsg(tb, st, v.id, "vehicle_location", "coordinates", fmt.Sprintf(`{"latitude":%g,"longitude":%g}`, v.lat, v.lon), at)
	}
	return st
}

// withMapStore puts the fixed fleet's store behind the console.
func withMapStore(tb testing.TB, e *testEnv) *storeSource {
	src := &storeSource{s: mapStore(tb), ch: make(chan stream.Batch)}
	e.opts.Telemetry = src
	return src
}

func TestMapGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("map_%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Parallel()
			e := newEnv()
			withMapStore(t, e)
			m := e.model(t)
			tm := runProgram(t, m, sz[0], sz[1])
			tm.Send(keyMsg("4"))
			waitOutput(t, tm, "5 on the map")
			view := finalView(t, tm)
			checkFrame(t, view, sz[0], sz[1])
			mustContain(t, view, "[4 Map]", "1 without a position", "fitted to the fleet", "°N", "°E", "456789", "123456")
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

// TestSelectOnMap: enter selects the vehicle nearest the centre mark, and
// the selection reaches Telemetry, Clearance and Commands.
func TestSelectOnMap(t *testing.T) {
	t.Parallel()
	e := newEnv()
	withMapStore(t, e)
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("2"))
	if m.telemetry.selID == "WBA12345678901234" {
		t.Fatal("setup: Telemetry starts on the vehicle the test selects")
	}
	drive(t, m, keyMsg("4"))
	if m.mapv.selID != m.telemetry.selID {
		t.Fatalf("the map starts on %q, want Telemetry's selection %q", m.mapv.selID, m.telemetry.selID)
	}
	// No further out than the world.
	for i := 0; i < 30; i++ {
		drive(t, m, keyMsg("-"))
	}
	if m.mapv.view.dpd < m.mapv.worldScale()-1e-9 {
		t.Fatalf("zoomed out to %v dots a degree, past the world's %v", m.mapv.view.dpd, m.mapv.worldScale())
	}
	drive(t, m, keyMsg("f"))
	// Zoom in on Tallinn: pan south-east of the fleet's middle and zoom.
	for m.mapv.view.lat > 59.5 {
		drive(t, m, keyMsg("j"))
	}
	for m.mapv.view.lon > 24.8 {
		drive(t, m, keyMsg("h"))
	}
	for i := 0; i < 4; i++ {
		drive(t, m, keyMsg("+"))
	}
	if m.mapv.auto {
		t.Fatal("panning and zooming should stop fitting the fleet")
	}
	// Centre exactly on the moving BMW, then press enter.
	m.mapv.view.lat, m.mapv.view.lon = 59.4372, 24.7530
	drive(t, m, keyMsg("enter"))
	const want = "WBA12345678901234"
	if m.mapv.selID != want {
		t.Fatalf("map selected %q, want %q", m.mapv.selID, want)
	}
	if m.telemetry.selID != want {
		t.Fatalf("Telemetry selected %q, want %q", m.telemetry.selID, want)
	}
	if got := m.clearance.selectedVIN(); got != want {
		t.Fatalf("Clearance selected %q, want %q", got, want)
	}
	if got := m.commands.selectedVIN(); got != want {
		t.Fatalf("Commands selected %q, want %q", got, want)
	}
	v := m.View()
	mustContain(t, v, "▸ WBA12345678901234 moving · 42 km/h · heading 90° E · ignition on · 59.43700, …")
	drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 30})
	mustContain(t, m.View(), "ignition on · 59.43700, 24.75360 · fix 2s ago")
	drive(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	// A vehicle selected elsewhere: . goes to it.
	drive(t, m, keyMsg("f"))
	m.mapv.selID = "VF1AB000123456789"
	before := m.mapv.view.dpd
	drive(t, m, keyMsg("."))
	if v := m.mapv.view; v.lat != 60.1699 || v.lon != 24.9384 || v.dpd <= before || m.mapv.auto {
		t.Fatalf(". left the view at %+v (auto %v), want centred on Helsinki and closer", v, m.mapv.auto)
	}
	m.mapv.selID = "YV1AAAAA1BB222222"
	drive(t, m, keyMsg("."))
	if v := m.mapv.view; v.lat != 60.1699 {
		t.Fatal(". on a vehicle without a position moved the map")
	}
	mustContain(t, m.View(), "▸ YV1AAAAA1BB222222 · no position on the feed")
	// f fits the fleet again.
	drive(t, m, keyMsg("f"))
	if !m.mapv.auto {
		t.Fatal("f should fit the fleet again")
	}
	mustContain(t, m.View(), "fitted to the fleet")
	// A click selects the vehicle drawn nearest to it.
	p := m.mapv.projection()
	x, y := p.dots(60.1699, 24.9384)
	cx, cy := int(x)/2, int(y)/4
	drive(t, m, tea.MouseMsg{X: cx, Y: m.lay.content[paneMap].y + m.mapv.lay.canvasTop + cy, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if m.mapv.selID != "VF1AB000123456789" || m.telemetry.selID != "VF1AB000123456789" {
		t.Fatalf("a click near Helsinki selected %q (Telemetry %q)", m.mapv.selID, m.telemetry.selID)
	}
}

func TestMapStates(t *testing.T) {
	t.Parallel()
	e := newEnv()
	withMapStore(t, e)
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("4"))
	m.c.immob = &immobilisedSet{byVIN: map[string]immobilisation{"1FTFW1ET5DFC10312": {since: testNow.Add(-time.Hour)}}}
	m.mapv.reload()
	got := map[string]string{}
	for _, it := range m.mapv.items {
		got[it.id] = mapStateNames[it.state]
	}
	want := map[string]string{
		"WBA12345678901234":                        "moving",       // approved, 42 km/h
		"1FTFW1ET5DFC10312":                        "immobilised",  // approved, but marked
		"VF1AB000123456789":                        "no clearance", // rejected
		"WDD1234567A123456":                        "no clearance", // pending (and stale: clearance wins)
		"26ace7941b2c3d4e5f60718293a4b5c6d7e8f901": "stopped",      // a pseudonym: its clearance cannot be known
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("states %v, want %v", got, want)
	}
	// Before any clearance list, nobody is marked as lacking clearance.
	e2 := newEnv()
	e2.opts.Fleet = nil
	withMapStore(t, e2)
	m2 := started(t, e2, 80, 24)
	drive(t, m2, keyMsg("4"))
	for _, it := range m2.mapv.items {
		if it.state == mapNoClearance {
			t.Fatalf("%s has no clearance though no list was read", it.id)
		}
		if it.id == "WDD1234567A123456" && it.state != mapStale {
			t.Fatalf("a vehicle silent for 40 minutes is %s, want stale", mapStateNames[it.state])
		}
	}
}

func TestMapWithoutPositions(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24) // the fake source keeps no positions
	drive(t, m, keyMsg("4"))
	mustContain(t, m.View(), "Map unavailable: this telemetry source keeps no positions")
	e := newEnv()
	e.opts.Telemetry = nil
	m = started(t, e, 80, 24)
	drive(t, m, keyMsg("4"))
	mustContain(t, m.View(), "Map disabled: no [telemetry] section in config")
	// An empty store: the world, and a line that says why it is empty.
	e = newEnv()
	e.opts.Telemetry = &storeSource{s: stream.NewStore(stream.StoreOptions{}), ch: make(chan stream.Batch)}
	m = started(t, e, 80, 24)
	drive(t, m, keyMsg("4"), keyMsg("enter"))
	mustContain(t, m.View(), "no vehicle has reported a position yet")
	if m.mapv.selID != "" {
		t.Fatal("enter on an empty map selected something")
	}
}

// The hint under an empty map names the keys as the keymap binds them.
func TestMapHintFollowsTheKeymap(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Telemetry = &storeSource{s: stream.NewStore(stream.StoreOptions{}), ch: make(chan stream.Batch)}
	e.opts.Keys = map[string][]string{"open": {"o"}, "timeline": {"T"}}
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("4"))
	mustContain(t, m.View(), "o: select the vehicle nearest the + in every view · T: its timeline")
}

// The wide layout shows the Map in Telemetry's column while it has focus.
func TestWideMapSharesTelemetrysColumn(t *testing.T) {
	t.Parallel()
	e := newEnv()
	withMapStore(t, e)
	m := started(t, e, 200, 50)
	v := m.View()
	mustContain(t, v, "Clearance", "Telemetry", "Commands")
	mustNotContain(t, v, "━ Map ", "─ Map ")
	drive(t, m, keyMsg("4"))
	v = m.View()
	mustContain(t, v, "┏━ Map ", "Clearance", "Commands", "5 on the map")
	mustNotContain(t, v, "─ Telemetry ")
	lines := strings.Split(v, "\n")
	if i := strings.Index(lines[1], "Map"); i < strings.Index(lines[1], "Clearance") || i > strings.Index(lines[1], "Commands") {
		t.Fatalf("the Map is not the middle column:\n%s", lines[1])
	}
	// Focus elsewhere: the Map stays in the middle, and keeps following the feed.
	drive(t, m, keyMsg("1"))
	mustContain(t, m.View(), "─ Map ")
	drive(t, m, keyMsg("2"))
	mustContain(t, m.View(), "━ Telemetry ")
	checkFrame(t, m.View(), 200, 50)
}

// The Map reads the positions whenever it comes back on screen, however
// it came back: here a console-wide modal over the wide layout closes on
// its own (a flow that ended), after the feed moved a vehicle behind it.
func TestMapReadsTheFeedWhenItReappears(t *testing.T) {
	t.Parallel()
	e := newEnv()
	src := withMapStore(t, e)
	m := started(t, e, 200, 50)
	drive(t, m, keyMsg("4"), keyMsg("1"))
	mustContain(t, m.View(), "─ Map ")
	fm := &fakeModal{capturing: true}
	drive(t, m, openModalMsg{ov: fm})
	fleetMsg(t, src.s, "WBA12345678901234", "vehicle_location", "coordinates", `{"latitude":59.5,"longitude":24.9}`, testNow)
	drive(t, m, envelope{pane: paneTelemetry, msg: batchMsg{ok: true, b: stream.Batch{Seq: 1, Changed: []string{"WBA12345678901234"},
		State: stream.ConnState{Phase: stream.Connected}, At: testNow}}})
	drive(t, m, closeModalMsg{ov: fm})
	mustContain(t, m.View(), "─ Map ")
	for _, it := range m.mapv.items {
		if it.id == "WBA12345678901234" && it.lat != 59.5 {
			t.Fatalf("the map shows the BMW at %v, %v: it did not read the feed when it came back", it.lat, it.lon)
		}
	}
}

func TestScaleAndCompass(t *testing.T) {
	for _, c := range []struct {
		deg  float64
		want string
	}{{0, "N"}, {44, "NE"}, {90, "E"}, {200, "S"}, {359, "N"}, {-90, "W"}} {
		if got := compass(c.deg); got != c.want {
			t.Errorf("compass(%v) = %s, want %s", c.deg, got, c.want)
		}
	}
	// At 100 dots a degree a cell is 2.2 km: a 10 km bar is 4 cells.
	if got := scaleBar(100); got != "├──┤ 10 km" {
		t.Errorf("scale bar %q", got)
	}
	if got := gridStep(7); got != 2 {
		t.Errorf("grid step for 7° = %v, want 2", got)
	}
}

// BenchmarkMapView: the Map drawn with 10,000 vehicles on it (spread over
// Europe, half of them moving with a heading) at both sizes, in colour, and
// the Telemetry view of the same console for comparison. Besides wall time
// it reports cpu-ns/op (the process's CPU time), which a busy machine
// disturbs less.
func BenchmarkMapView(b *testing.B) {
	for _, sz := range [][2]int{{200, 50}, {80, 24}} {
		for _, pane := range []string{"4", "2"} {
			b.Run(fmt.Sprintf("%dx%d/pane%s", sz[0], sz[1], pane), func(b *testing.B) {
				m := mapBenchModel(b, sz[0], sz[1])
				drive(b, m, keyMsg(pane))
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					_ = m.View()
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// cpuTime is the process's user and system time so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkMapBatch is a feed batch while the Map shows: the 10,000
// positions read again and classified (Update), then the frame (View).
func BenchmarkMapBatch(b *testing.B) {
	m := mapBenchModel(b, 200, 50)
	batch := envelope{pane: paneTelemetry, msg: batchMsg{ok: true, b: stream.Batch{Changed: []string{"x"}, State: stream.ConnState{Phase: stream.Connected}, At: testNow}}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		m.Update(batch)
		_ = m.View()
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
}

func mapBenchModel(b *testing.B, w, h int) *Model {
	e := newEnv()
	st := stream.NewStore(stream.StoreOptions{Now: func() time.Time { return testNow }})
	for i := 0; i < 10_000; i++ {
		id := fmt.Sprintf("WBA%014d", i)
		// A spiral over Europe, denser in the middle, like fleets in cities.
		r := math.Sqrt(float64(i)) / 100 * 12
		a := float64(i) * 2.399
		lat, lon := 50+r*math.Sin(a), 10+r*math.Cos(a)*1.6
		fleetMsg(b, st, id, "diagnostics", "speed", fmt.Sprint(i%2*40), testNow)
		fleetMsg(b, st, id, "vehicle_location", "heading", fmt.Sprint(i%360), testNow)
		fleetMsg(b, st, id, "vehicle_location", "coordinates", fmt.Sprintf(`{"latitude":%.5f,"longitude":%.5f}`, lat, lon), testNow)
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	e.fleet = bigFleet(10_000)
	e.opts.Renderer, e.opts.Fleet = r, e.fleet
	e.opts.Telemetry = &storeSource{s: st, ch: make(chan stream.Batch)}
	m := e.model(b)
	drive(b, m, tea.WindowSizeMsg{Width: w, Height: h})
	settle(b, m, m.Init())
	drive(b, m, keyMsg("4"))
	if len(m.mapv.items) != 10_000 {
		b.Fatalf("setup: %d vehicles on the map", len(m.mapv.items))
	}
	return m
}

// With a journal, the narrow layout keeps a strip of it under the Map as
// under the other lists: the frame still fits the screen, in colour too.
func TestMapFrameWithJournalStrip(t *testing.T) {
	t.Parallel()
	for _, sz := range [][2]int{{140, 40}, {80, 24}} {
		e := newEnv()
		withMapStore(t, e)
		e.opts.Audit = &fakeAudit{}
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.ANSI256)
		e.opts.Renderer = r
		m := started(t, e, sz[0], sz[1])
		drive(t, m, keyMsg("4"))
		v := m.View()
		checkFrame(t, v, sz[0], sz[1])
		plain := ansi.Strip(v)
		mustContain(t, plain, "5 on the map")
		if sz[1] >= 40 {
			mustContain(t, plain, "Journal (every operator")
		}
	}
}

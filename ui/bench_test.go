package ui

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
)

// storeSource is a TelemetrySource over a real stream.Store, filled directly.
type storeSource struct {
	s  *stream.Store
	ch chan stream.Batch
}

func (s *storeSource) Subscribe(ctx context.Context) <-chan stream.Batch { return s.ch }
func (s *storeSource) Vehicles() []stream.VehicleSummary                 { return s.s.Vehicles() }
func (s *storeSource) Vehicle(id string) []stream.Property               { return s.s.Vehicle(id) }
func (s *storeSource) State() stream.ConnState {
	return stream.ConnState{Phase: stream.Connected}
}

// bigStore holds n vehicles; the first has props properties with history.
func bigStore(tb testing.TB, n, props int) *stream.Store {
	st := stream.NewStore(stream.StoreOptions{Now: func() time.Time { return testNow }})
	msg := func(id, capa, prop string, v float64, at time.Time) {
		m := &stream.Message{Vehicle: id, Capability: capa, Property: prop, Data: []byte(fmt.Sprintf("%.1f", v)),
			Timestamp: at, Arrival: at, MessageID: []byte(fmt.Sprintf("%s/%s/%d", id, prop, at.UnixNano()))}
		if err := st.Apply(m); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("WBA%014d", i)
		msg(id, "diagnostics", "odometer", float64(i), testNow.Add(-time.Duration(i%600)*time.Second))
	}
	first := fmt.Sprintf("WBA%014d", 0)
	for p := 0; p < props-1; p++ { // plus the odometer every vehicle has
		for k := 0; k < 32; k++ {
			msg(first, "charging", fmt.Sprintf("prop_%02d", p), float64(k*p%17), testNow.Add(time.Duration(k-40)*time.Second))
		}
	}
	return st
}

func bigFleet(n int) *fakeFleet {
	f := sampleFleet()
	f.vehicles = make([]fleet.Vehicle, n)
	states := []fleet.Status{fleet.StatusApproved, fleet.StatusPending, fleet.StatusRevoked, fleet.StatusRejected}
	for i := range f.vehicles {
		f.vehicles[i] = fleet.Vehicle{VIN: fmt.Sprintf("WBA%014d", i), Brand: "bmw", Status: states[i%len(states)],
			Changelog: []fleet.Change{change(i%30, states[i%len(states)], "")}, Tags: map[string]string{"depot": "berlin"}}
	}
	return f
}

// benchModel is the whole console with 10,000 vehicles on the feed (20
// properties on the selected one) and 10,000 in the clearance list, drawn
// with colours (TrueColor), which is the expensive case.
func benchModel(b *testing.B, w, h int) (*Model, *storeSource) {
	e := newEnv()
	e.fleet = bigFleet(10_000)
	src := &storeSource{s: bigStore(b, 10_000, 20), ch: make(chan stream.Batch)}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	e.opts.Renderer, e.opts.Fleet, e.opts.Telemetry = r, e.fleet, src
	m := e.model(b)
	drive(b, m, tea.WindowSizeMsg{Width: w, Height: h})
	settle(b, m, m.Init())
	if len(m.clearance.rows) != 10_000 || len(m.telemetry.vehicles) != 10_000 || len(m.telemetry.props) != 20 {
		b.Fatalf("setup: %d clearance rows, %d feed vehicles, %d properties", len(m.clearance.rows), len(m.telemetry.vehicles), len(m.telemetry.props))
	}
	return m, src
}

func BenchmarkView(b *testing.B) {
	for _, sz := range [][2]int{{200, 50}, {80, 24}} {
		for _, pane := range []string{"1", "2", "3"} {
			b.Run(fmt.Sprintf("%dx%d/pane%s", sz[0], sz[1], pane), func(b *testing.B) {
				m, _ := benchModel(b, sz[0], sz[1])
				drive(b, m, keyMsg(pane))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkBatchThenKey is what a key press costs while the feed is busy:
// a full batch (10,000 vehicles re-read), a key, and the redraw.
func BenchmarkBatchThenKey(b *testing.B) {
	m, _ := benchModel(b, 200, 50)
	drive(b, m, keyMsg("2"))
	down, up := keyMsg("down"), keyMsg("up")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch := envelope{pane: paneTelemetry, seq: uint64(i + 1), msg: batchMsg{ok: true, b: stream.Batch{
			Seq: uint64(i + 1), Full: true, State: stream.ConnState{Phase: stream.Connected}, At: testNow.Add(time.Duration(i) * 100 * time.Millisecond)}}}
		m.Update(batch) // its follow-up command (the next read) is not run
		k := down
		if i%2 == 1 {
			k = up
		}
		m.Update(k)
		_ = m.View()
	}
}

// BenchmarkClearanceScroll: a key press in the 10,000-row clearance table.
func BenchmarkClearanceScroll(b *testing.B) {
	m, _ := benchModel(b, 80, 24)
	pg := keyMsg("pgdown")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update(pg)
		_ = m.View()
	}
}

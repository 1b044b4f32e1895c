package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/theme"
)

// testNow is the fixed clock of every test: goldens must not move.
var testNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	r.SetHasDarkBackground(true)
	return r
}

// --- fleet -------------------------------------------------------------

type fakeFleet struct {
	mu       sync.Mutex
	vehicles []fleet.Vehicle
	listErr  error
	lists    int
	added    [][]fleet.NewVehicle
	addRes   func([]fleet.NewVehicle) ([]fleet.AddResult, error)
	deleted  []string
	delErr   error
	delFail  map[string]error // per VIN, before delErr
	elig     fleet.Eligibility
	eligOf   []string // "VIN brand" of each eligibility asked
	until    time.Time
}

func (f *fakeFleet) List(ctx context.Context, _ *fleet.Filter) ([]fleet.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	if f.listErr != nil {
		return nil, f.listErr
	}
	return append([]fleet.Vehicle(nil), f.vehicles...), nil
}

func (f *fakeFleet) Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, vs)
	if f.addRes != nil {
		return f.addRes(vs)
	}
	out := make([]fleet.AddResult, len(vs))
	for i, v := range vs {
		out[i] = fleet.AddResult{VIN: v.VIN, Status: fleet.StatusPending}
	}
	return out, nil
}

func (f *fakeFleet) Delete(ctx context.Context, vin string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, vin)
	if err, ok := f.delFail[vin]; ok {
		return err
	}
	return f.delErr
}

func (f *fakeFleet) Eligibility(ctx context.Context, vin, brand string) (fleet.Eligibility, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.eligOf = append(f.eligOf, vin+" "+brand)
	e := f.elig
	e.VIN = vin
	return e, nil
}

func (f *fakeFleet) TokenValidUntil() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.until
}

func (f *fakeFleet) calls() (lists int, added [][]fleet.NewVehicle, deleted []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists, append([][]fleet.NewVehicle(nil), f.added...), append([]string(nil), f.deleted...)
}

func change(daysAgo int, s fleet.Status, reason string) fleet.Change {
	return fleet.Change{Timestamp: testNow.Add(-time.Duration(daysAgo) * 24 * time.Hour), Status: s, Reason: reason}
}

// sampleFleet is the fixed fleet the goldens show.
func sampleFleet() *fakeFleet {
	return &fakeFleet{
		until: testNow.Add(4*time.Minute + 12*time.Second),
		elig:  fleet.Eligibility{Eligible: true, DataDelivery: []string{"pull", "push"}, ConnectivityStatus: "activated"},
		vehicles: []fleet.Vehicle{
			{VIN: "WBA12345678901234", Brand: "bmw", Status: fleet.StatusApproved, Changelog: []fleet.Change{change(9, fleet.StatusPending, ""), change(8, fleet.StatusApproved, "")}, Tags: map[string]string{"depot": "berlin"}},
			{VIN: "WDD1234567A123456", Brand: "mercedes-benz", Status: fleet.StatusPending, Changelog: []fleet.Change{change(1, fleet.StatusPending, "")}},
			{VIN: "VF1AB000123456789", Brand: "renault", Status: fleet.StatusRejected, Changelog: []fleet.Change{change(5, fleet.StatusPending, ""), change(4, fleet.StatusRejected, "odometer does not match the vehicle")}},
			{VIN: "WVWZZZ1KZAW000001", Brand: "volkswagen", Status: fleet.StatusRevoking, Changelog: []fleet.Change{change(3, fleet.StatusRevoking, "")}},
			{VIN: "YV1AAAAA1BB222222", Brand: "volvo-cars", Status: fleet.StatusRevoked, Changelog: []fleet.Change{change(20, fleet.StatusRevoked, "")}},
			{VIN: "ZFA31200000123456", Brand: "fiat", Status: fleet.StatusCanceled, Changelog: []fleet.Change{change(30, fleet.StatusCanceled, "")}},
			{VIN: "VR3UPHNKSJT123456", Brand: "peugeot", Status: "paused-by-oem", Changelog: []fleet.Change{change(2, "paused-by-oem", "")}},
			{VIN: "1FTFW1ET5DFC10312", Brand: "ford", Status: fleet.StatusApproved, Changelog: []fleet.Change{change(12, fleet.StatusApproved, "")}, Tags: map[string]string{"depot": "lisbon", "team": "b"}},
		},
	}
}

// --- commands ----------------------------------------------------------

type sendCall struct{ vin, command, code string }

type fakeCommands struct {
	mu     sync.Mutex
	sends  []sendCall
	onSend func(n int, c sendCall) (commands.SendResult, error)
	status func(id string, n int) (commands.Command, error)
	polls  int
}

func (f *fakeCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	f.mu.Lock()
	c := sendCall{vin, command, code}
	f.sends = append(f.sends, c)
	n := len(f.sends)
	on := f.onSend
	f.mu.Unlock()
	if on == nil {
		return commands.SendResult{Command: &commands.Command{ID: fmt.Sprintf("id-%d", n), VIN: vin, Command: command, Status: commands.StatusPending}}, nil
	}
	return on(n, c)
}

func (f *fakeCommands) Status(ctx context.Context, id string) (commands.Command, error) {
	f.mu.Lock()
	f.polls++
	n := f.polls
	st := f.status
	f.mu.Unlock()
	if st == nil {
		return commands.Command{ID: id, Status: commands.StatusSuccess, Updated: testNow.Add(2 * time.Second)}, nil
	}
	return st(id, n)
}

func (f *fakeCommands) calls() []sendCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sendCall(nil), f.sends...)
}

// --- telemetry ---------------------------------------------------------

type fakeTelemetry struct {
	mu       sync.Mutex
	vehicles []stream.VehicleSummary
	props    map[string][]stream.Property
	state    stream.ConnState
	ch       chan stream.Batch
}

func (f *fakeTelemetry) Subscribe(ctx context.Context) <-chan stream.Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		f.ch = make(chan stream.Batch, 1)
	}
	out := make(chan stream.Batch)
	in := f.ch
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-in:
				select {
				case out <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func (f *fakeTelemetry) push(b stream.Batch) {
	f.mu.Lock()
	ch := f.ch
	f.mu.Unlock()
	ch <- b
}

func (f *fakeTelemetry) Vehicles() []stream.VehicleSummary {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]stream.VehicleSummary(nil), f.vehicles...)
}

func (f *fakeTelemetry) Vehicle(id string) []stream.Property {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]stream.Property(nil), f.props[id]...)
}

func (f *fakeTelemetry) State() stream.ConnState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

func sampleTelemetry() *fakeTelemetry {
	seen := func(s int) time.Time { return testNow.Add(-time.Duration(s) * time.Second) }
	return &fakeTelemetry{
		state: stream.ConnState{Phase: stream.Connected},
		vehicles: []stream.VehicleSummary{
			{ID: "1FTFW1ET5DFC10312", LastSeen: seen(2), Rate: 1.2, Properties: 3},
			{ID: "26ace7941b2c3d4e5f60718293a4b5c6d7e8f901", Pseudonym: true, LastSeen: seen(4), Rate: 0.5, Properties: 1},
			{ID: "WBA12345678901234", LastSeen: seen(40 * 60), Rate: 0, Stale: true, Properties: 0},
		},
		props: map[string][]stream.Property{
			"1FTFW1ET5DFC10312": {
				{Capability: "charging", Name: "battery_level", Value: "81", Unit: "%", Numeric: true, Number: 81, SourceTime: seen(3), History: []float64{70, 72, 75, 74, 78, 80, 81}},
				{Capability: "diagnostics", Name: "odometer", Value: "12345.6", Unit: "km", Numeric: true, Number: 12345.6, SourceTime: seen(65)},
				{Capability: "doors", Name: "locks_state", Failure: &stream.Failure{Reason: "unsupported", Description: "not available for this model"}},
			},
		},
	}
}

type fakePlatform struct{ state platform.AuthState }

func (f fakePlatform) State() platform.AuthState { return f.state }

// --- model -------------------------------------------------------------

type testEnv struct {
	fleet *fakeFleet
	cmds  *fakeCommands
	tele  *fakeTelemetry
	opts  Options
}

func newEnv() *testEnv {
	e := &testEnv{fleet: sampleFleet(), cmds: &fakeCommands{}, tele: sampleTelemetry()}
	e.opts = Options{
		Renderer: asciiRenderer(), Profile: "", Sandbox: true,
		Fleet: e.fleet, Commands: e.cmds, Telemetry: e.tele, Platform: fakePlatform{platform.AuthOK},
		PollInterval: time.Hour, Now: func() time.Time { return testNow },
	}
	return e
}

func (e *testEnv) model(t testing.TB) *Model {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m, err := New(ctx, e.opts)
	if err != nil {
		t.Fatal(err)
	}
	m.c.Zone = time.UTC
	// Timers of a second or more (clock, list polling) never fire in these
	// tests; shorter ones (command status polls) fire at once.
	m.c.timer = func(d time.Duration, msg tea.Msg) tea.Cmd {
		if d >= time.Second {
			return nil
		}
		return func() tea.Msg { return msg }
	}
	m.commands.pollFirst, m.commands.pollMax = time.Millisecond, 5*time.Millisecond
	return m
}

// testCommon is what the panes share, as New builds it, for tests that
// drive one pane alone.
func testCommon(t testing.TB, keys map[string][]string) *Common {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	km := keymap.Default()
	if err := km.Apply(keys); err != nil {
		t.Fatal(err)
	}
	return &Common{
		Ctx: ctx, Styles: NewStyles(asciiRenderer(), theme.Palette{}), Keys: km, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow }, Zone: time.UTC, marks: newMarkSet(),
		timer: func(d time.Duration, msg tea.Msg) tea.Cmd {
			if d >= time.Second {
				return nil
			}
			return func() tea.Msg { return msg }
		},
	}
}

// --- a synchronous driver for Update ------------------------------------

// drive applies msg (to the console or to one pane), then runs the commands it returns and feeds their
// messages back, until nothing more arrives within a short wait. Timers
// longer than the wait (clock, poll) are simply never delivered.
func drive(t testing.TB, m tea.Model, msgs ...tea.Msg) {
	t.Helper()
	for _, msg := range msgs {
		_, cmd := m.Update(msg)
		settle(t, m, cmd)
	}
}

func settle(t testing.TB, m tea.Model, cmd tea.Cmd) {
	t.Helper()
	round := []tea.Cmd{cmd}
	for rounds := 0; len(round) > 0; rounds++ {
		if rounds > 100 {
			t.Fatal("drive: commands keep coming")
		}
		msgs := runRound(round, 150*time.Millisecond)
		round = nil
		for len(msgs) > 0 {
			msg := msgs[0]
			msgs = msgs[1:]
			switch msg := msg.(type) {
			case nil, clockMsg, tea.QuitMsg, spinner.TickMsg:
				continue
			case tea.BatchMsg:
				round = append(round, msg...)
				continue
			}
			if cmds, ok := sequenceCmds(msg); ok {
				round = append(round, cmds...)
				continue
			}
			_, next := m.Update(msg)
			if next != nil {
				round = append(round, next)
			}
		}
	}
}

// runRound runs cmds concurrently and returns, in order, the messages of
// those that finished before the deadline: timers (cursor blink, polls set
// to an hour) are left behind.
func runRound(cmds []tea.Cmd, wait time.Duration) []tea.Msg {
	type result struct {
		i   int
		msg tea.Msg
	}
	ch := make(chan result, len(cmds))
	n := 0
	for i, c := range cmds {
		if c == nil {
			continue
		}
		n++
		go func() { ch <- result{i, c()} }()
	}
	got := make([]tea.Msg, len(cmds))
	deadline := time.After(wait)
	for ; n > 0; n-- {
		select {
		case r := <-ch:
			got[r.i] = r.msg
		case <-deadline:
			return got
		}
	}
	return got
}

// sequenceCmds unpacks tea.Sequence's message, whose type is unexported
// (a []tea.Cmd underneath).
func sequenceCmds(msg tea.Msg) ([]tea.Cmd, bool) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Elem() != reflect.TypeOf((tea.Cmd)(nil)) {
		return nil, false
	}
	out := make([]tea.Cmd, v.Len())
	for i := range out {
		out[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return out, true
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "left":
		return tea.KeyMsg{Type: tea.KeyLeft}
	case "right":
		return tea.KeyMsg{Type: tea.KeyRight}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// typeText sends each rune of s as its own key press.
func typeText(t testing.TB, m tea.Model, s string) {
	t.Helper()
	for _, r := range s {
		drive(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

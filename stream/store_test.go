package stream

import (
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustApply(t testing.TB, s *Store, m Message) {
	t.Helper()
	if err := s.Apply(&m); err != nil {
		t.Fatal(err)
	}
}

func TestStoreLatestHistoryAndOrder(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := NewStore(StoreOptions{Now: func() time.Time { return now }})
	msg := func(vehicle, prop, data string, src time.Time) Message {
		return Message{Vehicle: vehicle, Capability: "diagnostics", Property: prop, Data: []byte(data), Timestamp: src, Arrival: now}
	}
	for i := 1; i <= 40; i++ {
		mustApply(t, s, msg("B", "speed", `{"unit":"kilometers_per_hour","value":`+strconv.Itoa(i)+`}`, now.Add(time.Duration(i)*time.Millisecond)))
	}
	// A late redelivery with an older source time does not replace the value.
	mustApply(t, s, msg("B", "speed", `{"unit":"kilometers_per_hour","value":1000}`, now.Add(-time.Hour)))
	mustApply(t, s, msg("A", "odometer", `{"unit":"kilometers","value":12.5}`, now.Add(-10*time.Minute))) // lagging source: stale
	mustApply(t, s, Message{Vehicle: "A", Capability: "doors", Property: "locks_state", Failure: &Failure{Reason: "rate_limit", Description: "later"}, Arrival: now})
	mustApply(t, s, msg("C", "fuel_level", `0.5`, now))

	vs := s.Vehicles()
	if len(vs) != 3 || vs[0].ID != "A" || vs[1].ID != "B" || vs[2].ID != "C" {
		t.Fatalf("vehicles %+v", vs)
	}
	if !vs[0].Stale || vs[1].Stale || vs[0].Properties != 2 {
		t.Errorf("stale/properties %+v", vs)
	}
	if vs[1].Rate <= 0 {
		t.Errorf("rate %v", vs[1].Rate)
	}

	b := s.Vehicle("B")
	if len(b) != 1 || b[0].Value != "40" || b[0].Unit != "km/h" || !b[0].Numeric {
		t.Fatalf("B %+v", b)
	}
	if h := b[0].History; len(h) != HistoryLen || h[0] != float64(40-HistoryLen+1) || h[HistoryLen-1] != 40 {
		t.Errorf("history %v", h)
	}
	a := s.Vehicle("A")
	if len(a) != 2 || a[0].Capability != "diagnostics" || a[1].Capability != "doors" {
		t.Fatalf("A %+v", a)
	}
	if a[1].Failure == nil || a[1].Failure.Reason != "rate_limit" || a[1].Failure.Description != "later" {
		t.Errorf("failure %+v", a[1])
	}
	if !a[0].Stale || a[0].Value != "12.5" || a[0].Unit != "km" {
		t.Errorf("odometer %+v", a[0])
	}
	if c := s.Vehicle("C"); c[0].Value != "50" || c[0].Unit != "%" {
		t.Errorf("fuel %+v", c[0])
	}
	if s.Vehicle("nope") != nil {
		t.Error("unknown vehicle")
	}

	// No update for StaleIdle: stale.
	now = now.Add(DefaultStaleIdle + time.Second)
	if vs := s.Vehicles(); !vs[2].Stale || !s.Vehicle("C")[0].Stale {
		t.Error("idle vehicle not stale")
	}
}

func TestStoreValueSlotsReused(t *testing.T) {
	s := NewStore(StoreOptions{})
	long := `"` + strings.Repeat("x", 100) + `"`
	for i := 0; i < 1000; i++ {
		data := `"short"`
		if i%3 == 0 {
			data = long
		}
		for p := 0; p < 5; p++ {
			mustApply(t, s, Message{Vehicle: "V", Capability: "c", Property: "p" + strconv.Itoa(p), Data: []byte(data), Arrival: time.Now()})
		}
		props := s.Vehicle("V")
		if props[0].Value != strings.Trim(data, `"`) {
			t.Fatalf("round %d: %q", i, props[0].Value)
		}
	}
	v := s.vehicles["V"]
	if cap(v.arena) > 4096 {
		t.Errorf("arena grew to %d bytes for 5 values", cap(v.arena))
	}
}

func TestStoreLimits(t *testing.T) {
	s := NewStore(StoreOptions{MaxVehicles: 2, MaxProps: 2, MaxNames: 3})
	m := func(v, p string) *Message {
		return &Message{Vehicle: v, Capability: "c", Property: p, Data: []byte("1"), Arrival: time.Now()}
	}
	for _, c := range []struct {
		m  *Message
		ok bool
	}{{m("a", "1"), true}, {m("b", "1"), true}, {m("c", "1"), false}, {m("a", "2"), true}, {m("a", "3"), false}, {m("b", "3"), true}, {m("b", "4"), false}} {
		if err := s.Apply(c.m); (err == nil) != c.ok {
			t.Errorf("%s.%s: %v", c.m.Vehicle, c.m.Property, err)
		}
	}
}

// fillStore applies samples rounds of every catalog property to n vehicles.
func fillStore(s *Store, n int, catalog []sampleProp, rounds int) {
	now := time.Now()
	var m Message
	for r := 0; r < rounds; r++ {
		for v := 0; v < n; v++ {
			id := sampleVehicle(v)
			for _, p := range catalog {
				m = Message{Vehicle: id, Pseudonym: true, Capability: p.capability, Property: p.property,
					Data: []byte(p.value(r + v)), Timestamp: now, Arrival: now}
				_ = s.apply(&m)
			}
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// footprintChildEnv marks the process TestStoreFootprint measures in.
const footprintChildEnv = "FLEETDECK_STORE_FOOTPRINT_CHILD"

// TestStoreFootprint measures the store at 10,000 vehicles × 20 properties
// with every history ring full. The process's RSS is measured in a process
// of its own: in the package's test process it would carry whatever the
// tests before it left behind, and pass or fail with their order.
func TestStoreFootprint(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("memory figures are meaningless under -race; takes a second")
	}
	if os.Getenv(footprintChildEnv) != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreFootprint$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), footprintChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a process of its own:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestStoreFootprint") {
			t.Fatalf("the footprint, measured in a process of its own: %v", err)
		}
		return
	}
	const vehicles = 10_000
	catalog := sampleCatalog()
	allNumeric := make([]sampleProp, 0, 20)
	for len(allNumeric) < 20 {
		for _, p := range catalog[:12] {
			if len(allNumeric) < 20 {
				p.property += strconv.Itoa(len(allNumeric))
				allNumeric = append(allNumeric, p)
			}
		}
	}
	for _, c := range []struct {
		name    string
		catalog []sampleProp
		limit   uint64
	}{{"mix", catalog, 4096}, {"all numeric", allNumeric, 4096}} {
		before := heapInUse()
		s := NewStore(StoreOptions{})
		fillStore(s, vehicles, c.catalog, HistoryLen+1)
		after := heapInUse()
		perVehicle := (after - before) / vehicles
		debug.FreeOSMemory()
		t.Logf("%s: %d vehicles × %d properties: heap %.1f MB, %d bytes/vehicle, process RSS %.1f MB",
			c.name, vehicles, len(c.catalog), float64(after-before)/1e6, perVehicle, float64(rssBytes())/1e6)
		if perVehicle > c.limit {
			t.Errorf("%s: %d bytes per vehicle, want ≤ %d", c.name, perVehicle, c.limit)
		}
		if rss := rssBytes(); c.name == "mix" && rss > 60e6 {
			t.Errorf("RSS %.1f MB > 60 MB", float64(rss)/1e6)
		}
		runtime.KeepAlive(s)
	}
}

// BenchmarkIngest: decode + dedup + store for one ~300 byte seed-format
// message, over 10,000 vehicles × 20 properties.
func BenchmarkIngest(b *testing.B) {
	catalog := sampleCatalog()
	const vehicles = 10_000
	type tmpl struct {
		topic   string
		payload []byte
		idAt    int
	}
	tmpls := make([]tmpl, 0, vehicles)
	for v := 0; v < vehicles; v++ {
		id := sampleVehicle(v)
		p := catalog[v%len(catalog)]
		payload := samplePayload(0, id, p, v)
		tmpls = append(tmpls, tmpl{topicFor(id, p.capability, p.property), payload, strings.Index(string(payload), strings.Repeat("0", 64))})
	}
	size := 0
	for _, t := range tmpls {
		size += len(t.payload)
	}
	p := NewPipeline(PipelineOptions{})
	w := p.newWorker(nil)
	now := time.Now().UnixNano()
	var idHex [8]byte
	b.SetBytes(int64(size / len(tmpls)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &tmpls[i%len(tmpls)]
		// A fresh message id each time, as a broker would deliver.
		hex.Encode(idHex[:], []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		copy(t.payload[t.idAt:], idHex[:])
		it := inboxItem{topic: t.topic, payload: t.payload, arrival: now}
		w.process(&it)
	}
	b.StopTimer()
	if st := p.Stats(); st.Applied != uint64(b.N) {
		b.Fatalf("applied %d of %d: %+v", st.Applied, b.N, st)
	}
}

// BenchmarkVehicles10k: the vehicle list snapshot the Telemetry view takes
// on every batch, at 10,000 vehicles.
func BenchmarkVehicles10k(b *testing.B) {
	s := NewStore(StoreOptions{})
	fillStore(s, 10_000, sampleCatalog(), 1)
	s.Vehicles()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(s.Vehicles()) != 10_000 {
			b.Fatal("lost vehicles")
		}
	}
}

// BenchmarkVehicleDetail: one vehicle's 20 properties rendered.
func BenchmarkVehicleDetail(b *testing.B) {
	s := NewStore(StoreOptions{})
	fillStore(s, 100, sampleCatalog(), HistoryLen)
	id := sampleVehicle(42)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(s.Vehicle(id)) != 20 {
			b.Fatal(fmt.Sprint("lost properties"))
		}
	}
}

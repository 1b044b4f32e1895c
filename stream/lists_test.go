package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The store keeps the newest list of a multi-valued property, shows its
// count as the value and its items with data, timestamp and failure.
func TestStoreLists(t *testing.T) {
	now := time.Date(2023, 3, 1, 8, 0, 2, 0, time.UTC)
	s := NewStore(StoreOptions{Now: func() time.Time { return now }, MaxListItems: 3})
	fx := fixtures[2] // tire pressures: 4 items, the third failed
	m := decodeOne(t, newDecoder(PseudoAuto), fx.topic, readFixture(t, fx.file))
	m.Arrival = now
	mustApply(t, s, m)

	props := s.Vehicle("1GCRCSEA4CZ139700")
	if len(props) != 1 {
		t.Fatalf("props %+v", props)
	}
	p := props[0]
	if !p.List || p.Count != 4 || p.Value != "4 items" || p.Numeric || p.History != nil {
		t.Fatalf("list property %+v", p)
	}
	if !p.SourceTime.Equal(time.Date(2023, 3, 1, 8, 0, 1, 0, time.UTC)) {
		t.Errorf("source time %v", p.SourceTime)
	}
	// MaxListItems 3: the first three are kept, the count says four.
	if len(p.Items) != 3 {
		t.Fatalf("items %+v", p.Items)
	}
	if it := p.Items[0]; it.Raw != `{"location":"front_left","pressure":{"unit":"bars","value":2.3}}` || it.Failure != nil ||
		!it.SourceTime.Equal(time.Date(2023, 3, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("item 0 %+v", it)
	}
	if it := p.Items[2]; it.Failure == nil || it.Failure.Reason != "execution_timeout" || it.Failure.Description != "The sensor did not answer" ||
		it.Value != "failed: execution_timeout" || it.Raw != "" || !it.SourceTime.Equal(time.Date(2023, 3, 1, 8, 0, 1, 0, time.UTC)) {
		t.Errorf("item 2 %+v", it)
	}

	// Bulb failures: string items render as their text.
	fx = fixtures[1]
	m = decodeOne(t, newDecoder(PseudoAuto), fx.topic, readFixture(t, fx.file))
	m.Arrival = now
	mustApply(t, s, m)
	bulbs := find(t, s.Vehicle("1GCRCSEA4CZ139700"), "dashboard_lights", "bulb_failures")
	if bulbs.Value != "2 items" || len(bulbs.Items) != 2 || bulbs.Items[0].Value != "turn_signal_right" || bulbs.Items[1].Raw != `"high_beam"` {
		t.Errorf("bulbs %+v", bulbs)
	}

	// A newer list replaces the old one whole (trouble codes come and go);
	// an older one (a late redelivery) does not.
	list := func(at time.Time, items ...string) Message {
		msg := Message{Vehicle: "V", Capability: "diagnostics", Property: "trouble_codes", List: true, Timestamp: at, Arrival: now}
		var data []string
		for _, d := range items {
			msg.Items = append(msg.Items, Item{Data: []byte(d), Timestamp: at})
			data = append(data, d)
		}
		msg.Data = []byte("[" + strings.Join(data, ",") + "]")
		return msg
	}
	t0 := now.Add(-time.Minute)
	mustApply(t, s, list(t0, `{"id":"P0420"}`, `{"id":"P0171"}`))
	mustApply(t, s, list(t0.Add(time.Second), `{"id":"P0171"}`))
	mustApply(t, s, list(t0.Add(-time.Second), `{"id":"OLD1"}`, `{"id":"OLD2"}`, `{"id":"OLD3"}`))
	codes := find(t, s.Vehicle("V"), "diagnostics", "trouble_codes")
	if codes.Count != 1 || len(codes.Items) != 1 || codes.Items[0].Raw != `{"id":"P0171"}` {
		t.Errorf("codes %+v", codes)
	}
	mustApply(t, s, list(t0.Add(2*time.Second)))
	if codes := find(t, s.Vehicle("V"), "diagnostics", "trouble_codes"); codes.Count != 0 || codes.Value != "0 items" || len(codes.Items) != 0 {
		t.Errorf("cleared codes %+v", codes)
	}
	// A property that was a value and turns into a list (or back) is shown
	// as what it is now.
	mustApply(t, s, Message{Vehicle: "V", Capability: "diagnostics", Property: "trouble_codes", Data: []byte(`"none"`), Timestamp: t0.Add(3 * time.Second), Arrival: now})
	if codes := find(t, s.Vehicle("V"), "diagnostics", "trouble_codes"); codes.List || codes.Value != "none" {
		t.Errorf("value after list %+v", codes)
	}
}

func find(t *testing.T, props []Property, capability, name string) Property {
	t.Helper()
	for _, p := range props {
		if p.Capability == capability && p.Name == name {
			return p
		}
	}
	t.Fatalf("no %s.%s in %+v", capability, name, props)
	return Property{}
}

// A list larger than a slot holds keeps the items that fit.
func TestStoreListBounded(t *testing.T) {
	s := NewStore(StoreOptions{MaxListItems: 10_000})
	big := strings.Repeat("x", 1000)
	m := Message{Vehicle: "V", Capability: "c", Property: "p", List: true, Arrival: time.Now()}
	for range 200 {
		m.Items = append(m.Items, Item{Data: []byte(`"` + big + `"`)})
	}
	mustApply(t, s, m)
	p := s.Vehicle("V")[0]
	if p.Count != 200 || len(p.Items) == 0 || len(p.Items) >= 66 {
		t.Errorf("count %d, kept %d", p.Count, len(p.Items))
	}
}

// V2: one MQTT message, one update per property, each deduplicated on its
// own (message_id and property): a redelivery is dropped whole.
func TestV2DedupAndPipeline(t *testing.T) {
	var got []string
	p := NewPipeline(PipelineOptions{OnMessage: func(m *Message) {
		got = append(got, m.Capability+"."+m.Property+"="+string(m.Data))
	}})
	w := p.newWorker(nil)
	payload := readFixture(t, "v2_issue_example.json")
	it := inboxItem{topic: "live/level13/9ef2b1a5-3b8c-4c56-9d2e-6a1f2b3c4d5e", payload: payload, arrival: time.Now().UnixNano()}
	if !w.process(&it) {
		t.Fatal("nothing applied")
	}
	if w.process(&it) {
		t.Error("redelivery applied")
	}
	want := []string{
		`diagnostics.odometer={"unit":"kilometers","value":19201.01}`,
		`vehicle_location.altitude={"unit":"meters","value":63}`,
		`vehicle_location.coordinates={"latitude":11.572,"longitude":8.487}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("updates:\n%s", strings.Join(got, "\n"))
	}
	if st := p.Stats(); st.Received != 0 || st.Applied != 3 || st.Duplicates != 3 {
		t.Errorf("stats %+v", st)
	}
	props := p.Store().Vehicle("EXV10000000")
	if len(props) != 3 || !props[0].Numeric || props[0].Value != "19201.01" || props[0].Unit != "km" {
		t.Errorf("store %+v", props)
	}

	// A V2 message with one unreadable property: the others are applied
	// and the bad one is counted.
	bad := `{"version":2,"message_id":"m2","vin":"EXV10000000","data":{"diagnostics":{"speed":[{"data":{"unit":"kilometers_per_hour","value":5}}],"odometer":[{"timestamp":"2025-01-01T00:00:00Z"}],"fuel_level":7}}}`
	it = inboxItem{topic: "live/level13/x", payload: []byte(bad), arrival: time.Now().UnixNano()}
	got = nil
	if !w.process(&it) || len(got) != 1 || got[0] != `diagnostics.speed={"unit":"kilometers_per_hour","value":5}` {
		t.Errorf("partial message: %v", got)
	}
	if st := p.Stats(); st.Malformed != 2 {
		t.Errorf("malformed %d, want 2 (the two unreadable properties)", st.Malformed)
	}
	// The same message id with another property is not a duplicate.
	other := `{"version":2,"message_id":"m2","vin":"EXV10000000","data":{"diagnostics":{"engine_rpm":[{"data":{"unit":"revolutions_per_minute","value":900}}]}}}`
	it = inboxItem{topic: "live/level13/x", payload: []byte(other), arrival: time.Now().UnixNano()}
	if !w.process(&it) {
		t.Error("same id, other property: refused as a duplicate")
	}
}

// Recording and replaying keeps lists and V2 messages as they came.
func TestRecordReplayListsAndV2(t *testing.T) {
	var lines []recLine
	at := time.Date(2025, 8, 12, 16, 7, 50, 0, time.UTC)
	for i, fx := range fixtures {
		lines = append(lines, recLine{T: at.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano), Topic: fx.topic, Payload: readFixture(t, fx.file)})
	}
	src := writeRecording(t, lines)
	rec := filepath.Join(t.TempDir(), "again.ndjson")
	run := func(replay, record string) ([]string, Stats) {
		var out []string
		p := NewPipeline(PipelineOptions{Replay: replay, Record: record, OnMessage: func(m *Message) {
			out = append(out, string(m.AppendJSON(nil)))
		}})
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return out, p.Stats()
	}
	first, st1 := run(src, rec)
	second, st2 := run(rec, "")
	wantUpdates := 0
	for _, fx := range fixtures {
		wantUpdates += len(fx.want)
	}
	if len(first) != wantUpdates || st1.Applied != uint64(wantUpdates) || st1.Malformed != 0 || st1 != st2 {
		t.Fatalf("first replay %d lines, stats %+v; second %+v", len(first), st1, st2)
	}
	if strings.Join(first, "\n") != strings.Join(second, "\n") {
		t.Errorf("replaying the recording differs:\n%s\n---\n%s", strings.Join(first, "\n"), strings.Join(second, "\n"))
	}
	// Each line is JSON; list lines carry items, value being their data.
	lists := 0
	for _, l := range first {
		var v struct {
			Value json.RawMessage   `json:"value"`
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if v.Items != nil {
			lists++
			var arr []json.RawMessage
			if err := json.Unmarshal(v.Value, &arr); err != nil || len(arr) != len(v.Items) {
				t.Errorf("list line %s", l)
			}
		}
	}
	if lists != 7 {
		t.Errorf("%d list lines, want 7", lists)
	}
}

// TestStoreListFootprint measures a vehicle with 5 list properties of 10
// items each (trouble-code sized objects) on top of the 20-property mix.
func TestStoreListFootprint(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("memory figures are meaningless under -race")
	}
	const vehicles = 2_000
	measure := func(lists int) uint64 {
		before := heapInUse()
		s := NewStore(StoreOptions{})
		fillStore(s, vehicles, sampleCatalog(), HistoryLen+1)
		now := time.Now()
		for v := 0; v < vehicles; v++ {
			for l := 0; l < lists; l++ {
				m := Message{Vehicle: sampleVehicle(v), Pseudonym: true, Capability: "diagnostics", Property: "list" + strconv.Itoa(l),
					List: true, Timestamp: now, Arrival: now}
				for i := 0; i < 10; i++ {
					m.Items = append(m.Items, Item{Timestamp: now, Data: []byte(fmt.Sprintf(
						`{"occurrences":%d,"id":"C%04dFA","ecu_id":"RDU_212FR","status":"PENDING","system":"body"}`, i+1, v%10000))})
				}
				_ = s.apply(&m)
			}
		}
		after := heapInUse()
		runtime.KeepAlive(s)
		return (after - before) / vehicles
	}
	base := measure(0)
	with := measure(5)
	t.Logf("per vehicle: 20 properties %d bytes; with 5 lists of 10 items (~90-byte objects) %d bytes (+%d)", base, with, with-base)
	if with-base > 7*1024 {
		t.Errorf("5 lists of 10 items cost %d bytes a vehicle", with-base)
	}
}

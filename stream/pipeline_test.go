package stream

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
)

type recLine struct {
	T          string          `json:"t"`
	Topic      string          `json:"topic"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	PayloadB64 string          `json:"payload_b64,omitempty"`
}

func writeRecording(t *testing.T, lines []recLine) string {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		js, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	path := filepath.Join(t.TempDir(), "rec.ndjson")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sampleRecording(start time.Time, step time.Duration) []recLine {
	const vin = "WBA12345678901234"
	at := func(i int) string { return start.Add(time.Duration(i) * step).UTC().Format(time.RFC3339Nano) }
	odo := payloadFor("a", vin, "diagnostics", "odometer", `{"unit":"kilometers","value":5}`, "2024-05-01T10:33:10Z")
	return []recLine{
		{T: at(0), Topic: topicFor(vin, "diagnostics", "odometer"), Payload: odo},
		{T: at(1), Topic: topicFor(vin, "diagnostics", "odometer"), Payload: odo}, // duplicate
		{T: at(2), Topic: topicFor(vin, "diagnostics", "odometer"), PayloadB64: base64.StdEncoding.EncodeToString([]byte("not json \x00\xff"))},
		{T: at(3), Topic: topicFor("v\x1b[2J", "doors", "locks_state"), Payload: json.RawMessage(`{"message_id":"b","data":{"doors":{"locks_state":{"data":"\u001b]0;x\u0007locked"}}}}`)},
		{T: at(4), Topic: topicFor(vin, "charging", "battery_level"), Payload: json.RawMessage("{\n  \"message_id\": \"c\",\n  \"data\": {\"charging\": {\"battery_level\": {\"data\": 0.5}}}\n}")},
	}
}

func TestReplayAndRecordRoundTrip(t *testing.T) {
	before := leaktest.Count()
	src := writeRecording(t, sampleRecording(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), time.Second))
	rec := filepath.Join(t.TempDir(), "again.ndjson")
	var lines []string
	var states stateLog
	p := NewPipeline(PipelineOptions{Replay: src, Record: rec, OnState: states.add, OnMessage: func(m *Message) {
		lines = append(lines, string(m.AppendJSON(nil)))
	}})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Malformed: the payload that is not JSON, and the vehicle id with an
	// escape sequence (refused as suspicious: see suspicious.go).
	want := Stats{Received: 5, Applied: 2, Duplicates: 1, Malformed: 2}
	if st := p.Stats(); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	if s := p.State(); s.Phase != Stopped || s.String() != "stopped: end of recording" {
		t.Errorf("state %v", s)
	}
	if !containsInOrder(states.phases(0), Replaying, Stopped) {
		t.Errorf("phases %v", states.phases(0))
	}
	wantLines := []string{
		`{"vehicle":"WBA12345678901234","pseudonym":false,"capability":"diagnostics","property":"odometer","value":{"unit":"kilometers","value":5},"timestamp":"2024-05-01T10:33:10Z","message_id":"a"}`,
		`{"vehicle":"WBA12345678901234","pseudonym":false,"capability":"charging","property":"battery_level","value":0.5,"timestamp":null,"message_id":"c"}`,
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if vs := p.Store().Vehicles(); len(vs) != 1 || !vs[0].LastSeen.Equal(time.Date(2024, 5, 1, 10, 0, 4, 0, time.UTC)) {
		t.Errorf("vehicles %+v (arrival must be the recorded time)", vs)
	}

	// The recording of the replay replays the same way: everything, even
	// what the decoder refused, was recorded.
	info, err := os.Stat(rec)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("recording mode %v", info.Mode().Perm())
	}
	p2 := NewPipeline(PipelineOptions{Replay: rec})
	if err := p2.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p2.Stats(); st != want {
		t.Errorf("second replay stats %+v, want %+v", st, want)
	}
	data, _ := os.ReadFile(rec)
	if n := bytes.Count(data, []byte("\n")); n != 5 {
		t.Errorf("recording has %d lines:\n%s", n, data)
	}
	leaktest.Wait(t, before)
}

func TestReplayPace(t *testing.T) {
	path := writeRecording(t, sampleRecording(time.Now(), 60*time.Millisecond))
	for _, paced := range []bool{false, true} {
		p := NewPipeline(PipelineOptions{Replay: path, ReplayPace: paced})
		start := time.Now()
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		if paced && took < 240*time.Millisecond || !paced && took > 200*time.Millisecond {
			t.Errorf("paced=%v took %v", paced, took)
		}
	}
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ndjson")
	if err := os.WriteFile(bad, []byte(`{"t":"2024-05-01T10:00:00Z","topic":"x","payload":{}}`+"\n"+`{"topic":"x"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{filepath.Join(dir, "missing"): "no such file", bad: "line 2"} {
		p := NewPipeline(PipelineOptions{Replay: path})
		err := p.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		if p.State().Phase != Failed {
			t.Errorf("state %v", p.State())
		}
	}
}

func TestReplayStopsWithContext(t *testing.T) {
	path := writeRecording(t, sampleRecording(time.Now(), time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p := NewPipeline(PipelineOptions{Replay: path, ReplayPace: true})
	start := time.Now()
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second || p.Stats().Applied != 1 {
		t.Errorf("took %v, stats %+v", time.Since(start), p.Stats())
	}
}

func TestQueueFullDrops(t *testing.T) {
	p := NewPipeline(PipelineOptions{QueueSize: 10})
	for i := 0; i < 25; i++ {
		p.enqueue("t", []byte("{}"), 0)
	}
	if st := p.Stats(); st.Received != 25 || st.Dropped != 15 {
		t.Errorf("stats %+v", st)
	}
}

func TestOversizedCounted(t *testing.T) {
	p := NewPipeline(PipelineOptions{})
	w := p.newWorker(nil)
	it := inboxItem{topic: topicFor("v", "c", "p"), payload: bytes.Repeat([]byte(" "), MaxPayload+1)}
	if w.process(&it) || p.Stats().Oversized != 1 {
		t.Errorf("stats %+v", p.Stats())
	}
}

func TestMessageText(t *testing.T) {
	arrival := time.Date(2024, 5, 1, 15, 4, 5, 123e6, time.Local)
	m := Message{Vehicle: "abc", Pseudonym: true, Capability: "diagnostics", Property: "odometer", Data: []byte(`{"unit":"kilometers","value":100}`), Arrival: arrival}
	if got := string(m.AppendText(nil)); got != "15:04:05.123 abc (pseudonym) diagnostics.odometer = 100 km" {
		t.Errorf("%q", got)
	}
	m = Message{Vehicle: "WBA12345678901234", Capability: "doors", Property: "locks_state", Failure: &Failure{Reason: "rate_limit", Description: "slow down"}, Arrival: arrival}
	if got := string(m.AppendText(nil)); got != "15:04:05.123 WBA12345678901234 doors.locks_state failed: rate_limit — slow down" {
		t.Errorf("%q", got)
	}
	js := string(m.AppendJSON(nil))
	if js != `{"vehicle":"WBA12345678901234","pseudonym":false,"capability":"doors","property":"locks_state","value":null,"failure":{"reason":"rate_limit","description":"slow down"},"timestamp":null,"message_id":null}` {
		t.Errorf("%s", js)
	}
	if got := string(appendJSONString(nil, "a\"b\\c\x01\xffé")); got != `"a\"b\\c\u0001\ufffdé"` {
		t.Errorf("%s", got)
	}
}

func TestDedupWindow(t *testing.T) {
	p := NewPipeline(PipelineOptions{DedupWindow: 4})
	w := p.newWorker(nil)
	send := func(id string) bool {
		it := inboxItem{topic: topicFor("v", "c", "p"), payload: []byte(`{"message_id":"` + id + `","data":{"c":{"p":{"data":1}}}}`)}
		return w.process(&it)
	}
	// Empty ids identify nothing: both are applied.
	if !send("") || !send("") {
		t.Error("empty message_id deduplicated")
	}
	for i := 0; i < 4; i++ {
		if !send(string(rune('a' + i))) {
			t.Errorf("message %d refused", i)
		}
	}
	if send("a") || send("d") {
		t.Error("redelivery within the window applied again")
	}
	// Bounded: after 2×window new ids the oldest is forgotten.
	for i := 0; i < 8; i++ {
		send(string(rune('k' + i)))
	}
	if !send("a") {
		t.Error("the window is not bounded")
	}
	if st := p.Stats(); st.Duplicates != 2 {
		t.Errorf("stats %+v", st)
	}
}

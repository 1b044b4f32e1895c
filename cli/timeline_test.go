package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeRecording writes a --record file in which vin turns its ignition on
// and starts moving.
func writeRecording(t *testing.T, vin string, at time.Time) string {
	t.Helper()
	var b strings.Builder
	n := 0
	msg := func(capability, property, data string, at time.Time) {
		n++
		payload := fmt.Sprintf(`{"message_id":"m%d","version":1,"vin":%q,"capability":%q,"property":%q,"data":{%q:{%q:{"data":%s,"timestamp":%q}}}}`,
			n, vin, capability, property, capability, property, data, at.UTC().Format(time.RFC3339Nano))
		topic := fmt.Sprintf("live/level13/APP1/%s/%s/get/%s", vin, capability, property)
		line, _ := json.Marshal(map[string]any{"t": at.UTC().Format(time.RFC3339Nano), "topic": topic, "payload": json.RawMessage(payload)})
		b.Write(line)
		b.WriteByte('\n')
	}
	msg("ignition", "state", `"off"`, at)
	msg("diagnostics", "speed", `{"unit":"kilometers_per_hour","value":0}`, at.Add(time.Second))
	msg("ignition", "state", `"on"`, at.Add(2*time.Second))
	msg("diagnostics", "speed", `{"unit":"kilometers_per_hour","value":31}`, at.Add(3*time.Second))
	path := filepath.Join(t.TempDir(), "rec.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVehiclesTimeline(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "vehicles", "list", "--status", "approved", "--json")
	if r.code != 0 {
		t.Fatalf("list: exit %d: %s", r.code, r.stderr)
	}
	var list []struct {
		VIN string `json:"vin"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) == 0 {
		t.Fatalf("list: %v %q", err, r.stdout)
	}
	vin := list[0].VIN
	if r := run(t, "", "--config", cfg, "command", "send", vin, "lock_door", "--wait"); r.code != 0 {
		t.Fatalf("send: exit %d: %s", r.code, r.stderr)
	}
	rec := writeRecording(t, vin, time.Now().Add(time.Minute))

	r = run(t, "", "--config", cfg, "vehicles", "timeline", vin, "--replay", rec, "--json")
	if r.code != 0 {
		t.Fatalf("timeline: exit %d: %s", r.code, r.stderr)
	}
	var events []struct {
		At     time.Time `json:"at"`
		Kind   string    `json:"kind"`
		What   string    `json:"what"`
		Detail string    `json:"detail"`
		Actor  string    `json:"actor"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &events); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	seen := map[string]int{}
	for i, e := range events {
		if i > 0 && e.At.Before(events[i-1].At) {
			t.Fatalf("not in time order at %d: %+v", i, events)
		}
		seen[e.Kind+": "+e.What] = i + 1
	}
	for _, want := range []string{"clearance: clearance approved", "command: lock_door sent", "command: lock_door finished",
		"telemetry: first message on the feed", "telemetry: ignition on", "telemetry: started moving", "telemetry: last message on the feed"} {
		if seen[want] == 0 {
			t.Errorf("no %q in %s", want, r.stdout)
		}
	}
	if seen["command: lock_door sent"] > seen["telemetry: ignition on"] {
		t.Error("the command (sent before the recording) comes after the recording's events")
	}

	// Text, and --since keeps only the recording's minute.
	r = run(t, "", "--config", cfg, "vehicles", "timeline", vin, "--replay", rec, "--since", "-5m")
	if r.code != ExitUsage {
		t.Errorf("--since -5m: exit %d", r.code)
	}
	r = run(t, "", "--config", cfg, "vehicles", "timeline", vin, "--replay", rec, "--since", time.Now().Add(30*time.Second).Format(time.RFC3339))
	if r.code != 0 || strings.Contains(r.stdout, "lock_door") || !strings.Contains(r.stdout, "telemetry  started moving · 31 km/h") {
		t.Errorf("--since: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	// A bad id (refused as vehicles show refuses it), a missing recording.
	r = run(t, "", "--config", cfg, "vehicles", "timeline", "nope")
	if r.code != ExitFailure {
		t.Errorf("bad VIN: exit %d", r.code)
	}
	oneLine(t, r, "NOPE")
	r = run(t, "", "--config", cfg, "vehicles", "timeline", vin, "--replay", filepath.Join(t.TempDir(), "missing.ndjson"))
	if r.code != ExitFailure || !strings.Contains(r.stderr, "missing.ndjson") || !strings.Contains(r.stdout, "lock_door") {
		t.Errorf("missing recording: exit %d, stdout %q, stderr %q; want the other sources and the error", r.code, r.stdout, r.stderr)
	}
	// A pseudonym: the recording only.
	r = run(t, "", "--config", cfg, "vehicles", "timeline", "26ace7941b2c3d4e5f60718293a4b5c6d7e8f901", "--pseudonym", "--replay", rec)
	if r.code != 0 || !strings.Contains(r.stderr, "nothing recorded") {
		t.Errorf("pseudonym not in the recording: exit %d: %s", r.code, r.stderr)
	}
}

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tail prints a list as the JSON array of its items' data (--json adds the
// items), and a V2 message as one line per property; a replay needs no
// config.
func TestTailListsAndV2(t *testing.T) {
	isolate(t)
	rec := filepath.Join(t.TempDir(), "rec.ndjson")
	lines := []string{
		`{"t":"2025-08-12T16:07:49Z","topic":"live/level13/APP/WBA12345678901234/dashboard_lights/get/bulb_failures","payload":{"message_id":"1","version":1,"vin":"WBA12345678901234","capability":"dashboard_lights","property":"bulb_failures","timestamp":"2025-08-12T16:07:48Z","data":{"dashboard_lights":{"bulb_failures":[{"data":"turn_signal_right"},{"data":"high_beam"}]}}}}`,
		`{"t":"2025-08-12T16:07:50Z","topic":"live/level13/9ef2b1a5-3b8c-4c56-9d2e-6a1f2b3c4d5e","payload":{"version":2,"application_id":"9ef2b1a5-3b8c-4c56-9d2e-6a1f2b3c4d5e","message_id":"2","vin":"WBA12345678901234","data":{"diagnostics":{"odometer":[{"data":{"unit":"kilometers","value":19201.01}}],"trouble_codes":[{"data":{"occurrences":1,"id":"P0420","ecu_id":"ECM","status":"PENDING","system":"powertrain"},"timestamp":"2025-08-12T16:07:40Z"}]},"ignition":{"state":[{"data":"on","timestamp":"2025-08-12T16:07:48Z"}]}}}}`,
	}
	if err := os.WriteFile(rec, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := run(t, "", "telemetry", "tail", "--replay", rec)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	text := strings.Split(strings.TrimSpace(r.stdout), "\n")
	want := []string{
		`WBA12345678901234 dashboard_lights.bulb_failures = ["turn_signal_right","high_beam"]`,
		`WBA12345678901234 diagnostics.odometer = 19201.01 km`,
		`WBA12345678901234 diagnostics.trouble_codes = [{"occurrences":1,"id":"P0420","ecu_id":"ECM","status":"PENDING","system":"powertrain"}]`,
		`WBA12345678901234 ignition.state = on`,
	}
	if len(text) != len(want) {
		t.Fatalf("%d lines:\n%s", len(text), r.stdout)
	}
	for i, w := range want {
		if !strings.HasSuffix(text[i], w) {
			t.Errorf("line %d %q, want it to end %q", i, text[i], w)
		}
	}

	r = run(t, "", "telemetry", "tail", "--replay", rec, "--json", "--capability", "diagnostics")
	var got []map[string]json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		got = append(got, m)
	}
	if len(got) != 2 || string(got[0]["property"]) != `"odometer"` || got[0]["items"] != nil ||
		string(got[1]["value"]) != `[{"occurrences":1,"id":"P0420","ecu_id":"ECM","status":"PENDING","system":"powertrain"}]` ||
		string(got[1]["items"]) != `[{"data":{"occurrences":1,"id":"P0420","ecu_id":"ECM","status":"PENDING","system":"powertrain"},"timestamp":"2025-08-12T16:07:40Z"}]` {
		t.Errorf("--json:\n%s", r.stdout)
	}
}

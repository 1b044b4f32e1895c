package stream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A fixture is a payload written from High Mobility's public format (the
// MQTT V1 and V2 documentation and examples, quoted in issue 10), with the
// topic it arrives on. Files live in testdata/payloads.
type fixture struct {
	file, topic string
	want        []wantUpdate
}

// wantUpdate is what one decoded property update must hold.
type wantUpdate struct {
	vehicle, name string // name: capability.property (canonical)
	pseudonym     bool
	data          string // compact JSON of Data ("" with a failure)
	failure       string // reason, "" when none
	stamp         string // RFC 3339, "" for none
	items         int    // -1: not a list
	itemFailures  int
}

const hmApp = "1FBBEDED80595912588FF4FF"

var fixtures = []fixture{
	{file: "v1_trouble_codes.json", topic: "live/level13/" + hmApp + "/1GCRCSEA4CZ139700/diagnostics/get/trouble_codes",
		want: []wantUpdate{{vehicle: "1GCRCSEA4CZ139700", name: "diagnostics.trouble_codes",
			data:  `[{"occurrences":2,"id":"C1116FA","ecu_id":"RDU_212FR","status":"PENDING","system":"unknown"},{"occurrences":2,"id":"C163AFA","ecu_id":"DTR212","status":"PENDING","system":"body"}]`,
			stamp: "2022-01-18T13:32:13Z", items: 2}}},
	{file: "v1_bulb_failures.json", topic: "/live/level13/" + hmApp + "/1GCRCSEA4CZ139700/dashboard_lights/get/bulb_failures",
		want: []wantUpdate{{vehicle: "1GCRCSEA4CZ139700", name: "dashboard_lights.bulb_failures",
			data: `["turn_signal_right","high_beam"]`, stamp: "2022-01-18T13:32:13Z", items: 2}}},
	{file: "v1_tire_pressures.json", topic: "sandbox/level13/" + hmApp + "/1GCRCSEA4CZ139700/diagnostics/get/tire_pressures",
		want: []wantUpdate{{vehicle: "1GCRCSEA4CZ139700", name: "diagnostics.tire_pressures",
			data:  `[{"location":"front_left","pressure":{"unit":"bars","value":2.3}},{"location":"front_right","pressure":{"unit":"bars","value":2.4}},null,{"location":"rear_right","pressure":{"unit":"bars","value":2.5}}]`,
			stamp: "2023-03-01T08:00:01Z", items: 4, itemFailures: 1}}},
	{file: "v1_empty_list.json", topic: "live/level13/" + hmApp + "/1GCRCSEA4CZ139700/diagnostics/get/trouble_codes",
		want: []wantUpdate{{vehicle: "1GCRCSEA4CZ139700", name: "diagnostics.trouble_codes", data: `[]`, items: 0}}},
	{file: "v1_top_timestamp.json", topic: "live/level13/" + hmApp + "/1GCRCSEA4CZ139700/vehicle_location/get/coordinates",
		want: []wantUpdate{{vehicle: "1GCRCSEA4CZ139700", name: "vehicle_location.coordinates",
			data: `{"latitude":59.408384,"longitude":25.684776}`, stamp: "2022-01-18T13:32:13Z", items: -1}}},
	{file: "v2_issue_example.json", topic: "live/level13/9ef2b1a5-3b8c-4c56-9d2e-6a1f2b3c4d5e",
		want: []wantUpdate{
			{vehicle: "EXV10000000", pseudonym: true, name: "diagnostics.odometer", data: `{"unit":"kilometers","value":19201.01}`, items: -1},
			{vehicle: "EXV10000000", pseudonym: true, name: "vehicle_location.altitude", data: `{"unit":"meters","value":63}`, stamp: "2025-08-12T16:07:48Z", items: -1},
			{vehicle: "EXV10000000", pseudonym: true, name: "vehicle_location.coordinates", data: `{"latitude":11.572,"longitude":8.487}`, stamp: "2025-08-12T16:07:48Z", items: -1},
		}},
	// V2 is recognised by its version on any topic, the V1 forms included.
	{file: "v2_lists.json", topic: "/live/level13/" + hmApp + "/WBA12345678901234/diagnostics/get/speed",
		want: []wantUpdate{
			{vehicle: "WBA12345678901234", name: "diagnostics.speed", data: `{"unit":"kilometers_per_hour","value":42}`, stamp: "2025-08-12T16:07:48Z", items: -1},
			{vehicle: "WBA12345678901234", name: "diagnostics.odometer", data: `{"unit":"kilometers","value":2050}`, stamp: "2025-08-12T16:07:48Z", items: -1},
			{vehicle: "WBA12345678901234", name: "diagnostics.trouble_codes", data: `[{"occurrences":1,"id":"P0420","ecu_id":"ECM","status":"PENDING","system":"powertrain"}]`, stamp: "2025-08-12T16:07:40Z", items: 1},
			{vehicle: "WBA12345678901234", name: "diagnostics.fuel_level", failure: "privacy_mode_active", stamp: "2025-08-12T16:07:48Z", items: -1},
			{vehicle: "WBA12345678901234", name: "dashboard_lights.bulb_failures", data: `[]`, items: 0},
			{vehicle: "WBA12345678901234", name: "dashboard_lights.dashboard_lights", data: `[{"name":"high_beam","state":"on"},{"name":"fuel_level","state":"off"}]`, stamp: "2025-08-12T16:07:45Z", items: 2},
			{vehicle: "WBA12345678901234", name: "ignition.state", data: `"on"`, stamp: "2025-08-12T16:07:48Z", items: -1},
		}},
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "payloads", name))
	if err != nil {
		t.Fatal(err) // a missing fixture is a failure, not a skip
	}
	return b
}

func TestDecodeFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			msgs, err := newDecoder(PseudoAuto).decode(fx.topic, readFixture(t, fx.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != len(fx.want) {
				t.Fatalf("%d updates, want %d: %+v", len(msgs), len(fx.want), msgs)
			}
			for i, w := range fx.want {
				m := &msgs[i]
				checkUpdate(t, m, w)
				checkSafe(t, m)
			}
		})
	}
}

func checkUpdate(t *testing.T, m *Message, w wantUpdate) {
	t.Helper()
	name := m.Capability + "." + m.Property
	if m.Vehicle != w.vehicle || name != w.name || m.Pseudonym != w.pseudonym {
		t.Errorf("got %s %s pseudonym=%v, want %s %s pseudonym=%v", m.Vehicle, name, m.Pseudonym, w.vehicle, w.name, w.pseudonym)
	}
	if string(m.Data) != w.data {
		t.Errorf("%s: data %s, want %s", name, m.Data, w.data)
	}
	gotFailure := ""
	if m.Failure != nil {
		gotFailure = m.Failure.Reason
	}
	if gotFailure != w.failure {
		t.Errorf("%s: failure %q, want %q", name, gotFailure, w.failure)
	}
	gotStamp := ""
	if !m.Timestamp.IsZero() {
		gotStamp = m.Timestamp.UTC().Format(time.RFC3339Nano)
	}
	if gotStamp != w.stamp {
		t.Errorf("%s: timestamp %q, want %q", name, gotStamp, w.stamp)
	}
	if (w.items >= 0) != m.List {
		t.Fatalf("%s: list %v, want %v", name, m.List, w.items >= 0)
	}
	if !m.List {
		return
	}
	if len(m.Items) != w.items {
		t.Errorf("%s: %d items, want %d", name, len(m.Items), w.items)
	}
	failures := 0
	datas := []json.RawMessage{}
	for _, it := range m.Items {
		if it.Failure != nil {
			failures++
			datas = append(datas, json.RawMessage("null"))
			if it.Data != nil {
				t.Errorf("%s: a failed item has data %s", name, it.Data)
			}
			continue
		}
		datas = append(datas, it.Data)
	}
	if failures != w.itemFailures {
		t.Errorf("%s: %d failed items, want %d", name, failures, w.itemFailures)
	}
	// Data is exactly the items' data, in order.
	joined, _ := json.Marshal(datas)
	if string(joined) != string(m.Data) {
		t.Errorf("%s: data %s is not the items' data %s", name, m.Data, joined)
	}
}

// tail's two outputs for a list: the JSON line carries value (the array of
// the items' data) and items; the text line the array and the failures.
func TestListOutput(t *testing.T) {
	fx := fixtures[2] // tire pressures, one failed item
	m := decodeOne(t, newDecoder(PseudoAuto), fx.topic, readFixture(t, fx.file))
	m.Arrival = time.Date(2023, 3, 1, 8, 0, 2, 0, time.UTC)
	var line struct {
		Value []json.RawMessage `json:"value"`
		Items []struct {
			Data      json.RawMessage `json:"data"`
			Timestamp string          `json:"timestamp"`
			Failure   *struct {
				Reason, Description string
			} `json:"failure"`
		} `json:"items"`
		Timestamp string `json:"timestamp"`
	}
	js := m.AppendJSON(nil)
	if err := json.Unmarshal(js, &line); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if len(line.Value) != 4 || string(line.Value[2]) != "null" || string(line.Value[0]) != `{"location":"front_left","pressure":{"unit":"bars","value":2.3}}` {
		t.Errorf("value %s", js)
	}
	if len(line.Items) != 4 || line.Items[2].Failure == nil || line.Items[2].Failure.Reason != "execution_timeout" ||
		line.Items[2].Timestamp != "2023-03-01T08:00:01Z" || string(line.Items[3].Data) != `{"location":"rear_right","pressure":{"unit":"bars","value":2.5}}` {
		t.Errorf("items %s", js)
	}
	if line.Timestamp != "2023-03-01T08:00:01Z" {
		t.Errorf("timestamp %s", line.Timestamp)
	}
	text := string(m.AppendText(nil))
	if !strings.Contains(text, "diagnostics.tire_pressures = [{\"location\":\"front_left\"") ||
		!strings.HasSuffix(text, "(1 of 4 items failed, item 3: execution_timeout)") {
		t.Errorf("text %s", text)
	}

	// A scalar line has no items.
	sm := decodeOne(t, newDecoder(PseudoAuto), seedTopic, []byte(seedPayload))
	if strings.Contains(string(sm.AppendJSON(nil)), `"items"`) {
		t.Errorf("scalar line with items: %s", sm.AppendJSON(nil))
	}
}

// V2 whatever the key order: "version" after "data" (walked again as V2)
// gives the same updates as the documented order (walked once).
func TestV2KeyOrder(t *testing.T) {
	first := strings.TrimSpace(string(readFixture(t, "v2_issue_example.json")))
	i := strings.Index(first, `"data":`)
	last := `{` + first[i:len(first)-1] + `,` + first[1:i-1] + `}`
	if !strings.HasSuffix(last, `"vin":"EXV10000000"}`) || !json.Valid([]byte(last)) {
		t.Fatalf("reordering went wrong: %s", last)
	}
	var got [2][]string
	for k, payload := range []string{first, last} {
		// On a V1-shaped topic too: the version decides.
		for _, topic := range []string{"live/level13/x", "live/level13/APP/EXV10000000/diagnostics/get/odometer"} {
			msgs, err := newDecoder("").decode(topic, []byte(payload))
			if err != nil {
				t.Fatalf("%s: %v", topic, err)
			}
			var lines []string
			for i := range msgs {
				lines = append(lines, string(msgs[i].AppendJSON(nil)))
			}
			if got[k] != nil && strings.Join(got[k], "\n") != strings.Join(lines, "\n") {
				t.Errorf("topic changed the updates")
			}
			got[k] = lines
		}
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") || len(got[0]) != 3 {
		t.Errorf("key order changed the updates:\n%s\n---\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
}

// A payload that names its version twice is read as the last one says;
// nothing of the other reading is left behind.
func TestVersionNamedTwice(t *testing.T) {
	payload := `{"version":2,"vin":"WBA12345678901234","data":{"diagnostics":{"odometer":{"data":1},"speed":[{"data":2}],"x":5}},"version":1}`
	d := newDecoder("")
	msgs, err := d.decode(topicFor("WBA12345678901234", "diagnostics", "odometer"), []byte(payload))
	if err != nil || len(msgs) != 1 || msgs[0].Version != 1 || string(msgs[0].Data) != "1" || d.skipped != 0 {
		t.Errorf("%+v %v skipped %d", msgs, err, d.skipped)
	}
}

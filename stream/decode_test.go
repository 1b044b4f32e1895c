package stream

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The example from document 001, byte for byte.
const seedTopic = "/live/level13/1FBBEDED80595912588FF4FF/26ace79449aae32d80dd5315a23e795da9323626/diagnostics/get/odometer"
const seedPayload = `{
   "message_id": "B10BB67D6B4D2EBAB49FD3F81D41111C2AC0D6E0816DE47F87DCDD1388F3D911",
   "version":1,
   "vin": "26ace79449aae32d80dd5315a23e795da9323626",
   "capability": "diagnostics",
   "property": "odometer",
   "data": {
      "diagnostics": {
         "odometer": {
            "data": {
               "unit": "kilometers",
               "value": 100
            },
            "timestamp": "2022-05-01T10:33:10.000Z"
         }
      }
   }
}`

func topicFor(vehicle, capability, property string) string {
	return "/live/level13/APP/" + vehicle + "/" + capability + "/get/" + property
}

// payloadFor builds a compact seed-format payload; data is raw JSON.
func payloadFor(id, vehicle, capability, property, data, ts string) []byte {
	return []byte(fmt.Sprintf(`{"message_id":%q,"version":1,"vin":%q,"capability":%q,"property":%q,"data":{%q:{%q:{"data":%s,"timestamp":%q}}}}`,
		id, vehicle, capability, property, capability, property, data, ts))
}

// decodeOne decodes a message that must hold exactly one property update.
func decodeOne(t testing.TB, d *decoder, topic string, payload []byte) Message {
	t.Helper()
	msgs, err := d.decode(topic, payload)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1: %+v", len(msgs), msgs)
	}
	return msgs[0]
}

func TestDecodeSeedExample(t *testing.T) {
	m := decodeOne(t, newDecoder(PseudoAuto), seedTopic, []byte(seedPayload))
	if m.Vehicle != "26ace79449aae32d80dd5315a23e795da9323626" || !m.Pseudonym {
		t.Errorf("vehicle %q pseudonym %v", m.Vehicle, m.Pseudonym)
	}
	if m.Capability != "diagnostics" || m.Property != "odometer" {
		t.Errorf("name %s.%s", m.Capability, m.Property)
	}
	if got := string(m.Data); got != `{"unit":"kilometers","value":100}` {
		t.Errorf("data %s", got)
	}
	if want := time.Date(2022, 5, 1, 10, 33, 10, 0, time.UTC); !m.Timestamp.Equal(want) {
		t.Errorf("timestamp %v", m.Timestamp)
	}
	if string(m.MessageID) != "B10BB67D6B4D2EBAB49FD3F81D41111C2AC0D6E0816DE47F87DCDD1388F3D911" {
		t.Errorf("message id %s", m.MessageID)
	}
	v := RenderValue(m.Capability, m.Property, m.Data)
	if v.Text != "100" || v.Unit != "km" || !v.Numeric || v.Number != 100 {
		t.Errorf("render %+v", v)
	}
}

func TestDecodeVariants(t *testing.T) {
	const vin = "WBA12345678901234"
	cases := []struct {
		name, topic, payload, mode string
		vehicle, capability, prop  string
		pseudonym                  bool
		data                       string
		failure                    string
	}{
		{name: "no leading slash, sandbox", topic: "sandbox/level13/APP/" + vin + "/charging/get/battery_level",
			payload: string(payloadFor("1", vin, "charging", "battery_level", "0.42", "2024-01-02T03:04:05Z")),
			vehicle: vin, capability: "charging", prop: "battery_level", data: "0.42"},
		{name: "HM sandbox VIN with O is still a VIN in auto mode", topic: topicFor("1HMO0000000000001", "doors", "locks_state"),
			payload: string(payloadFor("2", "1HMO0000000000001", "doors", "locks_state", `"locked"`, "2024-01-02T03:04:05.123456+02:00")),
			vehicle: "1HMO0000000000001", capability: "doors", prop: "locks_state", data: `"locked"`},
		{name: "pseudonymized=true labels even a VIN-shaped id", mode: PseudoTrue, topic: topicFor(vin, "doors", "locks_state"),
			payload: string(payloadFor("3", vin, "doors", "locks_state", `"locked"`, "2024-01-02T03:04:05Z")),
			vehicle: vin, pseudonym: true, capability: "doors", prop: "locks_state", data: `"locked"`},
		{name: "pseudonymized=false", mode: PseudoFalse, topic: topicFor("abc", "doors", "locks_state"),
			payload: string(payloadFor("4", "abc", "doors", "locks_state", `"locked"`, "2024-01-02T03:04:05Z")),
			vehicle: "abc", capability: "doors", prop: "locks_state", data: `"locked"`},
		{name: "deprecated mileage becomes odometer", topic: topicFor(vin, "diagnostics", "mileage"),
			payload: string(payloadFor("5", vin, "diagnostics", "mileage", `{"unit":"miles","value":7}`, "2024-01-02T03:04:05Z")),
			vehicle: vin, capability: "diagnostics", prop: "odometer", data: `{"unit":"miles","value":7}`},
		{name: "deprecated ignition.status becomes state", topic: topicFor(vin, "ignition", "status"),
			payload: string(payloadFor("6", vin, "ignition", "status", `"on"`, "2024-01-02T03:04:05Z")),
			vehicle: vin, capability: "ignition", prop: "state", data: `"on"`},
		{name: "failure inside the property", topic: topicFor(vin, "diagnostics", "odometer"),
			payload: `{"message_id":"7","vin":"` + vin + `","data":{"diagnostics":{"odometer":{"failure":{"reason":"rate_limit","description":"Try later"},"timestamp":"2024-01-02T03:04:05Z"}}}}`,
			vehicle: vin, capability: "diagnostics", prop: "odometer", failure: "rate_limit/Try later"},
		{name: "failure instead of data", topic: topicFor(vin, "diagnostics", "odometer"),
			payload: `{"message_id":"8","vin":"` + vin + `","failure":{"reason":"unsupported","description":"no"}}`,
			vehicle: vin, capability: "diagnostics", prop: "odometer", failure: "unsupported/no"},
		{name: "no message_id, no vin, no timestamp", topic: topicFor(vin, "diagnostics", "speed"),
			payload: `{"data":{"diagnostics":{"speed":{"data":{"unit":"kilometers_per_hour","value":88.5}}}}}`,
			vehicle: vin, capability: "diagnostics", prop: "speed", data: `{"unit":"kilometers_per_hour","value":88.5}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := decodeOne(t, newDecoder(c.mode), c.topic, []byte(c.payload))
			if m.Vehicle != c.vehicle || m.Pseudonym != c.pseudonym || m.Capability != c.capability || m.Property != c.prop {
				t.Errorf("got %q pseudonym=%v %s.%s", m.Vehicle, m.Pseudonym, m.Capability, m.Property)
			}
			if string(m.Data) != c.data {
				t.Errorf("data %q, want %q", m.Data, c.data)
			}
			gotFailure := ""
			if m.Failure != nil {
				gotFailure = m.Failure.Reason + "/" + m.Failure.Description
			}
			if gotFailure != c.failure {
				t.Errorf("failure %q, want %q", gotFailure, c.failure)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	const vin = "WBA12345678901234"
	good := payloadFor("1", vin, "diagnostics", "odometer", "1", "2024-01-02T03:04:05Z")
	cases := map[string]struct {
		topic   string
		payload string
	}{
		"not JSON":              {topicFor(vin, "diagnostics", "odometer"), "hello"},
		"truncated":             {topicFor(vin, "diagnostics", "odometer"), string(good[:len(good)-3])},
		"trailing garbage":      {topicFor(vin, "diagnostics", "odometer"), string(good) + "x"},
		"array":                 {topicFor(vin, "diagnostics", "odometer"), "[1,2]"},
		"empty":                 {topicFor(vin, "diagnostics", "odometer"), ""},
		"vin differs":           {topicFor("WBA00000000000000", "diagnostics", "odometer"), string(good)},
		"other property":        {topicFor(vin, "diagnostics", "speed"), string(good)},
		"no data nor failure":   {topicFor(vin, "diagnostics", "odometer"), `{"message_id":"1"}`},
		"topic too short":       {"/live/level13/APP/" + vin + "/diagnostics", string(good)},
		"topic too long":        {topicFor(vin, "diagnostics", "odometer") + "/x", string(good)},
		"topic not get":         {"/live/level13/APP/" + vin + "/diagnostics/set/odometer", string(good)},
		"topic other root":      {"/test/level13/APP/" + vin + "/diagnostics/get/odometer", string(good)},
		"topic empty vehicle":   {"/live/level13/APP//diagnostics/get/odometer", string(good)},
		"bad escape":            {topicFor(vin, "diagnostics", "odometer"), `{"data":{"diagnostics":{"odometer":{"data":"\q"}}}}`},
		"raw control in string": {topicFor(vin, "diagnostics", "odometer"), "{\"data\":{\"diagnostics\":{\"odometer\":{\"data\":\"a\x1bb\"}}}}"},
		"message_id not string": {topicFor(vin, "diagnostics", "odometer"), `{"message_id":5,"data":{"diagnostics":{"odometer":{"data":1}}}}`},
		"too deep":              {topicFor(vin, "diagnostics", "odometer"), `{"data":{"diagnostics":{"odometer":{"data":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}}`},
		"bad number":            {topicFor(vin, "diagnostics", "odometer"), `{"data":{"diagnostics":{"odometer":{"data":01}}}}`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if msgs, err := newDecoder("").decode(c.topic, []byte(c.payload)); err == nil {
				t.Fatalf("decoded %+v", msgs)
			}
		})
	}
}

// Hostile strings: every one must come out terminal-safe, wherever it hides.
func TestDecodeSanitizes(t *testing.T) {
	hostile := []string{
		"\x1b]0;owned\x07",           // OSC window title
		"\x1b]8;;http://x\x1b\\link", // OSC hyperlink with ST
		"\x1b[2J\x1b[H",              // CSI clear screen, home
		"\u009b31m",                  // C1 CSI
		"\u009d0;t\u009c",            // C1 OSC
		"a\u202eb",                   // bidi override
		"bad\xff\xfeutf8",            // invalid UTF-8
		"tab\tnew\nline",
	}
	for i, h := range hostile {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			js, _ := json.Marshal(h)                           // escapes controls as \u00XX, keeps C1 as UTF-8
			vehicle := "veh" + strings.ReplaceAll(h, "/", "_") // a topic segment cannot hold a slash
			payload := `{"message_id":` + string(js) + `,"data":{"doors":{"locks_state":{"data":{"value":` + string(js) + `,"list":[` + string(js) + `],` + string(js) + `:1},"timestamp":"2024-01-02T03:04:05Z"}}}}`
			m := decodeOne(t, newDecoder(""), topicFor("v", "doors", "locks_state"), []byte(payload))
			checkSafe(t, &m)

			// A vehicle id that needed making safe is refused, not made
			// safe: it would pass for the id it imitates (suspicious.go).
			if _, err := newDecoder("").decode(topicFor(vehicle, "doors", "locks_state"), []byte(payload)); !isSuspicious(err) {
				t.Errorf("vehicle %q: %v, want it refused as suspicious", vehicle, err)
			}

			fail := `{"data":{"doors":{"locks_state":{"failure":{"reason":` + string(js) + `,"description":` + string(js) + `}}}}}`
			m = decodeOne(t, newDecoder(""), topicFor("v", "doors", "locks_state"), []byte(fail))
			checkSafe(t, &m)

			// The same bytes raw inside the JSON string (where JSON allows
			// them: everything but C0).
			if !strings.ContainsAny(h, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x1b") {
				raw := `{"data":{"doors":{"locks_state":{"data":"` + h + `"}}}}`
				m = decodeOne(t, newDecoder(""), topicFor("v", "doors", "locks_state"), []byte(raw))
				checkSafe(t, &m)
			}
		})
	}
}

func isSuspicious(err error) bool {
	_, ok := errors.AsType[*suspiciousID](err)
	return ok
}

func checkSafe(t *testing.T, m *Message) {
	t.Helper()
	for _, s := range []string{m.Vehicle, m.Capability, m.Property, string(m.Data), string(m.MessageID)} {
		if !termsafe.Safe(s) {
			t.Errorf("unsafe string %q", s)
		}
	}
	if m.Data != nil {
		// Escapes such as \u001b must not survive either: a consumer of
		// --json would decode them.
		var v any
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Errorf("data is not JSON: %q", m.Data)
		} else if s, ok := unsafeString(v); ok {
			t.Errorf("decoded data holds unsafe string %q", s)
		}
	}
	if m.Failure != nil && (!termsafe.Safe(m.Failure.Reason) || !termsafe.Safe(m.Failure.Description)) {
		t.Errorf("unsafe failure %+v", m.Failure)
	}
	v := RenderValue(m.Capability, m.Property, m.Data)
	if !termsafe.Safe(v.Text) || !termsafe.Safe(v.Unit) {
		t.Errorf("unsafe render %+v", v)
	}
	line := m.AppendJSON(nil)
	if !json.Valid(line) || !termsafe.Safe(string(line)) {
		t.Errorf("bad JSON line %q", line)
	}
	if text := m.AppendText(nil); !termsafe.Safe(string(text)) {
		t.Errorf("unsafe text line %q", text)
	}
}

func unsafeString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, !termsafe.Safe(x)
	case []any:
		for _, e := range x {
			if s, bad := unsafeString(e); bad {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range x {
			if !termsafe.Safe(k) {
				return k, true
			}
			if s, bad := unsafeString(e); bad {
				return s, true
			}
		}
	}
	return "", false
}

func TestRenderValue(t *testing.T) {
	cases := []struct {
		prop, raw, text, unit string
		numeric               bool
	}{
		{"odometer", `{"unit":"kilometers","value":100}`, "100", "km", true},
		{"speed", `{"value":88.5,"unit":"kilometers_per_hour"}`, "88.5", "km/h", true},
		{"fuel_level", `0.42`, "42", "%", true},
		{"battery_level", `{"value":0.955}`, "95.5", "%", true},
		{"coordinates", `{"latitude":52.52,"longitude":13.405}`, "52.5200, 13.4050", "", false},
		{"locks_state", `"locked"`, "locked", "", false},
		{"engine_on", `true`, "true", "", false},
		{"count", `12`, "12", "", true},
		{"tire_pressures", `[{"location":"front_left","pressure":{"unit":"bars","value":2.3}}]`, `[{"location":"front_left","pressure":{"unit":"bars","value":2.3}}]`, "", false},
		{"odd", `{"unit":"furlongs","value":3}`, "3", "furlongs", true},
	}
	for _, c := range cases {
		v := RenderValue("cap", c.prop, []byte(c.raw))
		if v.Text != c.text || v.Unit != c.unit || v.Numeric != c.numeric {
			t.Errorf("%s %s: got %+v, want %q %q numeric=%v", c.prop, c.raw, v, c.text, c.unit, c.numeric)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	for _, s := range []string{"2022-05-01T10:33:10.000Z", "2022-05-01T10:33:10Z", "2022-05-01T12:33:10+02:00", "2022-05-01T07:33:10.123456789-03:00", "2022-05-01t10:33:10z"} {
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := parseTimestamp([]byte(s))
		if !ok || got != want.UnixNano() {
			t.Errorf("%s: got %v %v, want %v", s, time.Unix(0, got).UTC(), ok, want.UTC())
		}
	}
	for _, s := range []string{"", "2022-05-01", "2022-13-01T10:33:10Z", "2022-05-01T10:33:10", "2022-05-01T10:33:10.Z", "2022-05-01T10:33:10+0200", "yyyy-05-01T10:33:10Z"} {
		if _, ok := parseTimestamp([]byte(s)); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(seedTopic, []byte(seedPayload))
	f.Add(topicFor("WBA12345678901234", "diagnostics", "mileage"), payloadFor("x", "WBA12345678901234", "diagnostics", "mileage", `{"unit":"miles","value":1}`, "2024-01-02T03:04:05Z"))
	f.Add(topicFor("v\x1b[2J", "doors", "locks_state"), []byte(`{"message_id":"\u001b]0;t\u0007","data":{"doors":{"locks_state":{"data":"\u009b1m\u001b[31m","timestamp":"x"}}}}`))
	f.Add(topicFor("v", "doors", "locks_state"), []byte(`{"data":{"doors":{"locks_state":{"failure":{"reason":"\u001b]0;x\u0007","description":"bad\udfff"}}}}}`))
	f.Add("live/level13/a/b/c/get/d", []byte(`{"data":{"c":{"d":{"data":[1,{"a":"\u0085"}]}}}}`))
	// Lists (V1) and V2, from the fixtures.
	for _, fx := range fixtures {
		payload, err := os.ReadFile(filepath.Join("testdata", "payloads", fx.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(fx.topic, payload)
	}
	f.Add("live/level13/APP", []byte(`{"version":2,"message_id":"\u001b[2J","vin":"v\u009b","data":{"c\u001b":{"p\u202e":[{"data":"\u001b]0;x\u0007","timestamp":"2025-08-12T16:07:48.000Z"},{"failure":{"reason":"\u001b","description":"x"}}]}}}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		msgs, err := newDecoder("").decode(topic, payload)
		if err != nil {
			return
		}
		if len(msgs) == 0 {
			t.Fatal("no error and no message")
		}
		for i := range msgs {
			m := &msgs[i]
			checkSafe(t, m)
			if m.Data != nil && !json.Valid(m.Data) {
				t.Errorf("data is not JSON: %q", m.Data)
			}
			if m.List {
				var arr []json.RawMessage
				if err := json.Unmarshal(m.Data, &arr); err != nil || len(arr) != len(m.Items) {
					t.Errorf("list data %q does not hold its %d items", m.Data, len(m.Items))
				}
			}
			// What the store keeps must come back as safe as it went in.
			s := NewStore(StoreOptions{})
			m.Arrival = time.Now()
			if err := s.Apply(m); err != nil {
				t.Fatal(err)
			}
			for _, p := range s.Vehicle(m.Vehicle) {
				if !termsafe.Safe(p.Value) || !termsafe.Safe(p.Capability) || !termsafe.Safe(p.Name) {
					t.Errorf("unsafe stored property %+v", p)
				}
				for _, it := range p.Items {
					if !termsafe.Safe(it.Value) || !termsafe.Safe(it.Raw) {
						t.Errorf("unsafe stored item %+v", it)
					}
				}
			}
		}
	})
}

package stream

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// v2Sample is a V2 message of 10 properties across 3 capabilities, as
// bench/publish -v2 sends it.
func v2Sample(vehicle string, i int) []byte {
	return []byte(fmt.Sprintf(`{"version":2,"application_id":"1FBBEDED80595912588FF4FF","message_id":"%064X","vin":%q,"data":{`+
		`"diagnostics":{"odometer":[{"data":{"unit":"kilometers","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"speed":[{"data":{"unit":"kilometers_per_hour","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"fuel_level":[{"data":0.%02d,"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"engine_coolant_temperature":[{"data":{"unit":"celsius","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"engine_rpm":[{"data":{"unit":"revolutions_per_minute","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"battery_voltage":[{"data":{"unit":"volts","value":12.%d},"timestamp":"2024-05-01T10:33:10.000Z"}]},`+
		`"vehicle_location":{"coordinates":[{"data":{"latitude":52.5%d,"longitude":13.4},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"heading":[{"data":{"unit":"degrees","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}],`+
		`"altitude":[{"data":{"unit":"meters","value":%d},"timestamp":"2024-05-01T10:33:10.000Z"}]},`+
		`"ignition":{"state":[{"data":"on","timestamp":"2024-05-01T10:33:10.000Z"}]}}}`,
		i+1, vehicle, i%100, i%100, i%100, i%100, i%100, i%100, i%100, i%100, i%100))
}

// BenchmarkIngestV2: decode + dedup + store + the tail's JSON line for a V2
// message of 10 properties, over 10,000 vehicles.
func BenchmarkIngestV2(b *testing.B) {
	const vehicles = 10_000
	payloads := make([][]byte, vehicles)
	for v := range payloads {
		payloads[v] = v2Sample(sampleVehicle(v), v)
	}
	idAt := strings.Index(string(payloads[0]), `"message_id":"`) + len(`"message_id":"`)
	var line []byte
	p := NewPipeline(PipelineOptions{OnMessage: func(m *Message) {
		line = append(m.AppendJSON(line[:0]), '\n')
		_, _ = io.Discard.Write(line)
	}})
	w := p.newWorker(nil)
	now := time.Now().UnixNano()
	var idHex [8]byte
	b.SetBytes(int64(len(payloads[0])))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pl := payloads[i%vehicles]
		hex.Encode(idHex[:], []byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		copy(pl[idAt:], idHex[:])
		it := inboxItem{topic: "live/level13/1FBBEDED80595912588FF4FF", payload: pl, arrival: now}
		w.process(&it)
	}
	b.StopTimer()
	if st := p.Stats(); st.Applied != uint64(b.N)*10 {
		b.Fatalf("applied %d of %d: %+v", st.Applied, b.N*10, st)
	}
}

package stream

import (
	"fmt"
	"strconv"
)

// sampleProp is one property of the test fleet, as telemetrygen would send it.
type sampleProp struct {
	capability, property string
	numeric              bool
	value                func(i int) string // raw JSON of the value for the i-th sample
}

// sampleCatalog is a realistic mix of 20 properties: 12 numbers (with units,
// fractions, plain), 8 others (strings, coordinates, arrays).
func sampleCatalog() []sampleProp {
	unit := func(u string, base, step float64) func(int) string {
		return func(i int) string {
			return `{"unit":"` + u + `","value":` + strconv.FormatFloat(base+step*float64(i%97), 'f', 1, 64) + `}`
		}
	}
	frac := func(i int) string { return strconv.FormatFloat(float64(i%100)/100, 'f', 2, 64) }
	word := func(ws ...string) func(int) string {
		return func(i int) string { return strconv.Quote(ws[i%len(ws)]) }
	}
	return []sampleProp{
		{"diagnostics", "odometer", true, unit("kilometers", 12000, 1.5)},
		{"diagnostics", "speed", true, unit("kilometers_per_hour", 0, 1)},
		{"diagnostics", "fuel_level", true, frac},
		{"diagnostics", "engine_coolant_temperature", true, unit("celsius", 80, 0.1)},
		{"diagnostics", "engine_rpm", true, unit("revolutions_per_minute", 800, 10)},
		{"diagnostics", "battery_voltage", true, unit("volts", 12, 0.01)},
		{"diagnostics", "estimated_range", true, unit("kilometers", 300, -1)},
		{"charging", "battery_level", true, frac},
		{"charging", "charging_rate", true, unit("kilowatts", 0, 0.5)},
		{"climate", "outside_temperature", true, unit("celsius", 10, 0.1)},
		{"climate", "inside_temperature", true, unit("celsius", 20, 0.1)},
		{"trips", "count", true, func(i int) string { return strconv.Itoa(i) }},
		{"vehicle_location", "coordinates", false, func(i int) string {
			return fmt.Sprintf(`{"latitude":%.6f,"longitude":%.6f}`, 52.52+float64(i%100)/1e4, 13.405+float64(i%100)/1e4)
		}},
		{"doors", "locks_state", false, word("locked", "unlocked")},
		{"ignition", "state", false, word("on", "off", "accessory")},
		{"charging", "status", false, word("charging", "not_charging", "fully_charged")},
		{"lights", "front_exterior_light", false, word("inactive", "active", "active_with_full_beam")},
		{"windows", "open_percentages", false, func(i int) string {
			return `[{"location":"front_left","open_percentage":` + strconv.Itoa(i%2) + `},{"location":"front_right","open_percentage":0}]`
		}},
		{"engine", "status", false, word("on", "off")},
		{"vehicle_information", "model_name", false, word("Model X")},
	}
}

// sampleVehicle names the n-th test vehicle: a pseudonym (40 hex), as in
// document 001.
func sampleVehicle(n int) string { return fmt.Sprintf("%040x", n*7919+1) }

// samplePayload builds a compact seed-format payload of about 300 bytes.
func samplePayload(n int, vehicle string, p sampleProp, sample int) []byte {
	return payloadFor(fmt.Sprintf("%064X", n), vehicle, p.capability, p.property, p.value(sample), "2024-05-01T10:33:10.000Z")
}

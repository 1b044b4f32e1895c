package stream

import (
	"math"
	"strconv"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Value is a property value ready to show: display text, a short unit, and
// the number behind it when there is one (for sparklines).
type Value struct {
	Text    string
	Unit    string
	Numeric bool
	Number  float64
}

// maxValueText bounds the display text of structured values (arrays, odd
// objects): the detail pane has one line per property.
const maxValueText = 160

// RenderValue renders the raw JSON of a value as the Telemetry view and
// `telemetry tail` show it. raw must be what the pipeline stored (already
// terminal-safe); strings are sanitized again anyway so the function is safe
// on any input.
func RenderValue(capability, property string, raw []byte) Value {
	if len(raw) == 0 {
		return Value{}
	}
	switch c := raw[0]; {
	case c == '-' || isDigit(c):
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return Value{Text: clip(string(raw))}
		}
		if isFraction(property) {
			return percent(f)
		}
		return Value{Text: string(raw), Numeric: true, Number: f}
	case c == '"':
		s, err := unquote(raw[1 : len(raw)-1])
		if err != nil {
			return Value{Text: clip(termsafe.String(string(raw)))}
		}
		return Value{Text: clip(termsafe.String(s))}
	case c == '{':
		if v, ok := field(raw, "value"); ok {
			unit := ""
			if u, ok := field(raw, "unit"); ok && u[0] == '"' {
				if s, err := unquote(u[1 : len(u)-1]); err == nil {
					unit = shortUnit(termsafe.String(s))
				}
			}
			inner := RenderValue(capability, property, v)
			if unit != "" {
				inner.Unit = unit
			}
			return inner
		}
		lat, ok1 := field(raw, "latitude")
		lon, ok2 := field(raw, "longitude")
		if ok1 && ok2 {
			la, err1 := strconv.ParseFloat(string(lat), 64)
			lo, err2 := strconv.ParseFloat(string(lon), 64)
			if err1 == nil && err2 == nil {
				return Value{Text: strconv.FormatFloat(la, 'f', 4, 64) + ", " + strconv.FormatFloat(lo, 'f', 4, 64)}
			}
		}
	}
	return Value{Text: clip(termsafe.String(string(raw)))}
}

// numberOf extracts the number a sparkline plots: a bare number or the
// "value" of a {"value","unit"} object. It does not allocate.
func numberOf(raw []byte) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '{' {
		v, ok := field(raw, "value")
		if !ok {
			return 0, false
		}
		raw = v
	}
	if raw[0] != '-' && !isDigit(raw[0]) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

func percent(f float64) Value {
	p := f
	if f >= 0 && f <= 1 {
		p = f * 100
	}
	return Value{Text: strconv.FormatFloat(math.Round(p*10)/10, 'f', -1, 64), Unit: "%", Numeric: true, Number: p}
}

func clip(s string) string {
	if len(s) <= maxValueText {
		return s
	}
	cut := maxValueText
	for cut > 0 && s[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// isFraction lists Auto API properties sent as a fraction of one (0.42 =
// 42 %).
func isFraction(property string) bool {
	switch property {
	case "fuel_level", "battery_level", "charge_limit", "battery_level_at_departure",
		"engine_oil_life_remaining", "adblue_level", "state_of_charge", "estimated_state_of_charge",
		"engine_load", "accelerator_pedal_position", "brake_pedal_position", "battery_state_of_health":
		return true
	}
	return false
}

// shortUnit maps Auto API unit names to what people write.
func shortUnit(u string) string {
	switch u {
	case "kilometers":
		return "km"
	case "meters":
		return "m"
	case "centimeters":
		return "cm"
	case "millimeters":
		return "mm"
	case "miles":
		return "mi"
	case "feet":
		return "ft"
	case "yards":
		return "yd"
	case "inches":
		return "in"
	case "kilometers_per_hour":
		return "km/h"
	case "miles_per_hour":
		return "mph"
	case "meters_per_second":
		return "m/s"
	case "knots":
		return "kn"
	case "celsius":
		return "°C"
	case "fahrenheit":
		return "°F"
	case "kelvin":
		return "K"
	case "liters":
		return "L"
	case "milliliters":
		return "mL"
	case "gallons":
		return "gal"
	case "imperial_gallons":
		return "imp gal"
	case "cubic_meters":
		return "m³"
	case "bars":
		return "bar"
	case "pascals":
		return "Pa"
	case "kilopascals":
		return "kPa"
	case "pounds_force_per_square_inch":
		return "psi"
	case "kilowatt_hours":
		return "kWh"
	case "watt_hours":
		return "Wh"
	case "kilowatts":
		return "kW"
	case "watts":
		return "W"
	case "horsepower":
		return "hp"
	case "volts":
		return "V"
	case "millivolts":
		return "mV"
	case "amperes":
		return "A"
	case "milliamperes":
		return "mA"
	case "seconds":
		return "s"
	case "milliseconds":
		return "ms"
	case "minutes":
		return "min"
	case "hours":
		return "h"
	case "days":
		return "d"
	case "revolutions_per_minute":
		return "rpm"
	case "degrees":
		return "°"
	case "radians":
		return "rad"
	case "liters_per_100_kilometers":
		return "L/100km"
	case "kilometers_per_liter":
		return "km/L"
	case "miles_per_gallon":
		return "mpg"
	case "kilowatt_hours_per_100_kilometers":
		return "kWh/100km"
	case "kilograms":
		return "kg"
	case "newton_meters":
		return "N·m"
	case "meters_per_second_squared":
		return "m/s²"
	case "percent", "percentage":
		return "%"
	}
	return u
}

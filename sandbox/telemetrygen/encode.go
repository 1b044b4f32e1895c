package telemetrygen

import (
	"math"
	"strconv"
	"time"
)

// propID names one Auto API property the generator publishes.
type propID uint8

const (
	pOdometer propID = iota
	pSpeed
	pCoordinates
	pHeading
	pIgnition
	pLocks
	pBatteryVoltage
	pRange
	pFuel
	pCoolant
	pRPM
	pBatteryLevel
	pChargingStatus
	pChargingRate
	pTroubleCodes  // list: {occurrences, id, ecu_id, status, system}
	pBulbFailures  // list: bulb names
	pTirePressures // list: {location, pressure}
	numProps
)

// propDef is a property as Auto API level 13 names it, with its unit where
// the value is a measurement.
type propDef struct {
	capability, property, unit string
	list                       bool // multi-valued: an array of items even in V1
}

// Read-only tables.
var (
	catalog = [numProps]propDef{
		pOdometer:       {"diagnostics", "odometer", "kilometers", false},
		pSpeed:          {"diagnostics", "speed", "kilometers_per_hour", false},
		pCoordinates:    {"vehicle_location", "coordinates", "", false},
		pHeading:        {"vehicle_location", "heading", "degrees", false},
		pIgnition:       {"ignition", "state", "", false},
		pLocks:          {"doors", "locks_state", "", false},
		pBatteryVoltage: {"diagnostics", "battery_voltage", "volts", false},
		pRange:          {"diagnostics", "estimated_range", "kilometers", false},
		pFuel:           {"diagnostics", "fuel_level", "", false}, // percentage as a 0..1 fraction
		pCoolant:        {"diagnostics", "engine_coolant_temperature", "celsius", false},
		pRPM:            {"diagnostics", "engine_rpm", "revolutions_per_minute", false},
		pBatteryLevel:   {"charging", "battery_level", "", false}, // percentage as a 0..1 fraction
		pChargingStatus: {"charging", "status", "", false},
		pChargingRate:   {"charging", "charging_rate", "kilowatts", false},
		pTroubleCodes:   {"diagnostics", "trouble_codes", "", true},
		pBulbFailures:   {"dashboard_lights", "bulb_failures", "", true},
		pTirePressures:  {"diagnostics", "tire_pressures", "bars", true},
	}
	commonProps = []propID{pOdometer, pSpeed, pCoordinates, pIgnition, pHeading, pLocks, pBatteryVoltage, pRange,
		pTroubleCodes, pTirePressures, pBulbFailures}
	combustionProps = append(append([]propID{}, commonProps...), pFuel, pCoolant, pRPM)
	electricProps   = append(append([]propID{}, commonProps...), pBatteryLevel, pChargingStatus, pChargingRate)
	// propertyFragments holds, per property, the constant JSON between the
	// vin value and the property's value, e.g.
	// `,"capability":"diagnostics","property":"odometer","data":{"diagnostics":{"odometer":`.
	propertyFragments = func() (f [numProps]string) {
		for i, d := range catalog {
			f[i] = `,"capability":"` + d.capability + `","property":"` + d.property +
				`","data":{"` + d.capability + `":{"` + d.property + `":`
		}
		return f
	}()
)

// Failure reasons: exactly the Auto API schema's enum (auto-api 0002
// spec.json, failure.reason).
var failureReasons = [...]struct{ reason, description string }{
	{"rate_limit", "Too many requests to the vehicle: try again later"},
	{"execution_timeout", "The vehicle did not answer in time"},
	{"format_error", "The vehicle's answer could not be read"},
	{"unauthorised", "Access to this property is not authorised"},
	{"unknown", "The vehicle returned an unknown error"},
	{"pending", "The request is still being processed by the vehicle"},
	{"oem_error", "The carmaker's service returned an error"},
	{"privacy_mode_active", "The driver has turned on privacy mode"},
}

// troubleDef is a diagnostic trouble code the simulator may raise.
type troubleDef struct{ id, ecuID, system string }

type troubleCode struct {
	troubleDef
	occurrences int
	status      string  // PENDING, then CONFIRMED
	age, left   float64 // seconds since raised, until cleared
}

var troubleCatalog = [...]troubleDef{
	{"P0420", "ECM", "powertrain"},
	{"P0171", "ECM", "powertrain"},
	{"P0128", "ECM", "powertrain"},
	{"C1116FA", "RDU_212FR", "unknown"},
	{"C163AFA", "DTR212", "body"},
	{"B1342", "ACM", "body"},
	{"U0100", "BCM", "network"},
}

// bulbNames are values of dashboard_lights.bulb_failures.
var bulbNames = [...]string{
	"turn_signal_left", "turn_signal_right", "low_beam_left", "low_beam_right", "high_beam",
	"fog_light_front", "stop", "reverse", "license_plate",
}

var tireLocations = [4]string{"front_left", "front_right", "rear_left", "rear_right"}

const timestampLayout = "2006-01-02T15:04:05.000Z"

// appendMessage writes one V1 message in the seed's format:
// {"message_id","version","vin","capability","property","data":{cap:{prop:P}}}
// where P is {"data"|"failure", "timestamp"} or, for a multi-valued
// property, an array of such items. failure < 0 means a value; otherwise it
// indexes failureReasons.
// With top set, the message also carries a top-level "timestamp", as High
// Mobility's V1 messages may (the seed's example has none).
func appendMessage(b []byte, id *[32]byte, vin string, v *vehicle, p propID, failure int, ts time.Time, top bool) []byte {
	b = append(b, `{"message_id":"`...)
	b = appendHexUpper(b, id[:])
	b = append(b, `","version":1,"vin":`...)
	b = appendString(b, vin)
	if top {
		b = append(b, `,"timestamp":"`...)
		b = ts.UTC().AppendFormat(b, timestampLayout)
		b = append(b, '"')
	}
	b = append(b, propertyFragments[p]...)
	b = appendProperty(b, v, p, failure, ts, catalog[p].list)
	return append(b, `}}}`...)
}

// appendV2Message writes one MQTT V2 message: {"version":2,
// "application_id","message_id","vin","data":{cap:{prop:[items]}}}, every
// property an array, the properties grouped by capability. failures[i]
// belongs to props[i]; both are reordered in place.
func appendV2Message(b []byte, id *[32]byte, appID, vin string, v *vehicle, props []propID, failures []int, ts time.Time) []byte {
	// Group by capability, keeping the order within one (insertion sort:
	// there are a handful).
	for i := 1; i < len(props); i++ {
		for j := i; j > 0 && catalog[props[j]].capability < catalog[props[j-1]].capability; j-- {
			props[j], props[j-1] = props[j-1], props[j]
			failures[j], failures[j-1] = failures[j-1], failures[j]
		}
	}
	b = append(b, `{"version":2,"application_id":`...)
	b = appendString(b, appID)
	b = append(b, `,"message_id":"`...)
	b = appendHexUpper(b, id[:])
	b = append(b, `","vin":`...)
	b = appendString(b, vin)
	b = append(b, `,"data":{`...)
	for i, p := range props {
		d := catalog[p]
		switch {
		case i == 0:
			b = append(append(append(b, '"'), d.capability...), `":{`...)
		case catalog[props[i-1]].capability != d.capability:
			b = append(append(append(b, `},"`...), d.capability...), `":{`...)
		default:
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), d.property...), `":`...)
		b = appendProperty(b, v, p, failures[i], ts, true)
	}
	if len(props) > 0 {
		b = append(b, '}')
	}
	return append(b, `}}`...)
}

// appendProperty writes a property's value: one {"data"|"failure",
// "timestamp"} object, or (asArray) an array of items.
func appendProperty(b []byte, v *vehicle, p propID, failure int, ts time.Time, asArray bool) []byte {
	item := func(b []byte, data func([]byte) []byte) []byte {
		b = append(b, `{"data":`...)
		b = data(b)
		b = append(b, `,"timestamp":"`...)
		b = ts.UTC().AppendFormat(b, timestampLayout)
		return append(b, `"}`...)
	}
	if failure >= 0 {
		f := failureReasons[failure]
		if asArray {
			b = append(b, '[')
		}
		b = append(b, `{"failure":{"reason":`...)
		b = appendString(b, f.reason)
		b = append(b, `,"description":`...)
		b = appendString(b, f.description)
		b = append(b, `},"timestamp":"`...)
		b = ts.UTC().AppendFormat(b, timestampLayout)
		b = append(b, `"}`...)
		if asArray {
			b = append(b, ']')
		}
		return b
	}
	if !catalog[p].list {
		if asArray {
			b = append(b, '[')
		}
		b = item(b, func(b []byte) []byte { return appendValue(b, v, p) })
		if asArray {
			b = append(b, ']')
		}
		return b
	}
	b = append(b, '[')
	switch p {
	case pTroubleCodes:
		for i := range v.codes {
			c := &v.codes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = item(b, func(b []byte) []byte {
				b = append(b, `{"occurrences":`...)
				b = strconv.AppendInt(b, int64(c.occurrences), 10)
				b = append(b, `,"id":`...)
				b = appendString(b, c.id)
				b = append(b, `,"ecu_id":`...)
				b = appendString(b, c.ecuID)
				b = append(b, `,"status":`...)
				b = appendString(b, c.status)
				b = append(b, `,"system":`...)
				b = appendString(b, c.system)
				return append(b, '}')
			})
		}
	case pBulbFailures:
		for i, name := range v.bulbs {
			if i > 0 {
				b = append(b, ',')
			}
			b = item(b, func(b []byte) []byte { return appendString(b, name) })
		}
	case pTirePressures:
		for i, loc := range tireLocations {
			if i > 0 {
				b = append(b, ',')
			}
			b = item(b, func(b []byte) []byte {
				b = append(b, `{"location":"`...)
				b = append(b, loc...)
				b = append(b, `","pressure":`...)
				b = appendMeasurement(b, p, v.tirePressure(i), 2)
				return append(b, '}')
			})
		}
	}
	return append(b, ']')
}

// appendValue writes the Auto API data value of a single-valued p.
func appendValue(b []byte, v *vehicle, p propID) []byte {
	switch p {
	case pOdometer:
		return appendMeasurement(b, p, v.odometer, 1)
	case pSpeed:
		return appendMeasurement(b, p, v.speed, 1)
	case pCoordinates:
		b = append(b, `{"latitude":`...)
		b = appendFloat(b, v.lat(), 6)
		b = append(b, `,"longitude":`...)
		b = appendFloat(b, v.lon(), 6)
		return append(b, '}')
	case pHeading:
		return appendMeasurement(b, p, v.heading, 1)
	case pIgnition:
		return appendString(b, v.ignition)
	case pLocks:
		return appendString(b, v.locksState())
	case pBatteryVoltage:
		return appendMeasurement(b, p, v.voltage, 2)
	case pRange:
		return appendMeasurement(b, p, v.rangeKm(), 0)
	case pFuel:
		return appendFloat(b, v.fuel, 3)
	case pCoolant:
		return appendMeasurement(b, p, v.coolant, 1)
	case pRPM:
		return appendMeasurement(b, p, v.rpm, 0)
	case pBatteryLevel:
		return appendFloat(b, v.battery, 3)
	case pChargingStatus:
		return appendString(b, v.chargingStatus())
	case pChargingRate:
		return appendMeasurement(b, p, v.chargeKW, 1)
	}
	return append(b, "null"...)
}

// Measurement is an Auto API unit-and-value object.
type Measurement struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// Coordinates is Auto API vehicle_location.coordinates.
type Coordinates struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// commandData is what a command returns from the vehicle, with mobway's
// names and units (docs.mobway.cloud, "Command informations"): nothing for
// the doors and the ignition (mobway adds date_time), latitude and
// longitude (at most 7 decimals) for location, data points for
// diagnostics.
func commandData(v *vehicle, command string) map[string]any {
	switch command {
	case "location":
		return map[string]any{"latitude": round(v.lat(), 7), "longitude": round(v.lon(), 7)}
	case "diagnostics":
		psi := func(i int) float64 { return round(v.tirePressure(i)*14.5038, 2) }
		d := map[string]any{
			"odometer":                  round(v.odometer, 2),
			"left_front_tire_pressure":  psi(0),
			"right_front_tire_pressure": psi(1),
			"left_rear_tire_pressure":   psi(2),
			"right_rear_tire_pressure":  psi(3),
			"lv_battery_voltage":        round(v.voltage, 2),
			"system_power_mode":         powerMode(v.ignition),
		}
		if v.electric {
			d["hv_battery_soc"] = round(v.battery*100, 2)
			d["range"] = round(v.rangeKm(), 2)
			d["hv_battery_charging_status"] = map[bool]string{true: "charging", false: "not charging"}[v.phase == charging && v.chargeKW > 0]
		} else {
			d["fuel_level"] = round(v.fuel*100, 2)
			d["fuel_amount"] = round(v.fuel*tankLitres, 2)
			d["fuel_capacity"] = tankLitres
			d["fuel_range"] = round(v.rangeKm(), 2)
		}
		return d
	}
	return nil
}

// powerMode is mobway's system_power_mode for an Auto API ignition state.
func powerMode(ignition string) string {
	switch ignition {
	case "on", "start":
		return "on"
	case "accessory":
		return "accessory"
	}
	return "off"
}

func round(x float64, prec int) float64 {
	f, _ := strconv.ParseFloat(string(appendFloat(nil, x, prec)), 64)
	return f
}

func appendMeasurement(b []byte, p propID, x float64, prec int) []byte {
	b = append(b, `{"unit":"`...)
	b = append(b, catalog[p].unit...)
	b = append(b, `","value":`...)
	b = appendFloat(b, x, prec)
	return append(b, '}')
}

// appendFloat writes x with at most prec decimals and no trailing zeros
// ("100", "12.5"); NaN and infinities, which JSON cannot carry, become 0.
func appendFloat(b []byte, x float64, prec int) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	start := len(b)
	b = strconv.AppendFloat(b, x, 'f', prec, 64)
	if prec > 0 {
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
		if b[len(b)-1] == '.' {
			b = b[:len(b)-1]
		}
	}
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}

const hexUpper = "0123456789ABCDEF"

func appendHexUpper(b, src []byte) []byte {
	for _, c := range src {
		b = append(b, hexUpper[c>>4], hexUpper[c&0x0f])
	}
	return b
}

// appendString writes s as a JSON string. The strings here are ours or
// VINs and pseudonyms, but escape properly anyway.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0x0f])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

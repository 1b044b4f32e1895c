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
	numProps
)

// propDef is a property as Auto API level 13 names it, with its unit where
// the value is a measurement.
type propDef struct {
	capability, property, unit string
}

// Read-only tables.
var (
	catalog = [numProps]propDef{
		pOdometer:       {"diagnostics", "odometer", "kilometers"},
		pSpeed:          {"diagnostics", "speed", "kilometers_per_hour"},
		pCoordinates:    {"vehicle_location", "coordinates", ""},
		pHeading:        {"vehicle_location", "heading", "degrees"},
		pIgnition:       {"ignition", "state", ""},
		pLocks:          {"doors", "locks_state", ""},
		pBatteryVoltage: {"diagnostics", "battery_voltage", "volts"},
		pRange:          {"diagnostics", "estimated_range", "kilometers"},
		pFuel:           {"diagnostics", "fuel_level", ""}, // percentage as a 0..1 fraction
		pCoolant:        {"diagnostics", "engine_coolant_temperature", "celsius"},
		pRPM:            {"diagnostics", "engine_rpm", "revolutions_per_minute"},
		pBatteryLevel:   {"charging", "battery_level", ""}, // percentage as a 0..1 fraction
		pChargingStatus: {"charging", "status", ""},
		pChargingRate:   {"charging", "charging_rate", "kilowatts"},
	}
	commonProps     = []propID{pOdometer, pSpeed, pCoordinates, pIgnition, pHeading, pLocks, pBatteryVoltage, pRange}
	combustionProps = append(append([]propID{}, commonProps...), pFuel, pCoolant, pRPM)
	electricProps   = append(append([]propID{}, commonProps...), pBatteryLevel, pChargingStatus, pChargingRate)
	// propertyFragments holds, per property, the constant JSON between the
	// vin value and the property's value object, e.g.
	// `,"capability":"diagnostics","property":"odometer","data":{"diagnostics":{"odometer":{`.
	propertyFragments = func() (f [numProps]string) {
		for i, d := range catalog {
			f[i] = `,"capability":"` + d.capability + `","property":"` + d.property +
				`","data":{"` + d.capability + `":{"` + d.property + `":{`
		}
		return f
	}()
)

// Failure reasons Auto API uses for a property that could not be read.
var failureReasons = [...]struct{ reason, description string }{
	{"rate_limit", "Too many requests to the vehicle: try again later"},
	{"unknown", "The vehicle returned an unknown error"},
	{"unsupported", "The vehicle does not support this property"},
	{"unauthorised", "Access to this property is not authorised"},
	{"execution_timeout", "The vehicle did not answer in time"},
	{"vehicle_asleep", "The vehicle is asleep"},
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

// appendMessage writes one message in the seed's format:
// {"message_id","version","vin","capability","property","data":{cap:{prop:{"data"|"failure", "timestamp"}}}}.
// failure < 0 means a value; otherwise it indexes failureReasons.
func appendMessage(b []byte, id *[32]byte, vin string, v *vehicle, p propID, failure int, ts time.Time) []byte {
	b = append(b, `{"message_id":"`...)
	b = appendHexUpper(b, id[:])
	b = append(b, `","version":1,"vin":`...)
	b = appendString(b, vin)
	b = append(b, propertyFragments[p]...)
	if failure >= 0 {
		f := failureReasons[failure]
		b = append(b, `"failure":{"reason":`...)
		b = appendString(b, f.reason)
		b = append(b, `,"description":`...)
		b = appendString(b, f.description)
		b = append(b, '}')
	} else {
		b = append(b, `"data":`...)
		b = appendValue(b, v, p)
	}
	b = append(b, `,"timestamp":"`...)
	b = ts.UTC().AppendFormat(b, timestampLayout)
	return append(b, `"}}}}`...)
}

// appendValue writes the Auto API data value of p.
func appendValue(b []byte, v *vehicle, p propID) []byte {
	switch p {
	case pOdometer:
		return appendMeasurement(b, p, v.odometer, 1)
	case pSpeed:
		return appendMeasurement(b, p, v.speed, 1)
	case pCoordinates:
		b = append(b, `{"latitude":`...)
		b = appendFloat(b, v.lat, 6)
		b = append(b, `,"longitude":`...)
		b = appendFloat(b, v.lon, 6)
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
		return appendFloat(b, v.fuel, 2)
	case pCoolant:
		return appendMeasurement(b, p, v.coolant, 1)
	case pRPM:
		return appendMeasurement(b, p, v.rpm, 0)
	case pBatteryLevel:
		return appendFloat(b, v.battery, 2)
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

// value is p's current value as a JSON-marshalable Go value, rounded as the
// messages round it.
func value(v *vehicle, p propID) any {
	switch p {
	case pOdometer, pSpeed, pHeading, pCoolant, pChargingRate:
		return Measurement{catalog[p].unit, round(v.numeric(p), 1)}
	case pBatteryVoltage:
		return Measurement{catalog[p].unit, round(v.voltage, 2)}
	case pRange, pRPM:
		return Measurement{catalog[p].unit, round(v.numeric(p), 0)}
	case pCoordinates:
		return Coordinates{round(v.lat, 6), round(v.lon, 6)}
	case pIgnition:
		return v.ignition
	case pLocks:
		return v.locksState()
	case pFuel:
		return round(v.fuel, 2)
	case pBatteryLevel:
		return round(v.battery, 2)
	case pChargingStatus:
		return v.chargingStatus()
	}
	return nil
}

func (v *vehicle) numeric(p propID) float64 {
	switch p {
	case pOdometer:
		return v.odometer
	case pSpeed:
		return v.speed
	case pHeading:
		return v.heading
	case pCoolant:
		return v.coolant
	case pChargingRate:
		return v.chargeKW
	case pRange:
		return v.rangeKm()
	case pRPM:
		return v.rpm
	}
	return 0
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

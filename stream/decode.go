package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// MaxPayload is the largest payload the pipeline decodes; larger ones are
// dropped and counted as Oversized. Real messages are a few hundred bytes.
const MaxPayload = 64 << 10

// Failure is what a vehicle reports instead of a value.
type Failure struct {
	Reason      string
	Description string
}

// Message is one decoded, deduplicated telemetry message as it is applied to
// the store. Every string in it is terminal-safe. The byte slices (Data,
// MessageID) alias buffers the pipeline reuses: they are valid only during
// the callback that received the Message.
type Message struct {
	Topic      string // as received (not sanitized: do not print it)
	Vehicle    string // VIN or pseudonym, from the topic
	Pseudonym  bool
	Capability string // canonical names: diagnostics.mileage arrives as odometer
	Property   string
	Data       []byte // raw JSON of the value, compact and terminal-safe; nil with Failure
	Failure    *Failure
	Timestamp  time.Time // the source's timestamp; zero when the message had none
	MessageID  []byte
	Arrival    time.Time
	hash       uint64
}

// Malformed messages: the error tells why (for the debug log).
var errMalformed = errors.New("malformed message")

func malformed(why string) error { return fmt.Errorf("%w: %s", errMalformed, why) }

// Pseudonym modes (config `pseudonymized`).
const (
	PseudoAuto  = "auto"
	PseudoTrue  = "true"
	PseudoFalse = "false"
)

// decoder turns (topic, payload) into a Message. One per pipeline worker:
// it owns the scratch buffers the Message slices point into.
type decoder struct {
	pseudo  string
	seed    maphash.Seed
	dataBuf []byte
	idBuf   []byte
	failure Failure
}

func newDecoder(pseudonymized string) *decoder {
	switch pseudonymized {
	case PseudoTrue, PseudoFalse:
	default:
		pseudonymized = PseudoAuto
	}
	return &decoder{pseudo: pseudonymized, seed: maphash.MakeSeed()}
}

// isPseudonym decides whether a vehicle id is a pseudonym. In auto mode an
// id that does not look like a VIN is one; vin.Plausible (not vin.Valid)
// because sandbox VINs may contain I, O or Q.
func (d *decoder) isPseudonym(id string) bool {
	switch d.pseudo {
	case PseudoTrue:
		return true
	case PseudoFalse:
		return false
	}
	return !vin.Plausible(id)
}

// decode fills m from one MQTT message. The topic names vehicle, capability
// and property, so the payload is only scanned for message_id, vin (which
// must agree with the topic) and data.{capability}.{property}.
func (d *decoder) decode(topicName string, payload []byte, m *Message) error {
	t, ok := parseTopic(topicName)
	if !ok {
		return malformed("topic does not match [/]live|sandbox/level13/{app_id}/{vehicle}/{capability}/get/{property}")
	}
	capWire, propWire := t.capability, t.property
	prop := canonicalName(capWire, propWire)

	// One pass over the payload: the data object is descended into rather
	// than scanned whole and then searched again.
	it, ok := iterObject(payload)
	if !ok {
		return malformed("payload is not a JSON object")
	}
	var id, vinRaw, topFailure []byte
	var idEsc, vinEsc, hasVIN, hasData bool
	var pv propValue
	for {
		k, kesc, more := it.nextKey()
		if !more {
			break
		}
		key := string(k)
		if kesc {
			key = ""
		}
		if key == "data" && it.peek() == '{' {
			c := it.child()
			walkData(&c, capWire, propWire, prop, &pv)
			if !it.resume(&c) {
				return malformed("payload is not valid JSON")
			}
			hasData = true
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		switch key {
		case "message_id":
			if v[0] != '"' {
				return malformed("message_id is not a string")
			}
			id, idEsc = v[1:len(v)-1], bytes.IndexByte(v, '\\') >= 0
		case "vin":
			if v[0] != '"' {
				return malformed("vin is not a string")
			}
			vinRaw, vinEsc, hasVIN = v[1:len(v)-1], bytes.IndexByte(v, '\\') >= 0, true
		case "data":
			return malformed("data is not an object")
		case "failure":
			topFailure = v
		}
	}
	if !it.finish() {
		return malformed("payload is not valid JSON")
	}
	if hasVIN && !sameString(vinRaw, vinEsc, t.vehicle) {
		return malformed("vin in the payload differs from the topic")
	}

	*m = Message{
		Topic:      topicName,
		Vehicle:    termsafe.String(t.vehicle),
		Capability: termsafe.String(capWire),
		Property:   termsafe.String(prop),
	}
	m.Pseudonym = d.isPseudonym(m.Vehicle)

	switch {
	case hasData:
		if !pv.found {
			return malformed("data has no object for the topic's capability and property")
		}
		if err := d.property(&pv, m); err != nil {
			return err
		}
	case topFailure != nil:
		if err := d.readFailure(topFailure, m); err != nil {
			return err
		}
	default:
		return malformed("neither data nor failure")
	}

	if len(id) > 0 { // an empty id identifies nothing: no dedup for it
		m.hash = maphash.Bytes(d.seed, id)
		if !idEsc && printableASCII(id) {
			m.MessageID = id
		} else {
			s, err := unquote(id)
			if err != nil {
				return malformed("message_id: " + err.Error())
			}
			d.idBuf = append(d.idBuf[:0], termsafe.String(s)...)
			m.MessageID = d.idBuf
		}
	}
	return nil
}

// propValue holds the spans found in data.{capability}.{property}.
type propValue struct {
	found                 bool
	value, failure, stamp []byte
}

// walkData looks for {capability: {property: {...}}} in the data object,
// validating everything it steps over.
func walkData(c *objectIter, capWire, propWire, prop string, pv *propValue) {
	for {
		k, kesc, more := c.nextKey()
		if !more {
			return
		}
		if !kesc && string(k) == capWire && c.peek() == '{' {
			cc := c.child()
			walkCapability(&cc, propWire, prop, pv)
			if !c.resume(&cc) {
				return
			}
			continue
		}
		if _, ok := c.value(); !ok {
			return
		}
	}
}

func walkCapability(c *objectIter, propWire, prop string, pv *propValue) {
	for {
		k, kesc, more := c.nextKey()
		if !more {
			return
		}
		if !kesc && (string(k) == propWire || string(k) == prop) && c.peek() == '{' {
			pc := c.child()
			*pv = propValue{found: true}
			for {
				k, kesc, v, more := pc.next()
				if !more {
					break
				}
				if kesc {
					continue
				}
				switch string(k) {
				case "data":
					pv.value = v
				case "failure":
					pv.failure = v
				case "timestamp":
					pv.stamp = v
				}
			}
			if !c.resume(&pc) {
				return
			}
			continue
		}
		if _, ok := c.value(); !ok {
			return
		}
	}
}

// property reads what walkData found: {"data": v, "timestamp"} or
// {"failure": {...}, "timestamp"?}.
func (d *decoder) property(pv *propValue, m *Message) error {
	if ts := pv.stamp; ts != nil && ts[0] == '"' {
		if n, ok := parseTimestamp(ts[1 : len(ts)-1]); ok {
			m.Timestamp = time.Unix(0, n)
		}
	}
	switch {
	case pv.value != nil:
		value := pv.value
		if printableASCII(value) && bytes.IndexByte(value, '\\') < 0 {
			m.Data = value
			return nil
		}
		clean, err := sanitizeJSON(value, d.dataBuf[:0])
		if err != nil {
			return malformed("value: " + err.Error())
		}
		d.dataBuf = clean
		m.Data = clean
		return nil
	case pv.failure != nil:
		return d.readFailure(pv.failure, m)
	}
	return malformed("property has neither data nor failure")
}

func (d *decoder) readFailure(obj []byte, m *Message) error {
	it, ok := iterObject(obj)
	if !ok {
		return malformed("failure is not an object")
	}
	d.failure = Failure{}
	for {
		k, kesc, v, more := it.next()
		if !more {
			break
		}
		if kesc || v[0] != '"' {
			continue
		}
		s, err := unquote(v[1 : len(v)-1])
		if err != nil {
			return malformed("failure: " + err.Error())
		}
		switch string(k) {
		case "reason":
			d.failure.Reason = termsafe.String(s)
		case "description":
			d.failure.Description = termsafe.String(s)
		}
	}
	if it.bad {
		return malformed("failure is not valid JSON")
	}
	if d.failure.Reason == "" {
		d.failure.Reason = "unknown"
	}
	m.Failure = &d.failure
	return nil
}

// sameString compares a JSON string body with s without allocating in the
// common (unescaped) case.
func sameString(raw []byte, escaped bool, s string) bool {
	if !escaped {
		return string(raw) == s
	}
	u, err := unquote(raw)
	return err == nil && u == s
}

// unquote decodes the body of a JSON string (without its quotes).
func unquote(body []byte) (string, error) {
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), nil
	}
	q := make([]byte, 0, len(body)+2)
	q = append(append(append(q, '"'), body...), '"')
	var s string
	err := json.Unmarshal(q, &s)
	return s, err
}

// printableASCII reports whether b holds nothing but 0x20..0x7e: such bytes
// cannot steer a terminal and need no further look.
func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// sanitizeJSON re-encodes a JSON value with every string (keys too) passed
// through termsafe.String, compact, appended to dst. Escapes such as \u001b
// are decoded first, so they cannot survive as text a consumer would decode.
func sanitizeJSON(raw, dst []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return dst, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cleanValue(v)); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

func cleanValue(v any) any {
	switch x := v.(type) {
	case string:
		return termsafe.String(x)
	case []any:
		for i := range x {
			x[i] = cleanValue(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[termsafe.String(k)] = cleanValue(e)
		}
		return out
	}
	return v
}

// parseTimestamp reads RFC 3339 timestamps ("2022-05-01T10:33:10.000Z",
// offsets, any number of fraction digits) without allocating.
func parseTimestamp(b []byte) (int64, bool) {
	num := func(i, n int) (int, bool) {
		v := 0
		for j := i; j < i+n; j++ {
			if !isDigit(b[j]) {
				return 0, false
			}
			v = v*10 + int(b[j]-'0')
		}
		return v, true
	}
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[13] != ':' || b[16] != ':' ||
		b[10] != 'T' && b[10] != 't' && b[10] != ' ' {
		return 0, false
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		i++
		digits := 0
		for i < len(b) && isDigit(b[i]) {
			if digits < 9 {
				nsec = nsec*10 + int(b[i]-'0')
				digits++
			}
			i++
		}
		if digits == 0 {
			return 0, false
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	offset := 0
	switch {
	case i == len(b)-1 && (b[i] == 'Z' || b[i] == 'z'):
	case i == len(b)-6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		oh, ok1 := num(i+1, 2)
		om, ok2 := num(i+4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.UnixNano() - int64(offset)*int64(time.Second), true
}

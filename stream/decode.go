package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
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

// Item is one entry of a multi-valued property (diagnostics.trouble_codes,
// dashboard_lights.bulb_failures, tire pressures, ...), as decoded.
type Item struct {
	Data      []byte    // raw JSON of the item's value, compact and terminal-safe; nil with Failure
	Timestamp time.Time // zero when the item carried none
	Failure   *Failure
}

// Message is one decoded, deduplicated property update as it is applied to
// the store: a V1 message carries one, a V2 message one per property it
// holds. Every string in it is terminal-safe. The byte slices (Data, Items,
// MessageID) alias buffers the pipeline reuses: they are valid only during
// the callback that received the Message.
type Message struct {
	Topic      string // as received (not sanitized: do not print it)
	Version    int    // wire format: 1, or 2 for High Mobility's MQTT V2
	Vehicle    string // VIN or pseudonym (V1: from the topic; V2: the vin field)
	Pseudonym  bool
	Capability string // canonical names: diagnostics.mileage arrives as odometer
	Property   string
	// Data is the raw JSON of the value, compact and terminal-safe; nil with
	// Failure. For a list it is the JSON array of the items' data, with null
	// where an item carried a failure instead.
	Data    []byte
	Failure *Failure
	// List marks a multi-valued property; Items are its entries in order
	// (the whole list: each message replaces the previous one).
	List  bool
	Items []Item
	// Timestamp is the source's (for a list, its newest item's; else the
	// message's top-level timestamp); zero when the message had none.
	Timestamp time.Time
	MessageID []byte
	Arrival   time.Time
	hash      uint64
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

// maxNames bounds the decoder's table of capability and property names seen
// in V2 payloads (beyond it names are still decoded, just not shared).
const maxNames = 4096

// decoder turns (topic, payload) into Messages. One per pipeline worker:
// it owns the scratch buffers the Messages slice into.
type decoder struct {
	pseudo  string
	seed    maphash.Seed
	hash    maphash.Hash
	dataBuf []byte
	idBuf   []byte
	items   []Item
	msgs    []Message
	names   map[string]string
	pvs     []propValue // a list's items while it is read
	// skipped counts the properties of the last V2 message that could not
	// be read (the others were).
	skipped int
}

func newDecoder(pseudonymized string) *decoder {
	switch pseudonymized {
	case PseudoTrue, PseudoFalse:
	default:
		pseudonymized = PseudoAuto
	}
	d := &decoder{pseudo: pseudonymized, seed: maphash.MakeSeed(), names: make(map[string]string)}
	d.hash.SetSeed(d.seed)
	return d
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

// envelope is what one pass over the payload's top level finds.
type envelope struct {
	version             int
	id, vin, top, stamp []byte // message_id, vin (string bodies), failure, timestamp (raw)
	idEsc, vinEsc       bool
	hasVIN              bool
	data                []byte // the data object, raw
	walked              bool   // data was descended into for the topic's property (V1)
	pv                  propValue
}

// decode reads one MQTT message into Messages: one for V1, one per property
// for V2. The format is told by the payload's version, whatever the topic.
// V1 takes vehicle, capability and property from the topic, so its payload
// is only scanned for message_id, vin (which must agree with the topic),
// timestamp and data.{capability}.{property}. The slice is reused by the
// next call.
func (d *decoder) decode(topicName string, payload []byte) ([]Message, error) {
	d.msgs = d.msgs[:0]
	d.dataBuf = d.dataBuf[:0]
	d.idBuf = d.idBuf[:0]
	clear(d.items)
	d.items = d.items[:0]
	d.skipped = 0

	t, topicOK := parseTopic(topicName)
	var capWire, propWire, prop string
	if topicOK {
		capWire, propWire = t.capability, t.property
		prop = canonicalName(capWire, propWire)
	}

	// One pass over the payload: for V1 the data object is descended into
	// rather than scanned whole and then searched again.
	it, ok := iterObject(payload)
	if !ok {
		return nil, malformed("payload is not a JSON object")
	}
	var e envelope
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
			start := it.i
			switch {
			case e.version == 2:
				// V2 as it comes (version before data): one pass.
				c := it.child()
				d.walkV2(&c)
				if !it.resume(&c) {
					return nil, malformed("payload is not valid JSON")
				}
				e.walked = true
			case topicOK:
				c := it.child()
				walkData(&c, capWire, propWire, prop, &e.pv)
				if !it.resume(&c) {
					return nil, malformed("payload is not valid JSON")
				}
			default:
				it.value() // a grammar error leaves it bad: finish reports it
			}
			e.data = payload[start:it.i]
			continue
		}
		v, ok := it.value()
		if !ok {
			break
		}
		switch key {
		case "message_id":
			if v[0] != '"' {
				return nil, malformed("message_id is not a string")
			}
			e.id, e.idEsc = v[1:len(v)-1], bytes.IndexByte(v, '\\') >= 0
		case "vin":
			if v[0] != '"' {
				return nil, malformed("vin is not a string")
			}
			e.vin, e.vinEsc, e.hasVIN = v[1:len(v)-1], bytes.IndexByte(v, '\\') >= 0, true
		case "version":
			if f, err := strconv.ParseFloat(string(v), 64); err == nil && f == 2 {
				e.version = 2
			} else {
				e.version = 1
			}
		case "data":
			return nil, malformed("data is not an object")
		case "failure":
			e.top = v
		case "timestamp":
			e.stamp = v
		}
	}
	if !it.finish() {
		return nil, malformed("payload is not valid JSON")
	}
	id, err := d.messageID(e.id, e.idEsc)
	if err != nil {
		return nil, err
	}
	if e.version == 2 {
		return d.decodeV2(topicName, &e, id)
	}
	if !topicOK {
		return nil, malformed("topic does not match [/]live|sandbox/level13/{app_id}/{vehicle}/{capability}/get/{property} (and the payload is not version 2)")
	}
	if e.hasVIN && !sameString(e.vin, e.vinEsc, t.vehicle) {
		return nil, malformed("vin in the payload differs from the topic")
	}
	for _, id := range [...]struct{ kind, s string }{{"vehicle", t.vehicle}, {"capability", capWire}, {"property", prop}} {
		if err := checkID(id.kind, id.s); err != nil {
			return nil, err
		}
	}

	if e.walked {
		// The payload named version 2 before its data and 1 after it: the
		// data was walked as V2 for nothing; read it as V1 now.
		d.skipped = 0
		c, _ := iterObject(e.data)
		walkData(&c, capWire, propWire, prop, &e.pv)
	}
	d.msgs = append(d.msgs[:0], Message{
		Topic:      topicName,
		Version:    1,
		Vehicle:    termsafe.String(t.vehicle),
		Capability: termsafe.String(capWire),
		Property:   termsafe.String(prop),
		MessageID:  id,
	})
	m := &d.msgs[0]
	m.Pseudonym = d.isPseudonym(m.Vehicle)
	switch {
	case e.data != nil:
		if !e.pv.found {
			return nil, malformed("data has no value for the topic's capability and property")
		}
		if e.pv.list != nil {
			a, _ := iterArray(e.pv.list)
			err = d.list(&a, false, m)
		} else {
			err = d.property(&e.pv, m)
		}
	case e.top != nil:
		m.Failure, err = readFailure(e.top)
	default:
		err = malformed("neither data nor failure")
	}
	if err != nil {
		return nil, err
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = stamp(e.stamp)
	}
	if len(id) > 0 { // an empty id identifies nothing: no dedup for it
		m.hash = maphash.Bytes(d.seed, e.id)
	}
	return d.msgs, nil
}

// messageID returns the terminal-safe message id (nil when there is none).
func (d *decoder) messageID(raw []byte, escaped bool) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !escaped && printableASCII(raw) {
		return raw, nil
	}
	s, err := unquote(raw)
	if err != nil {
		return nil, malformed("message_id: " + err.Error())
	}
	d.idBuf = append(d.idBuf[:0], termsafe.String(s)...)
	return d.idBuf, nil
}

// decodeV2 reads High Mobility's MQTT V2 message: {version: 2,
// application_id, message_id, vin, data: {capability: {property: [items]}}}
// with any number of capabilities. Each property becomes a Message; one
// that cannot be read is skipped (and counted) without losing the others.
func (d *decoder) decodeV2(topicName string, e *envelope, id []byte) ([]Message, error) {
	if !e.hasVIN {
		return nil, malformed("version 2 message without vin")
	}
	if e.data == nil {
		return nil, malformed("version 2 message without data")
	}
	vehicle := string(e.vin)
	if e.vinEsc {
		s, err := unquote(e.vin)
		if err != nil {
			return nil, malformed("vin: " + err.Error())
		}
		vehicle = s
	}
	if err := checkID("vehicle", vehicle); err != nil {
		return nil, err
	}
	if vehicle == "" {
		return nil, malformed("vin is empty")
	}
	pseudonym := d.isPseudonym(vehicle)
	if !e.walked {
		// The version came after the data (or the topic looked like V1's):
		// walk the data again, now as V2.
		d.msgs, d.skipped = d.msgs[:0], 0
		ci, _ := iterObject(e.data)
		d.walkV2(&ci)
	}
	// A V2 message is deduplicated whole, by its message_id and the
	// properties it carries: a redelivery repeats both, while another
	// message that reused the id for other properties still counts. One
	// entry per message keeps the window as long in messages as V1's.
	var h uint64
	if len(id) > 0 {
		d.hash.Reset()
		_, _ = d.hash.Write(e.id)
		for i := range d.msgs {
			_ = d.hash.WriteByte(0)
			_, _ = d.hash.WriteString(d.msgs[i].Capability)
			_ = d.hash.WriteByte('.')
			_, _ = d.hash.WriteString(d.msgs[i].Property)
		}
		h = d.hash.Sum64()
	}
	for i := range d.msgs {
		m := &d.msgs[i]
		m.Topic, m.Version, m.Vehicle, m.Pseudonym, m.MessageID, m.hash = topicName, 2, vehicle, pseudonym, id, h
	}
	if len(d.msgs) == 0 {
		if d.skipped > 0 {
			return nil, malformed("no property of the version 2 message could be read")
		}
		return nil, malformed("version 2 message without properties")
	}
	return d.msgs, nil
}

// walkV2 reads V2's data, {capability: {property: [items]}}, in one pass:
// each property becomes a Message (the envelope's fields are filled in
// after). A property that cannot be read is skipped and counted; a grammar
// error leaves c bad, which fails the whole message.
func (d *decoder) walkV2(c *objectIter) {
	for {
		ck, ckesc, more := c.nextKey()
		if !more {
			return
		}
		capName, ok := d.name(ck, ckesc)
		if !ok || c.peek() != '{' {
			d.skipped++
			if _, ok := c.value(); !ok {
				return
			}
			continue
		}
		cc := c.child()
		for {
			pk, pkesc, more := cc.nextKey()
			if !more {
				break
			}
			propWire, ok := d.name(pk, pkesc)
			if !ok {
				d.skipped++
				if _, ok := cc.value(); !ok {
					break
				}
				continue
			}
			d.msgs = append(d.msgs, Message{Capability: capName, Property: canonicalName(capName, propWire)})
			m := &d.msgs[len(d.msgs)-1]
			var err error
			switch cc.peek() {
			case '[':
				a := cc.childArray()
				err = d.list(&a, true, m)
				if !cc.resumeArray(&a) {
					return
				}
			case '{':
				pc := cc.child()
				pv := propValue{found: true}
				readProperty(&pc, &pv)
				if !cc.resume(&pc) {
					return
				}
				err = d.property(&pv, m)
			default:
				err = malformed("property is neither a list nor an object")
				if _, ok := cc.value(); !ok {
					return
				}
			}
			if err != nil {
				d.msgs = d.msgs[:len(d.msgs)-1]
				d.skipped++
			}
		}
		if !c.resume(&cc) {
			return
		}
	}
}

// name returns a capability or property name from a V2 key, terminal-safe.
// Names repeat in every message: they are kept and shared rather than
// allocated each time.
func (d *decoder) name(k []byte, escaped bool) (string, bool) {
	if !escaped {
		if s, ok := d.names[string(k)]; ok {
			return s, true
		}
	}
	s, err := unquote(k)
	if err != nil {
		return "", false
	}
	clean := termsafe.String(s)
	if clean == "" {
		return "", false
	}
	if !escaped && len(d.names) < maxNames {
		d.names[s] = clean
	}
	return clean, true
}

// propValue holds the spans found in data.{capability}.{property}: the
// fields of an object, or the whole array of a list.
type propValue struct {
	found                 bool
	value, failure, stamp []byte
	list                  []byte
}

// walkData looks for {capability: {property: {...} or [...]}} in the data
// object, validating everything it steps over.
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
		match := !kesc && (string(k) == propWire || string(k) == prop)
		switch {
		case match && c.peek() == '{':
			pc := c.child()
			*pv = propValue{found: true}
			readProperty(&pc, pv)
			if !c.resume(&pc) {
				return
			}
			continue
		case match && c.peek() == '[':
			v, ok := c.value()
			if !ok {
				return
			}
			*pv = propValue{found: true, list: v}
			continue
		}
		if _, ok := c.value(); !ok {
			return
		}
	}
}

// readProperty collects data, failure and timestamp of a property object.
func readProperty(pc *objectIter, pv *propValue) {
	for {
		k, kesc, v, more := pc.next()
		if !more {
			return
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
}

// property reads {"data": v, "timestamp"?} or {"failure": {...}, "timestamp"?}.
func (d *decoder) property(pv *propValue, m *Message) error {
	m.Timestamp = stamp(pv.stamp)
	switch {
	case pv.value != nil:
		if cleanKind(pv.value) == verbatim {
			m.Data = pv.value // clean as it is: no copy
			return nil
		}
		start := len(d.dataBuf)
		out, err := appendClean(d.dataBuf, pv.value)
		if err != nil {
			return malformed("value: " + err.Error())
		}
		d.dataBuf = out
		m.Data = out[start:len(out):len(out)]
		return nil
	case pv.failure != nil:
		f, err := readFailure(pv.failure)
		m.Failure = f
		return err
	}
	return malformed("property has neither data nor failure")
}

// list reads an array of {data|failure, timestamp?} items. A V2 list of one
// item is how V2 sends every single-valued property: unless the property is
// one Auto API defines as multi-valued, it becomes a plain value.
func (d *decoder) list(a *arrayIter, v2 bool, m *Message) error {
	first := len(d.items)
	raw := d.pvs[:0]
	for {
		c, more := a.nextElem()
		if !more {
			break
		}
		if c != '{' {
			return malformed("list item is not an object")
		}
		ec := a.elemChild()
		pv := propValue{found: true}
		readProperty(&ec, &pv)
		if !a.resumeElem(&ec) {
			return malformed("list is not valid JSON")
		}
		if pv.value == nil && pv.failure == nil {
			return malformed("list item has neither data nor failure")
		}
		raw = append(raw, pv)
	}
	d.pvs = raw
	if a.bad {
		return malformed("list is not valid JSON")
	}
	if v2 && len(raw) == 1 && !multiValued(m.Capability, m.Property) {
		return d.property(&raw[0], m)
	}

	m.List = true
	buf := append(d.dataBuf, '[')
	for i := range raw {
		if i > 0 {
			buf = append(buf, ',')
		}
		it := Item{Timestamp: stamp(raw[i].stamp)}
		if raw[i].value != nil {
			start := len(buf)
			var err error
			if buf, err = appendClean(buf, raw[i].value); err != nil {
				return malformed("list item: " + err.Error())
			}
			it.Data = buf[start:len(buf):len(buf)]
		} else {
			f, err := readFailure(raw[i].failure)
			if err != nil {
				return err
			}
			it.Failure = f
			buf = append(buf, "null"...)
		}
		if it.Timestamp.After(m.Timestamp) {
			m.Timestamp = it.Timestamp
		}
		d.items = append(d.items, it)
	}
	buf = append(buf, ']')
	// The buffer may have moved while growing: take the data from where it
	// ended up.
	start := len(d.dataBuf)
	m.Data = buf[start:len(buf):len(buf)]
	d.dataBuf = buf
	m.Items = d.items[first:len(d.items):len(d.items)]
	return nil
}

// stamp reads a raw JSON timestamp string; zero when absent or unreadable.
func stamp(raw []byte) time.Time {
	if len(raw) < 2 || raw[0] != '"' {
		return time.Time{}
	}
	if n, ok := parseTimestamp(raw[1 : len(raw)-1]); ok {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func readFailure(obj []byte) (*Failure, error) {
	it, ok := iterObject(obj)
	if !ok {
		return nil, malformed("failure is not an object")
	}
	f := &Failure{}
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
			return nil, malformed("failure: " + err.Error())
		}
		switch string(k) {
		case "reason":
			f.Reason = termsafe.String(s)
		case "description":
			f.Description = termsafe.String(s)
		}
	}
	if it.bad {
		return nil, malformed("failure is not valid JSON")
	}
	if f.Reason == "" {
		f.Reason = "unknown"
	}
	return f, nil
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

// How a raw JSON value must be treated before it is kept.
const (
	verbatim    = iota // printable ASCII, no escapes, no white space between tokens
	compactable        // the same but with white space between tokens
	unsafeJSON         // escapes, control bytes or non-ASCII: re-encode every string
)

// cleanKind classifies a raw JSON value (already validated).
func cleanKind(b []byte) int {
	kind, inString := verbatim, false
	for _, c := range b {
		switch {
		case c == '\\' || c > 0x7e || c == 0x7f:
			return unsafeJSON
		case c < 0x20:
			if inString || !isSpace(c) {
				return unsafeJSON
			}
			kind = compactable
		case c == '"':
			inString = !inString
		case c == ' ' && !inString:
			kind = compactable
		}
	}
	return kind
}

// appendClean appends the value compact and terminal-safe, keeping its
// order (objects' keys included).
func appendClean(dst, value []byte) ([]byte, error) {
	switch cleanKind(value) {
	case verbatim:
		return append(dst, value...), nil
	case compactable:
		inString := false
		for _, c := range value {
			if c == '"' {
				inString = !inString
			} else if !inString && isSpace(c) {
				continue
			}
			dst = append(dst, c)
		}
		return dst, nil
	}
	return sanitizeJSON(value, dst)
}

// sanitizeJSON re-encodes a JSON value, compact, with every string (keys
// too) passed through termsafe.String, appended to dst. Escapes such as
// \u001b are decoded first, so they cannot survive as text a consumer would
// decode. raw must be valid JSON (the scanner checked it).
func sanitizeJSON(raw, dst []byte) ([]byte, error) {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			end, escaped, ok := scanString(raw, i)
			if !ok {
				return dst, errors.New("bad string")
			}
			body := raw[i+1 : end-1]
			if !escaped && printableASCII(body) {
				dst = append(dst, raw[i:end]...)
			} else {
				s, err := unquote(body)
				if err != nil {
					return dst, err
				}
				dst = appendJSONString(dst, termsafe.String(s))
			}
			i = end
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, nil
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

package stream

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends m as one compact JSON object (no newline):
// {"vehicle","pseudonym","capability","property","value","failure"?,"items"?,"timestamp","message_id"}.
// value is the raw JSON of the data (null with a failure); for a list it is
// the JSON array of the items' data (null for an item that failed), and
// "items" holds every item as {"data"|"failure", "timestamp"?}. timestamp is
// the source's (a list's newest item's), RFC 3339 in UTC, or null. It
// allocates nothing.
func (m *Message) AppendJSON(b []byte) []byte {
	b = append(b, `{"vehicle":`...)
	b = appendJSONString(b, m.Vehicle)
	if m.Pseudonym {
		b = append(b, `,"pseudonym":true,"capability":`...)
	} else {
		b = append(b, `,"pseudonym":false,"capability":`...)
	}
	b = appendJSONString(b, m.Capability)
	b = append(b, `,"property":`...)
	b = appendJSONString(b, m.Property)
	b = append(b, `,"value":`...)
	if m.Failure != nil || len(m.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Data...)
	}
	if m.Failure != nil {
		b = appendFailure(append(b, ','), m.Failure)
	}
	if m.List {
		b = append(b, `,"items":[`...)
		for i := range m.Items {
			it := &m.Items[i]
			if i > 0 {
				b = append(b, ',')
			}
			if it.Failure != nil {
				b = appendFailure(append(b, '{'), it.Failure)
			} else {
				b = append(b, `{"data":`...)
				b = append(b, it.Data...)
			}
			if !it.Timestamp.IsZero() {
				b = appendStamp(append(b, `,"timestamp":`...), it.Timestamp)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"timestamp":`...)
	b = appendStamp(b, m.Timestamp)
	b = append(b, `,"message_id":`...)
	if m.MessageID == nil {
		b = append(b, "null"...)
	} else {
		b = appendJSONBytes(b, m.MessageID)
	}
	return append(b, '}')
}

// AppendText appends the human line of `telemetry tail` (no newline):
// "15:04:05.000 VIN capability.property = value unit", the arrival time in
// the local zone, a pseudonym labelled as one.
func (m *Message) AppendText(b []byte) []byte {
	b = m.Arrival.AppendFormat(b, "15:04:05.000")
	b = append(b, ' ')
	b = append(b, m.Vehicle...)
	if m.Pseudonym {
		b = append(b, " (pseudonym)"...)
	}
	b = append(b, ' ')
	b = append(b, m.Capability...)
	b = append(b, '.')
	b = append(b, m.Property...)
	if m.Failure != nil {
		b = append(b, " failed: "...)
		b = append(b, m.Failure.Reason...)
		if m.Failure.Description != "" {
			b = append(b, " — "...)
			b = append(b, m.Failure.Description...)
		}
		return b
	}
	if m.List {
		// The whole array, not clipped: tail is where a list is read in full.
		b = append(b, " = "...)
		b = append(b, m.Data...)
		failed, first := 0, -1
		for i := range m.Items {
			if m.Items[i].Failure != nil {
				if first < 0 {
					first = i
				}
				failed++
			}
		}
		if failed > 0 {
			b = append(b, " ("...)
			b = strconv.AppendInt(b, int64(failed), 10)
			b = append(b, " of "...)
			b = strconv.AppendInt(b, int64(len(m.Items)), 10)
			b = append(b, " items failed, item "...)
			b = strconv.AppendInt(b, int64(first+1), 10)
			b = append(b, ": "...)
			b = append(b, m.Items[first].Failure.Reason...)
			b = append(b, ')')
		}
		return b
	}
	v := RenderValue(m.Capability, m.Property, m.Data)
	b = append(b, " = "...)
	b = append(b, v.Text...)
	if v.Unit != "" {
		b = append(b, ' ')
		b = append(b, v.Unit...)
	}
	return b
}

// appendFailure appends "failure":{"reason","description"}.
func appendFailure(b []byte, f *Failure) []byte {
	b = append(b, `"failure":{"reason":`...)
	b = appendJSONString(b, f.Reason)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, f.Description)
	return append(b, '}')
}

// appendStamp appends t as an RFC 3339 string in UTC, or null when zero.
func appendStamp(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONBytes is appendJSONString for a byte slice, without converting
// (and so copying) it.
func appendJSONBytes(b []byte, s []byte) []byte {
	if printableASCII(s) {
		clean := true
		for _, c := range s {
			if c == '"' || c == '\\' {
				clean = false
				break
			}
		}
		if clean {
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"')
		}
	}
	return appendJSONString(b, string(s))
}

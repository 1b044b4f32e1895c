package commandsim

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The signature is computed over the body the client would produce with
// Python's json.dumps({"vin": v, "command": c}, separators=(",", ":"),
// sort_keys=True), not over the bytes that arrived: a client may send the
// same two strings with other spacing, key order or escapes, and the real
// service (a Python application) re-serializes what it parsed.
//
// Strings are kept as UTF-16 code units between parsing and re-encoding
// because that is what Python's str holds after json.loads: a lone surrogate
// such as "\ud800" survives the round trip there, while a Go string would
// turn it into U+FFFD and the signatures would disagree.

// canonical returns json.dumps({"command": command, "vin": vin}) with
// compact separators and sorted keys ("command" < "vin").
func canonical(vin, command []uint16) []byte {
	b := make([]byte, 0, len(`{"command":"","vin":""}`)+len(vin)+len(command))
	b = append(b, `{"command":`...)
	b = appendPyString(b, command)
	b = append(b, `,"vin":`...)
	b = appendPyString(b, vin)
	return append(b, '}')
}

// appendPyString encodes s like Python's json encoder with ensure_ascii=True
// (py_encode_basestring_ascii): printable ASCII as is, the two mandatory
// escapes, the five short control escapes, and everything else — other
// controls, DEL, and every non-ASCII code unit — as \u with four lower-case
// hex digits. No HTML escaping: <, > and & stay literal.
func appendPyString(b []byte, s []uint16) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for _, u := range s {
		switch u {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if u >= 0x20 && u <= 0x7e {
				b = append(b, byte(u))
				continue
			}
			b = append(b, '\\', 'u', hexDigits[u>>12], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
		}
	}
	return append(b, '"')
}

// decodeJSONString decodes one JSON string token into UTF-16 code units the
// way Python's json.loads (strict mode) does. ok is false when raw is not a
// string (absent, null, a number, an object…) or is not valid JSON text.
func decodeJSONString(raw []byte) (units []uint16, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	units = make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return nil, false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				units = append(units, uint16(s[i+1]))
			case 'b':
				units = append(units, '\b')
			case 'f':
				units = append(units, '\f')
			case 'n':
				units = append(units, '\n')
			case 'r':
				units = append(units, '\r')
			case 't':
				units = append(units, '\t')
			case 'u':
				if i+6 > len(s) {
					return nil, false
				}
				v, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16)
				if err != nil {
					return nil, false
				}
				units = append(units, uint16(v))
				i += 6
				continue
			default:
				return nil, false
			}
			i += 2
		case c < 0x20 || c == '"':
			// strict json.loads refuses raw control characters inside strings
			return nil, false
		case c < utf8.RuneSelf:
			units = append(units, uint16(c))
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, false
			}
			units = utf16.AppendRune(units, r)
			i += size
		}
	}
	return units, true
}

// goString converts code units to a Go string for lookups; a lone surrogate
// becomes U+FFFD, which can only make a lookup fail, never succeed wrongly.
func goString(units []uint16) string { return string(utf16.Decode(units)) }

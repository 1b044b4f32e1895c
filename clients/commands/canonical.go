package commands

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical returns the bytes mobway signs: exactly what Python writes for
// json.dumps({"vin": vin, "command": command}, separators=(",", ":"),
// sort_keys=True) with its default ensure_ascii=True.
//
// encoding/json cannot be used: it escapes <, > and & as \u003c…, writes
// non-ASCII raw and leaves U+007F alone, and any of those changes the HMAC.
//
// Python strings cannot hold invalid UTF-8, so there is no reference output
// for it; each invalid byte is written as \ufffd, the same replacement
// encoding/json makes. Send refuses such input before it gets here.
func Canonical(vin, command string) []byte {
	b := make([]byte, 0, len(vin)+len(command)+24)
	return appendObject(b, [][2]string{{"command", command}, {"vin", vin}})
}

// appendObject writes a compact JSON object whose fields the caller has
// already sorted by key (sort_keys=True).
func appendObject(b []byte, fields [][2]string) []byte {
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f[0])
		b = append(b, ':')
		b = appendString(b, f[1])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way Python's ensure_ascii
// encoder does: only the printable ASCII range 0x20–0x7e is written raw
// (except " and \); \b \f \n \r \t get their short escapes; everything else
// becomes \uXXXX in lower-case hex, with a UTF-16 surrogate pair above U+FFFF.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = appendU(b, rune(c))
			default:
				b = append(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			b = appendU(appendU(b, r1), r2)
			continue
		}
		b = appendU(b, r) // an invalid byte decodes as U+FFFD
	}
	return append(b, '"')
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// Signer computes X-Signature values. It keeps the sign secret and never
// prints it.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer keyed with secret (used as its UTF-8 bytes).
func NewSigner(secret string) *Signer {
	return &Signer{key: []byte(secret)}
}

// Sign returns hex(HMAC-SHA256(secret, Canonical(vin, command))). The
// confirmation code is never part of it: mobway signs only vin and command.
func (s *Signer) Sign(vin, command string) string {
	return s.sum(Canonical(vin, command))
}

func (s *Signer) sum(msg []byte) string {
	m := hmac.New(sha256.New, s.key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// String keeps the secret out of %v and logs.
func (s Signer) String() string { return "commands.Signer{secret: [REDACTED]}" }

// GoString keeps the secret out of %#v.
func (s Signer) GoString() string { return s.String() }

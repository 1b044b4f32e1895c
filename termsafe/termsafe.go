// Package termsafe makes strings that came from the network safe to draw on a
// terminal: escape sequences (CSI, OSC, DCS, …), C0 and C1 control characters,
// bidirectional overrides and characters that draw nothing (zero-width
// spaces and joiners, tag characters, variation selectors, …) are removed,
// line breaks and tabs become spaces, and invalid UTF-8 becomes U+FFFD.
// Everything else is kept as it is.
package termsafe

import (
	"strings"
	"unicode/utf8"
)

// String returns s with everything that could steer a terminal removed.
// It does not allocate when s is already safe.
func String(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			i = skipEscape(s, i+1)
		case c == '\t' || c == '\n' || c == '\r':
			b.WriteByte(' ')
			i++
		case c < 0x20 || c == 0x7f:
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b.WriteRune(utf8.RuneError)
				i++
			case r >= 0x80 && r <= 0x9f:
				i = skipC1(s, r, i+size)
			case hidden(r):
				i += size
			default:
				b.WriteString(s[i : i+size])
				i += size
			}
		}
	}
	return b.String()
}

// Safe reports whether String(s) would return s unchanged.
func Safe(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r >= 0x80 && r <= 0x9f || hidden(r) {
			return false
		}
		i += size
	}
	return true
}

// Clip bounds s to n bytes, cut on a rune boundary and marked with "…" (so
// the result may be up to n+3 bytes); s is returned as is when it fits.
// Callers clip text that came from the network after String, so that an
// error or a pane cannot be flooded.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n = max(n, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// skipEscape returns the index just past the escape sequence whose ESC byte
// stood right before i.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[': // CSI: parameters, intermediates, one final byte
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_': // OSC, DCS, SOS, PM, APC: a string up to its terminator
		return skipString(s, i+1)
	}
	// nF/Fp/Fe/Fs: intermediates 0x20–0x2F then one final byte
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
		i++
	}
	return i
}

func skipCSI(s string, i int) int {
	for i < len(s) {
		c := s[i]
		i++
		if c >= 0x40 && c <= 0x7e {
			return i
		}
		if c < 0x20 || c > 0x3f && c < 0x40 || c >= 0x7f {
			// Malformed: stop at the offending byte and drop it with the rest.
			return i
		}
	}
	return i
}

// skipString skips the body of an OSC/DCS/SOS/PM/APC string up to and
// including its terminator: BEL, ESC \ or the 8-bit ST (U+009C).
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		case s[i] == 0xc2 && i+1 < len(s) && s[i+1] == 0x9c:
			return i + 2
		}
		i++
	}
	return i
}

// skipC1 handles an 8-bit control already decoded as r; i is just past it.
func skipC1(s string, r rune, i int) int {
	switch r {
	case 0x9b: // CSI
		return skipCSI(s, i)
	case 0x9d, 0x90, 0x98, 0x9e, 0x9f: // OSC, DCS, SOS, PM, APC
		return skipString(s, i)
	}
	return i
}

// hidden reports the characters a terminal draws as nothing, or that change
// how their neighbours are drawn: with one of them, a string looks like
// another (a VIN with a zero-width space shows as a second, identical row)
// or shows in an order other than the one it has ("Trojan Source").
func hidden(r rune) bool {
	if r < 0xad {
		return false
	}
	switch {
	case r == 0x00ad, // soft hyphen
		r == 0x034f,              // combining grapheme joiner
		r == 0x061c,              // Arabic letter mark
		r == 0x115f, r == 0x1160, // Hangul choseong/jungseong fillers
		r == 0x17b4, r == 0x17b5, // Khmer inherent vowels
		r >= 0x180b && r <= 0x180f, // Mongolian variation selectors, vowel separator
		r >= 0x200b && r <= 0x200f, // zero-width space, non-joiner, joiner; LRM, RLM
		r >= 0x202a && r <= 0x202e, // bidi embeddings and overrides
		r >= 0x2060 && r <= 0x2064, // word joiner, invisible operators
		r >= 0x2066 && r <= 0x206f, // bidi isolates; deprecated format characters
		r == 0x3164, r == 0xffa0,   // Hangul fillers
		r >= 0xfe00 && r <= 0xfe0f,   // variation selectors
		r == 0xfeff,                  // zero-width no-break space (BOM)
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotation
		r >= 0x1d173 && r <= 0x1d17a, // musical format characters
		r >= 0xe0000 && r <= 0xe007f, // tag characters
		r >= 0xe0100 && r <= 0xe01ef: // variation selectors supplement
		return true
	}
	return false
}

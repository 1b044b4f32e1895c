package ui

import (
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// cellWidth is ansi.StringWidth made cheap for what the console draws most:
// printable ASCII, Latin-1, box drawing, block elements, braille, arrows,
// and SGR colour sequences. Any other rune, or another escape sequence,
// hands the whole string to ansi.StringWidth, which measures grapheme
// clusters properly. Measuring braille lines (the map) cluster by cluster
// was a third of a frame.
func cellWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			w++
			i++
			continue
		case c == 0x1b:
			n, ok := sgrLen(s[i:])
			if !ok {
				return ansi.StringWidth(s)
			}
			i += n
			continue
		case c < 0x80:
			return ansi.StringWidth(s)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !narrowRune(r) {
			return ansi.StringWidth(s)
		}
		w++
		i += size
	}
	return w
}

// sgrLen is the length of the SGR sequence (ESC [ digits and ; m) at the
// start of s.
func sgrLen(s string) (int, bool) {
	if len(s) < 3 || s[1] != '[' {
		return 0, false
	}
	for i := 2; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		case c == 'm':
			return i + 1, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// narrowRune lists runes one cell wide on their own, whatever follows them
// (no combining marks, no emoji presentation).
func narrowRune(r rune) bool {
	switch {
	case r >= 0xa1 && r <= 0xff && r != 0xad:
		return true // Latin-1 (°, ·, …) but the soft hyphen
	case r >= 0x2500 && r <= 0x259f:
		return true // box drawing and block elements
	case r >= 0x2800 && r <= 0x28ff:
		return true // braille
	case r >= 0x2190 && r <= 0x21ff:
		return true // arrows
	}
	switch r {
	case '…', '•', '▸', '●', '⧉', '—', '–', '·', '→', '←', '↑', '↓':
		return true
	}
	return false
}

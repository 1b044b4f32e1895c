package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "odometer 100 km", "odometer 100 km"},
		{"portuguese", "Atenção: a ignição será desligada", "Atenção: a ignição será desligada"},
		{"emoji", "🚗 ok", "🚗 ok"},
		{"csi clear", "a\x1b[2Jb\x1b[1;1Hc", "abc"},
		{"csi colour", "\x1b[31mred\x1b[0m", "red"},
		{"osc title bel", "x\x1b]0;pwned\x07y", "xy"},
		{"osc title st", "x\x1b]2;pwned\x1b\\y", "xy"},
		{"osc 8 hyperlink", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"osc 52 clipboard", "\x1b]52;c;ZWNobyBwd25lZA==\x07", ""},
		{"dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"c1 csi", "a\u009b2Jb", "ab"},
		{"c1 osc", "a\u009d0;t\u009cb", "ab"},
		{"c1 other", "a\u0085b", "ab"},
		{"c0", "a\x00b\x07c\x08d\x7fe", "abcde"},
		{"newline tab", "a\nb\tc\rd", "a b c d"},
		{"invalid utf8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"bidi", "abc\u202edcba\u2066x", "abcdcbax"},
		{"lone esc at end", "abc\x1b", "abc"},
		{"esc charset", "a\x1b(Bb", "ab"},
		{"unterminated osc", "a\x1b]0;title", "a"},
		{"unterminated csi", "a\x1b[12", "a"},
		// Invisible characters: a VIN with one of these looks like the VIN
		// without it, and would show as a second, identical row.
		{"zero width space", "WBA5R1C51KAJ98123\u200b", "WBA5R1C51KAJ98123"},
		{"zero width non-joiner and joiner", "WBA\u200c5R1\u200dC51", "WBA5R1C51"},
		{"word joiner and invisible operators", "a\u2060b\u2061c\u2064d", "abcd"},
		{"byte order mark", "\ufeffWBA5R1C51KAJ98123", "WBA5R1C51KAJ98123"},
		{"tag characters", "VIN\U000e0001\U000e0041\U000e007f", "VIN"},
		{"soft hyphen", "WBA5R1\u00adC51", "WBA5R1C51"},
		{"mongolian vowel separator", "a\u180eb", "ab"},
		{"variation selectors", "3\ufe0f\U000e0100x", "3x"},
		{"hangul fillers", "a\u115f\u1160\u3164\uffa0b", "ab"},
		{"combining grapheme joiner", "a\u034fb", "ab"},
		{"interlinear annotation", "a\ufff9b\ufffbc", "abc"},
		{"deprecated format", "a\u206ab\u206fc", "abc"},
		{"bidi overrides and isolates", "a\u202ab\u202bc\u202cd\u202de\u2067f\u2068g\u2069h", "abcdefgh"},
		{"visible neighbours kept", "\u2010\u2070\u3165\ufe10", "\u2010\u2070\u3165\ufe10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := String(tt.in)
			if got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !Safe(got) {
				t.Errorf("String(%q) = %q is not Safe", tt.in, got)
			}
			if Safe(tt.in) != (tt.in == tt.want) {
				t.Errorf("Safe(%q) = %v", tt.in, Safe(tt.in))
			}
		})
	}
}

func TestSafeNoAlloc(t *testing.T) {
	s := "WDD2130041A000001 diagnostics.odometer"
	if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
		t.Errorf("String on a safe string allocates %v times", n)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "abc", "\x1b]0;x\x07", "\x1b[31m", "\u009b1m", "\xff\xfe", "ção"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if !utf8.ValidString(out) {
			t.Fatalf("String(%q) = %q is not valid UTF-8", s, out)
		}
		if strings.ContainsAny(out, "\x1b\x07\x00\r\n") || !Safe(out) {
			t.Fatalf("String(%q) = %q still holds control characters", s, out)
		}
		if String(out) != out {
			t.Fatalf("String is not idempotent on %q", s)
		}
	})
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exact", 5, "exact"},
		{"abcdef", 3, "abc…"},
		{"ação", 2, "a…"},  // "ç" is two bytes: the cut backs off to its start
		{"ação", 3, "aç…"}, // ends exactly after "ç"
		{"🚗🚗", 5, "🚗…"},    // a four-byte rune is not split
		{"abc", 0, "…"},
		{"abc", -1, "…"},
	}
	for _, tc := range tests {
		got := Clip(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q: invalid UTF-8", tc.in, tc.n, got)
		}
	}
}

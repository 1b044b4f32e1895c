package ui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// cellWidth must agree with ansi.StringWidth on everything: every rune it
// measures itself, alone and in company, and strings it hands over.
func TestCellWidthAgreesWithAnsi(t *testing.T) {
	var runes []rune
	for r := rune(0x20); r < 0x3000; r++ {
		if narrowRune(r) || r < 0x7f {
			runes = append(runes, r)
		}
	}
	for _, r := range runes {
		for _, s := range []string{string(r), "a" + string(r) + "b", string(r) + string(r), "\x1b[1;38;2;1;2;3m" + string(r) + "\x1b[0m"} {
			if got, want := cellWidth(s), ansi.StringWidth(s); got != want {
				t.Fatalf("cellWidth(%q) = %d, ansi says %d", s, got, want)
			}
		}
	}
	for _, s := range []string{"", "plain", "e\u0301", "日本", "⏸ paused", "👍🏽", "a\u200db", "\x1b]8;;x\x1b\\link\x1b]8;;\x1b\\", "\x1b[", "\x1b[31", "tab\there", "⣿⣿ ● stopped", "soft\u00adhyphen", "▸ W1KZF8DB1LA123874 moving · 45 km/h", "\x1b[38;5;2m⣀⣀\x1b[m"} {
		if got, want := cellWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("cellWidth(%q) = %d, ansi says %d", s, got, want)
		}
	}
}

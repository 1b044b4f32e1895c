package csvsafe

import (
	"testing"
	"time"
)

func TestCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"ok", "ok"},
		{"", ""},
		{"=1+1", "'=1+1"},
		{"+x", "'+x"},
		{"-2", "'-2"},
		{"@SUM(1)", "'@SUM(1)"},
		{`=HYPERLINK("http://x")`, `'=HYPERLINK("http://x")`},
		// Controls go first, so a formula behind them is still defused.
		{"\x1b[0m=1", "'=1"},
		{"\x00@x", "'@x"},
		// A tab or a line break becomes a space, which starts no formula.
		{"\tx", " x"},
		{"a\x1b[2Jb", "ab"},
		{"a = b", "a = b"},
	} {
		if got := Cell(c.in); got != c.want {
			t.Errorf("Cell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTime(t *testing.T) {
	if got := Time(time.Time{}); got != "" {
		t.Errorf("zero time: %q", got)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("EET", 2*3600))
	if got := Time(at); got != "2025-03-04T03:06:07Z" {
		t.Errorf("Time = %q", got)
	}
}

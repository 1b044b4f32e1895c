package braille

import (
	"strings"
	"testing"
)

func (c *Canvas) String() string {
	var b strings.Builder
	for y := 0; y < c.H; y++ {
		for x := 0; x < c.W; x++ {
			r, _ := c.Cell(x, y)
			b.WriteRune(r)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestDotsMapToBrailleBits(t *testing.T) {
	c := New(2, 1)
	// Every dot of the first cell, one by one, in Unicode's numbering.
	want := []rune{'⠁', '⠃', '⠇', '⡇', '⡏', '⡟', '⡿', '⣿'}
	order := [][2]int{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {1, 2}, {1, 3}}
	for i, d := range order {
		c.Set(d[0], d[1], 1)
		if r, ink := c.Cell(0, 0); r != want[i] || ink != 1 {
			t.Fatalf("after dot %v: %q ink %d, want %q", d, r, ink, want[i])
		}
	}
	if !c.Blank(1, 0) {
		t.Fatal("the second cell got a dot")
	}
	c.Set(-1, 0, 1)
	c.Set(4, 0, 1)
	c.Set(0, 4, 1)
	if c.String() != "⣿ \n" {
		t.Fatalf("dots off the canvas landed: %q", c.String())
	}
}

func TestHighestInkWins(t *testing.T) {
	c := New(1, 1)
	c.Set(0, 0, 3)
	c.Set(1, 1, 1)
	if _, ink := c.Cell(0, 0); ink != 3 {
		t.Fatalf("ink %d, want 3", ink)
	}
	c.Reset(1, 1)
	if r, ink := c.Cell(0, 0); r != ' ' || ink != 0 {
		t.Fatalf("Reset left %q ink %d", r, ink)
	}
}

func TestLines(t *testing.T) {
	c := New(4, 1)
	c.Line(0, 0, 7, 3, 1)
	if got := c.String(); got != "⠉⠒⠤⣀\n" {
		t.Fatalf("diagonal:\n%s", got)
	}
	c.Reset(4, 1)
	c.Line(-1e9, 1, 1e9, 1, 2) // far outside on both ends: clipped, cheap
	if got := c.String(); got != "⠒⠒⠒⠒\n" {
		t.Fatalf("clipped horizontal:\n%s", got)
	}
	c.Reset(4, 1)
	c.Line(-10, -10, -5, -1, 1) // entirely outside
	if got := c.String(); got != "    \n" {
		t.Fatalf("a line outside drew:\n%s", got)
	}
	c.Reset(2, 2)
	c.Line(1, 0, 1, 7, 1)
	if got := c.String(); got != "⢸ \n⢸ \n" {
		t.Fatalf("vertical:\n%s", got)
	}
}

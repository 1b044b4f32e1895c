// Package braille draws dots on a terminal: each cell of a Canvas is a
// Unicode braille character holding 2×4 dots, so a w×h cell canvas is a
// 2w×4h dot picture. A cell has one colour (an ink number the caller maps
// to a style); when dots of several inks land in one cell the highest ink
// wins, so callers number their inks by importance.
package braille

// Canvas is a picture of W×H cells. The zero value is empty; Reset sizes it.
type Canvas struct {
	W, H int
	dots []uint8 // braille bits per cell
	ink  []uint8 // per cell
}

// New returns a blank canvas of w×h cells.
func New(w, h int) *Canvas {
	c := &Canvas{}
	c.Reset(w, h)
	return c
}

// Reset blanks the canvas and sizes it to w×h cells, reusing its memory.
func (c *Canvas) Reset(w, h int) {
	w, h = max(w, 0), max(h, 0)
	c.W, c.H = w, h
	n := w * h
	if cap(c.dots) < n {
		c.dots, c.ink = make([]uint8, n), make([]uint8, n)
		return
	}
	c.dots, c.ink = c.dots[:n], c.ink[:n]
	clear(c.dots)
	clear(c.ink)
}

// DotsW and DotsH are the canvas's size in dots.
func (c *Canvas) DotsW() int { return 2 * c.W }
func (c *Canvas) DotsH() int { return 4 * c.H }

// bits[dy][dx] is the braille bit of the dot dx columns right and dy rows
// down in a cell (Unicode's dot numbering: 1 2 3 7 down the left, 4 5 6 8
// down the right).
var bits = [4][2]uint8{{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}}

// Set puts a dot at (x, y) in dots; dots off the canvas are ignored.
func (c *Canvas) Set(x, y int, ink uint8) {
	if x < 0 || y < 0 || x >= 2*c.W || y >= 4*c.H {
		return
	}
	i := (y>>2)*c.W + x>>1
	c.dots[i] |= bits[y&3][x&1]
	if ink > c.ink[i] {
		c.ink[i] = ink
	}
}

// Cell returns the character and ink of cell (cx, cy); a blank cell is
// a space with ink 0.
func (c *Canvas) Cell(cx, cy int) (rune, uint8) {
	i := cy*c.W + cx
	if c.dots[i] == 0 {
		return ' ', c.ink[i]
	}
	return rune(0x2800 + int(c.dots[i])), c.ink[i]
}

// Blank reports whether cell (cx, cy) has no dots.
func (c *Canvas) Blank(cx, cy int) bool { return c.dots[cy*c.W+cx] == 0 }

// Line draws a straight line between two points given in dots (fractions
// allowed), clipped to the canvas first: a line that starts far outside it
// costs no more than the part that shows.
func (c *Canvas) Line(x0, y0, x1, y1 float64, ink uint8) {
	xmax, ymax := float64(2*c.W)-0.5, float64(4*c.H)-0.5
	x0, y0, x1, y1, ok := clip(x0, y0, x1, y1, -0.5, -0.5, xmax, ymax)
	if !ok {
		return
	}
	ix0, iy0, ix1, iy1 := round(x0), round(y0), round(x1), round(y1)
	dx, dy := abs(ix1-ix0), -abs(iy1-iy0)
	sx, sy := 1, 1
	if ix0 > ix1 {
		sx = -1
	}
	if iy0 > iy1 {
		sy = -1
	}
	err := dx + dy
	for {
		c.Set(ix0, iy0, ink)
		if ix0 == ix1 && iy0 == iy1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			ix0 += sx
		}
		if e2 <= dx {
			err += dx
			iy0 += sy
		}
	}
}

// clip is Liang–Barsky: the part of the segment inside the rectangle.
func clip(x0, y0, x1, y1, xmin, ymin, xmax, ymax float64) (float64, float64, float64, float64, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := x1-x0, y1-y0
	for _, e := range [4][2]float64{{-dx, x0 - xmin}, {dx, xmax - x0}, {-dy, y0 - ymin}, {dy, ymax - y0}} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return 0, 0, 0, 0, false
			}
			t0 = max(t0, r)
		} else {
			if r < t0 {
				return 0, 0, 0, 0, false
			}
			t1 = min(t1, r)
		}
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

func round(f float64) int {
	if f < 0 {
		return -int(-f + 0.5)
	}
	return int(f + 0.5)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

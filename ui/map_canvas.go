package ui

import (
	"fmt"
	"math"
	"strings"

	"github.com/fleetdeck/fleetdeck/braille"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Drawing the Map: the projection from degrees to braille dots, the grid,
// the world's outline, the vehicles, and their labels over the canvas.

// projection maps degrees to dots for the current view and canvas.
type projection struct {
	lat0, lon0, dpd, kx, cx, cy float64
}

func (m *Map) projection() projection {
	v := m.view
	return projection{lat0: v.lat, lon0: v.lon, dpd: v.dpd, kx: v.dpd * lonFactor(v.lat),
		cx: float64(2*m.lay.canvasW) / 2, cy: float64(4*m.lay.canvasH) / 2}
}

func (p projection) dots(lat, lon float64) (float64, float64) {
	return (lon-p.lon0)*p.kx + p.cx, (p.lat0-lat)*p.dpd + p.cy
}

func (p projection) degrees(x, y float64) (lat, lon float64) {
	return p.lat0 - (y-p.cy)/p.dpd, p.lon0 + (x-p.cx)/p.kx
}

// labelLayer is text drawn over the canvas: vehicle labels, grid degrees,
// the centre mark. A zero rune leaves the canvas showing.
type labelLayer struct {
	w, h  int
	runes []rune
	ink   []uint8
}

func newLabelLayer(w, h int) *labelLayer {
	return &labelLayer{w: w, h: h, runes: make([]rune, w*h), ink: make([]uint8, w*h)}
}

// put writes s at cell (x, y) if every cell it needs is free (of labels,
// and of anything but the grid unless over is set) and reports whether it
// did.
func (ll *labelLayer) put(cv *braille.Canvas, x, y int, s string, ink uint8, over bool) bool {
	rs := []rune(s)
	if y < 0 || y >= ll.h || x < 0 || x+len(rs) > ll.w {
		return false
	}
	for i := range rs {
		if ll.runes[y*ll.w+x+i] != 0 {
			return false
		}
		if _, ink := cv.Cell(x+i, y); !over && ink > inkGrid {
			return false
		}
	}
	for i, r := range rs {
		ll.runes[y*ll.w+x+i], ll.ink[y*ll.w+x+i] = r, ink
	}
	return true
}

// gridStep is a round number of degrees giving a few grid lines across
// span degrees.
func gridStep(span float64) float64 {
	for _, s := range []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 45, 90} {
		if span/s <= 6 {
			return s
		}
	}
	return 90
}

// drawGrid marks the grid's intersections with small crosses (full lines
// would read as coasts) and labels its lines at the canvas's left and
// bottom edges.
func (m *Map) drawGrid(cv *braille.Canvas, labels *labelLayer, p projection) {
	dw, dh := float64(cv.DotsW()), float64(cv.DotsH())
	latTop, lonLeft := p.degrees(0, 0)
	latBot, lonRight := p.degrees(dw, dh)
	step := gridStep(max(latTop-latBot, (lonRight-lonLeft)*lonFactor(p.lat0)))
	decimals := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	lat0 := math.Ceil(latBot/step) * step
	lon0 := math.Ceil(lonLeft/step) * step
	for lat := lat0; lat <= latTop; lat += step {
		if lat < -90 || lat > 90 {
			continue
		}
		_, y := p.dots(lat, p.lon0)
		iy := int(math.Round(y))
		for lon := lon0; lon <= lonRight; lon += step {
			x, _ := p.dots(lat, lon)
			ix := int(math.Round(x))
			cv.Set(ix-1, iy, inkGrid)
			cv.Set(ix, iy, inkGrid)
			cv.Set(ix+1, iy, inkGrid)
			cv.Set(ix, iy-1, inkGrid)
			cv.Set(ix, iy+1, inkGrid)
		}
		labels.put(cv, 0, iy/4, degreeLabel(lat, decimals, "N", "S"), inkGrid, true)
	}
	for lon := lon0; lon <= lonRight; lon += step {
		if lon < -180 || lon > 180 {
			continue
		}
		x, _ := p.dots(p.lat0, lon)
		labels.put(cv, int(x)/2+1, cv.H-1, degreeLabel(lon, decimals, "E", "W"), inkGrid, true)
	}
}

func degreeLabel(v float64, decimals int, pos, neg string) string {
	hemi := pos
	if v < 0 {
		hemi = neg
	}
	if math.Abs(v) < 1e-9 {
		hemi = ""
	}
	return fmt.Sprintf("%.*f°%s", decimals, math.Abs(v), hemi)
}

func (m *Map) drawOutline(cv *braille.Canvas, p projection) {
	latTop, lonLeft := p.degrees(0, 0)
	latBot, lonRight := p.degrees(float64(cv.DotsW()), float64(cv.DotsH()))
	for li := range m.outline {
		ol := &m.outline[li]
		if ol.Max.Lon < lonLeft || ol.Min.Lon > lonRight || ol.Max.Lat < latBot || ol.Min.Lat > latTop {
			continue
		}
		ink := inkCoast
		if ol.Border {
			ink = inkBorder
		}
		pts := ol.Points
		x0, y0 := p.dots(pts[0].Lat, pts[0].Lon)
		prev := pts[0].Lon
		for _, pt := range pts[1:] {
			x1, y1 := p.dots(pt.Lat, pt.Lon)
			// A step across the antimeridian is not a line across the world.
			if math.Abs(pt.Lon-prev) < 180 {
				cv.Line(x0, y0, x1, y1, ink)
			}
			x0, y0, prev = x1, y1, pt.Lon
		}
	}
}

// drawVehicles draws each vehicle as a 2×2 dot block with a short line
// toward its heading when it moves, and returns the selected one's index
// (-1: not on the map).
func (m *Map) drawVehicles(cv *braille.Canvas, p projection) int {
	sel := -1
	for i := range m.items {
		it := &m.items[i]
		if it.id == m.selID {
			sel = i
			continue // drawn last, on top
		}
		m.drawVehicle(cv, p, it, inkVehicle+uint8(it.state))
	}
	if sel >= 0 {
		m.drawVehicle(cv, p, &m.items[sel], inkSelected)
	}
	return sel
}

func (m *Map) drawVehicle(cv *braille.Canvas, p projection, it *mapItem, ink uint8) {
	x, y := p.dots(it.lat, it.lon)
	if x < -4 || y < -4 || x > float64(cv.DotsW())+4 || y > float64(cv.DotsH())+4 {
		return
	}
	ix, iy := int(math.Floor(x)), int(math.Floor(y))
	cv.Set(ix, iy, ink)
	cv.Set(ix+1, iy, ink)
	cv.Set(ix, iy+1, ink)
	cv.Set(ix+1, iy+1, ink)
	if it.hx != 0 || it.hy != 0 {
		// Two dots ahead of the block: which way it is going.
		cx, cy := float64(ix)+0.5, float64(iy)+0.5
		cv.Set(int(math.Floor(cx+it.hx*2.2)), int(math.Floor(cy+it.hy*2.2)), ink)
		cv.Set(int(math.Floor(cx+it.hx*3.4)), int(math.Floor(cy+it.hy*3.4)), ink)
	}
}

// placeLabels writes short ids beside the vehicles where they fit: the
// selected vehicle first, then the others in id order, each only over empty
// cells and other labels nowhere.
func (m *Map) placeLabels(cv *braille.Canvas, labels *labelLayer, p projection, sel int) {
	label := func(i int, ink uint8, over bool) {
		it := &m.items[i]
		x, y := p.dots(it.lat, it.lon)
		cx, cy := int(math.Floor(x))/2, int(math.Floor(y))/4
		if x < 0 || y < 0 {
			return
		}
		text := shortVehicle(it.id, it.pseudonym)
		if !labels.put(cv, cx+2, cy, text, ink, over) {
			labels.put(cv, cx-len([]rune(text))-1, cy, text, ink, over)
		}
	}
	if sel >= 0 {
		label(sel, inkSelected, true)
	}
	// Past a few hundred vehicles on screen labels no longer fit anywhere:
	// stop looking once the canvas is crowded.
	budget := cv.W * cv.H / 6
	for i := range m.items {
		if i == sel {
			continue
		}
		if budget--; budget < 0 {
			break
		}
		label(i, inkVehicle+uint8(m.items[i].state), false)
	}
	// The centre mark: enter selects the vehicle nearest to it.
	cx, cy := cv.W/2, cv.H/2
	if labels.runes[cy*cv.W+cx] == 0 && cv.Blank(cx, cy) {
		labels.runes[cy*cv.W+cx], labels.ink[cy*cv.W+cx] = '+', inkSelected
	}
}

// shortVehicle is the map's label: a VIN's last six characters (its serial
// number), a pseudonym's first six, marked.
func shortVehicle(id string, pseudonym bool) string {
	id = termsafe.String(id)
	r := []rune(id)
	if pseudonym {
		return "⧉" + string(r[:min(6, len(r))])
	}
	return string(r[max(len(r)-6, 0):])
}

func (m *Map) writeCanvas(b *strings.Builder, cv *braille.Canvas, labels *labelLayer) {
	for y := 0; y < cv.H; y++ {
		b.WriteByte('\n')
		cur := inkNone
		for x := 0; x < cv.W; x++ {
			r, ink := cv.Cell(x, y)
			if lr := labels.runes[y*cv.W+x]; lr != 0 {
				r, ink = lr, labels.ink[y*cv.W+x]
			}
			if r == ' ' {
				ink = inkNone
			}
			if ink != cur {
				b.WriteString(m.inks[cur].post)
				b.WriteString(m.inks[ink].pre)
				cur = ink
			}
			b.WriteRune(r)
		}
		b.WriteString(m.inks[cur].post)
	}
}

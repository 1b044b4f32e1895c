package ui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/fleetdeck/fleetdeck/braille"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/worldmap"
)

// The Map pane: every vehicle that reported vehicle_location.coordinates,
// drawn on a braille canvas (2×4 dots a cell) over Natural Earth's coasts
// and borders and a lat/long grid, coloured by state. Arrows (hjkl) pan the
// map under a fixed centre mark, + and - zoom, f fits it to the fleet again
// (and keeps fitting as vehicles move), enter selects the vehicle nearest
// the centre in every view. In the wide layout the Map takes the Telemetry
// pane's column while it has focus (2 gives it back): a fourth column
// would leave every pane too narrow below 240 columns.
//
// Update reads the store's positions (on each feed batch, while the map is
// shown) and works out each vehicle's state; View projects and draws them,
// which is cheap enough to do on every frame (BenchmarkView/…/pane4).

// positionSource gives the map every vehicle's position; the stream store
// has it (PipelineSource).
type positionSource interface {
	Positions(dst []stream.Position) []stream.Position
}

// mapState is what a vehicle's colour says. Higher states win a shared
// cell, so the order is importance.
type mapState uint8

const (
	mapStale mapState = iota
	mapStopped
	mapMoving
	mapNoClearance
	mapImmobilised
	mapStates
)

var mapStateNames = [mapStates]string{"stale", "stopped", "moving", "no clearance", "immobilised"}

// Inks of the canvas, lowest first.
const (
	inkNone uint8 = iota
	inkGrid
	inkBorder
	inkCoast
	inkVehicle  // + mapState
	inkSelected = inkVehicle + uint8(mapStates)
	inkCount    = inkSelected + 1
)

// mapItem is a vehicle as the map draws it, prepared in Update.
type mapItem struct {
	id        string
	pseudonym bool
	lat, lon  float64
	hx, hy    float64 // heading as a unit vector (east, south); 0,0: none
	state     mapState
}

// mapView is what part of the world is shown: a centre, and the scale in
// dots per degree of latitude (dots are about square: a cell is twice as
// tall as it is wide and holds 2×4 of them).
type mapView struct {
	lat, lon float64
	dpd      float64
}

const (
	minDPD      = 0.3       // the whole world in 108 dots
	maxDPD      = 2_000_000 // about 5 cm a dot
	zoomStep    = 1.5
	fitMargin   = 0.12 // of the fleet's extent, on every side
	minFitSpanD = 0.01 // degrees: one vehicle alone is shown with ~1 km around it
	kmPerDegree = 111.32
)

// mapLayout: the state line, the canvas, the selected vehicle's line and
// the legend.
type mapLayout struct {
	canvasTop, canvasH, canvasW int
	selY, legendY               int
}

func newMapLayout(w, h int) mapLayout {
	l := mapLayout{canvasTop: 1, canvasW: max(w, 1)}
	rest := 1
	if h >= 8 {
		rest = 3
	}
	l.canvasH = max(h-rest, 1)
	l.selY = l.canvasTop + l.canvasH
	l.legendY = l.selY + 1
	return l
}

// Map is the fleet on a map.
type Map struct {
	c    *Common
	src  positionSource
	w, h int
	lay  mapLayout

	outline []worldmap.Line
	buf     []stream.Position
	items   []mapItem
	without int // vehicles on the feed without a position
	total   int

	view  mapView
	auto  bool // keep fitting the fleet as it moves
	selID string

	approved      map[string]bool
	approvedKnown bool // a clearance list arrived: absence means no clearance

	inks     [inkCount]inkStyle
	loaded   bool
	disabled string // why there is no map
}

// inkStyle is an ink's SGR sequence split around the text, taken once from
// the session's styles: drawing thousands of cells through lipgloss one run
// at a time would cost milliseconds a frame.
type inkStyle struct{ pre, post string }

func newInkStyle(st lipgloss.Style) inkStyle {
	r := st.Render("X")
	pre, post, _ := strings.Cut(r, "X")
	return inkStyle{pre: pre, post: post}
}

func newMap(c *Common, src TelemetrySource) *Map {
	m := &Map{c: c, auto: true, view: mapView{lat: 20, lon: 0, dpd: minDPD}}
	switch ps, ok := src.(positionSource); {
	case isNil(src):
		m.disabled = "Map disabled: no [telemetry] section in config"
	case !ok:
		m.disabled = "Map unavailable: this telemetry source keeps no positions"
	default:
		m.src = ps
	}
	// The outline is embedded and checked by its own tests; a map without it
	// still has the grid.
	if lines, err := worldmap.Lines(); err == nil {
		m.outline = lines
	} else {
		c.Logger.Warn("world outline unreadable", "err", err)
	}
	st := c.Styles
	m.inks[inkGrid] = newInkStyle(st.Border)
	m.inks[inkBorder] = newInkStyle(st.Border)
	m.inks[inkCoast] = newInkStyle(st.Dim)
	m.inks[inkVehicle+uint8(mapStale)] = newInkStyle(st.Dim)
	m.inks[inkVehicle+uint8(mapStopped)] = newInkStyle(st.Accent)
	m.inks[inkVehicle+uint8(mapMoving)] = newInkStyle(st.OK)
	m.inks[inkVehicle+uint8(mapNoClearance)] = newInkStyle(st.Warning)
	m.inks[inkVehicle+uint8(mapImmobilised)] = newInkStyle(st.Error)
	m.inks[inkSelected] = newInkStyle(st.Notice)
	return m
}

func (m *Map) Init() tea.Cmd { return nil }

func (m *Map) SetSize(w, h int) {
	m.w, m.h = w, h
	m.lay = newMapLayout(w, h)
	if m.auto {
		m.fit()
	}
}

func (m *Map) Capturing() bool { return false }

// SetApproved hands the map the clearance list's approved vehicles: a VIN
// on the feed and not among them has no clearance.
func (m *Map) SetApproved(vs []fleet.Vehicle) {
	m.approved = make(map[string]bool, len(vs))
	for _, v := range vs {
		m.approved[v.VIN] = true
	}
	m.approvedKnown = true
	m.classify()
}

// reload reads the positions again (a batch arrived, or the map is shown).
func (m *Map) reload() {
	if m.src == nil {
		return
	}
	m.loaded = true
	m.buf = m.src.Positions(m.buf[:0])
	m.classify()
	if m.auto {
		m.fit()
	}
}

// setTotal tells the map how many vehicles the feed has, to say how many
// have no position.
func (m *Map) setTotal(n int) { m.total = n }

func (m *Map) classify() {
	m.items = m.items[:0]
	for i := range m.buf {
		p := &m.buf[i]
		it := mapItem{id: p.ID, pseudonym: p.Pseudonym, lat: p.Lat, lon: p.Lon}
		if p.HasHeading && p.Moving() {
			rad := p.Heading * math.Pi / 180
			it.hx, it.hy = math.Sin(rad), -math.Cos(rad)
		}
		switch {
		// What the feed cannot say: immobilised by a disable_ignition that
		// no enable_ignition has undone (the journal's list, kept by the
		// root).
		case !p.Pseudonym && m.immobilised(p.ID):
			it.state = mapImmobilised
		case m.approvedKnown && !p.Pseudonym && !m.approved[p.ID]:
			it.state = mapNoClearance
		case p.Stale:
			it.state = mapStale
		case p.Moving():
			it.state = mapMoving
		default:
			it.state = mapStopped
		}
		m.items = append(m.items, it)
	}
	m.without = max(m.total-len(m.items), 0)
}

func (m *Map) immobilised(vin string) bool {
	_, ok := m.c.immob.get(vin)
	return ok
}

// fit centres the map on the fleet with a margin around it.
func (m *Map) fit() {
	if len(m.items) == 0 {
		m.view = mapView{lat: 20, lon: 0, dpd: m.worldScale()}
		return
	}
	la0, la1, lo0, lo1 := 90.0, -90.0, 180.0, -180.0
	for i := range m.items {
		it := &m.items[i]
		la0, la1 = min(la0, it.lat), max(la1, it.lat)
		lo0, lo1 = min(lo0, it.lon), max(lo1, it.lon)
	}
	lat, lon := (la0+la1)/2, (lo0+lo1)/2
	spanLat := max((la1-la0)*(1+2*fitMargin), minFitSpanD)
	spanLon := max((lo1-lo0)*(1+2*fitMargin), minFitSpanD)
	m.view = mapView{lat: lat, lon: lon, dpd: m.fitScale(spanLon, spanLat, lat)}
}

// worldScale is the scale at which the whole world fills the canvas.
func (m *Map) worldScale() float64 { return m.fitScale(360, 150, 20) }

// fitScale is the scale at which spanLon × spanLat degrees around lat fill
// the canvas.
func (m *Map) fitScale(spanLon, spanLat, lat float64) float64 {
	dw, dh := float64(2*m.lay.canvasW), float64(4*m.lay.canvasH)
	k := lonFactor(lat)
	return clampF(min(dw/(spanLon*k), dh/spanLat), minDPD, maxDPD)
}

// lonFactor shrinks longitudes by the cosine of the latitude (an
// equirectangular projection true at the centre), never to nothing.
func lonFactor(lat float64) float64 { return max(math.Cos(lat*math.Pi/180), 0.05) }

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func (m *Map) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	}
	return m, nil
}

func (m *Map) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	v := &m.view
	// A pan moves the view by an eighth of what shows.
	stepLat := float64(4*m.lay.canvasH) / v.dpd / 8
	stepLon := float64(2*m.lay.canvasW) / (v.dpd * lonFactor(v.lat)) / 8
	switch {
	case key.Matches(msg, k.ZoomIn):
		v.dpd = clampF(v.dpd*zoomStep, minDPD, maxDPD)
	case key.Matches(msg, k.ZoomOut):
		// No further out than the whole world.
		v.dpd = clampF(v.dpd/zoomStep, max(minDPD, min(m.worldScale(), v.dpd)), maxDPD)
	case key.Matches(msg, k.Up):
		v.lat = clampF(v.lat+stepLat, -85, 85)
	case key.Matches(msg, k.Down):
		v.lat = clampF(v.lat-stepLat, -85, 85)
	case key.Matches(msg, k.Left):
		v.lon = clampF(v.lon-stepLon, -180, 180)
	case key.Matches(msg, k.Right):
		v.lon = clampF(v.lon+stepLon, -180, 180)
	case key.Matches(msg, k.Fit):
		m.auto = true
		m.fit()
		return nil
	case key.Matches(msg, k.Centre):
		if !m.centreOnSelected() {
			return nil
		}
	case key.Matches(msg, k.Open):
		return m.selectNearest(m.projection().cx, m.projection().cy)
	default:
		return nil
	}
	m.auto = false
	return nil
}

func (m *Map) mouse(msg tea.MouseMsg) tea.Cmd {
	y := msg.Y - m.lay.canvasTop
	if msg.Action != tea.MouseActionPress || msg.Button != tea.MouseButtonLeft || y < 0 || y >= m.lay.canvasH || msg.X < 0 || msg.X >= m.lay.canvasW {
		return nil
	}
	return m.selectNearest(float64(2*msg.X)+1, float64(4*y)+2)
}

// selectNearest selects the vehicle drawn nearest to (x, y), in dots; the
// root hands the selection to the other views when they are linked.
func (m *Map) selectNearest(x, y float64) tea.Cmd {
	p := m.projection()
	best, bestD := -1, math.Inf(1)
	for i := range m.items {
		ix, iy := p.dots(m.items[i].lat, m.items[i].lon)
		if d := (ix-x)*(ix-x) + (iy-y)*(iy-y); d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 {
		return nil
	}
	m.selID = m.items[best].id
	return nil
}

// centreOnSelected puts the selected vehicle under the + and, from
// further out, zooms to about 20 km across: what a selection made in
// another view is for. It reports whether the vehicle has a position.
func (m *Map) centreOnSelected() bool {
	for i := range m.items {
		if it := &m.items[i]; it.id == m.selID {
			m.view.lat, m.view.lon = it.lat, it.lon
			city := m.fitScale(0.3/lonFactor(it.lat), 0.18, it.lat)
			m.view.dpd = max(m.view.dpd, city)
			return true
		}
	}
	return false
}

// --- view ------------------------------------------------------------------

func (m *Map) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.src == nil {
		return fit(st.Dim.Render(m.disabled), m.w, m.h)
	}
	l := m.lay
	p := m.projection()
	cv := braille.New(l.canvasW, l.canvasH)
	labels := newLabelLayer(l.canvasW, l.canvasH)
	m.drawGrid(cv, labels, p)
	m.drawOutline(cv, p)
	sel := m.drawVehicles(cv, p)
	m.placeLabels(cv, labels, p, sel)

	// Every line is built exactly m.w cells wide (canvas cells are one
	// cell each), so the frame is not measured again here: measuring
	// braille is the dearest part of drawing it.
	var b strings.Builder
	b.Grow((l.canvasW*4 + 64) * (l.canvasH + 3))
	b.WriteString(pad(m.stateLine(p), m.w))
	m.writeCanvas(&b, cv, labels)
	if l.selY < m.h {
		b.WriteByte('\n')
		b.WriteString(pad(m.selectedLine(sel), m.w))
	}
	if l.legendY < m.h {
		b.WriteByte('\n')
		b.WriteString(pad(m.legend(), m.w))
	}
	return b.String()
}

func (m *Map) stateLine(p projection) string {
	st := m.c.Styles
	parts := []string{fmt.Sprintf("%d on the map", len(m.items))}
	if m.without > 0 {
		parts = append(parts, fmt.Sprintf("%d without a position", m.without))
	}
	if m.auto {
		parts = append(parts, "fitted to the fleet")
	}
	parts = append(parts, scaleBar(p.dpd))
	if len(m.items) == 0 && m.loaded {
		parts[0] = "no vehicle has reported a position yet"
	}
	return st.Dim.Render(truncate(strings.Join(parts, " · "), m.w))
}

// scaleBar is a bar a round number of kilometres long, at most ten cells.
func scaleBar(dpd float64) string {
	kmPerCell := 2 / dpd * kmPerDegree
	for _, km := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000} {
		if cells := km / kmPerCell; cells >= 3 && cells <= 10 {
			return "├" + strings.Repeat("─", int(cells)-2) + "┤ " + distance(km)
		}
	}
	return fmt.Sprintf("1 cell ≈ %s", distance(kmPerCell))
}

func distance(km float64) string {
	if km < 1 {
		return fmt.Sprintf("%.0f m", km*1000)
	}
	return fmt.Sprintf("%.0f km", km)
}

func (m *Map) selectedLine(sel int) string {
	st := m.c.Styles
	if m.selID == "" {
		k := m.c.Keys
		return st.Dim.Render(truncate(keyName(k.Open)+": select the vehicle nearest the + in every view · "+keyName(k.Timeline)+": its timeline", m.w))
	}
	id := termsafe.String(m.selID)
	if sel < 0 {
		return truncate(st.Notice.Render("▸ "+id)+st.Dim.Render(" · no position on the feed"), m.w)
	}
	it := &m.items[sel]
	var pos *stream.Position
	for i := range m.buf {
		if m.buf[i].ID == it.id {
			pos = &m.buf[i]
			break
		}
	}
	parts := []string{mapStateNames[it.state]}
	if pos != nil {
		if pos.HasSpeed {
			parts = append(parts, fmt.Sprintf("%.0f km/h", pos.Speed))
		}
		if pos.HasHeading {
			parts = append(parts, fmt.Sprintf("heading %.0f° %s", pos.Heading, compass(pos.Heading)))
		}
		switch pos.Ignition {
		case stream.IgnitionOn:
			parts = append(parts, "ignition on")
		case stream.IgnitionOff:
			parts = append(parts, "ignition off")
		}
		parts = append(parts, fmt.Sprintf("%.5f, %.5f", pos.Lat, pos.Lon), "fix "+age(m.c.Now(), pos.At))
	}
	return truncate(st.Notice.Render("▸ "+id)+" "+strings.Join(parts, " · "), m.w)
}

// compass names a heading's nearest of eight directions.
func compass(deg float64) string {
	names := [...]string{"N", "NE", "E", "SE", "S", "SW", "W", "NW"}
	i := int(math.Mod(math.Round(deg/45)+8, 8))
	return names[i]
}

func (m *Map) legend() string {
	var b strings.Builder
	for s := mapStopped; s < mapStates; s++ {
		ink := m.inks[inkVehicle+uint8(s)]
		b.WriteString(ink.pre + "⣿" + ink.post + " " + mapStateNames[s] + "  ")
	}
	ink := m.inks[inkVehicle+uint8(mapStale)]
	b.WriteString(ink.pre + "⣿" + ink.post + " stale")
	return truncate(b.String(), m.w)
}

// --- linked selection (link.go) and copy -----------------------------------

// SelectedVehicle is the vehicle selected on the map.
func (m *Map) SelectedVehicle() string { return m.selID }

// SelectVehicle selects id on the map if it has a position there.
func (m *Map) SelectVehicle(id string, force bool) bool {
	for i := range m.items {
		if m.items[i].id == id {
			m.selID = id
			return true
		}
	}
	return false
}

// copyTarget: c on the map copies the selected vehicle's id.
func (m *Map) copyTarget() (string, string) { return "the vehicle's id", m.selID }

// --- help ------------------------------------------------------------------

func (m *Map) ShortHelp() []key.Binding {
	k := m.c.Keys
	return []key.Binding{withHelp(k.Open, "select nearest"), k.ZoomIn, k.ZoomOut, k.Fit, k.Centre, k.Timeline}
}

func (m *Map) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{
		{withHelp(k.Up, "pan north"), withHelp(k.Down, "pan south"), withHelp(k.Left, "pan west"), withHelp(k.Right, "pan east")},
		{k.ZoomIn, k.ZoomOut, k.Fit, k.Centre},
		{withHelp(k.Open, "select nearest the +"), k.Timeline, withHelp(k.Copy, "copy the vehicle's id")},
	}
}

package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// batchMsg is one coalesced batch from the feed (ok false: feed closed),
// inside an envelope for the Telemetry pane.
type batchMsg struct {
	b  stream.Batch
	ok bool
}

// teleLayout is the Telemetry pane's geometry for its size, read by View
// and the mouse: the state line, the vehicle list, the selected vehicle's
// rule, then its properties.
type teleLayout struct {
	vehTop, vehRows     int // first vehicle row, and how many fit
	selY                int // the selected vehicle's rule
	propTop, propRows   int // first property row, and how many fit
	nameW, valW, sparkW int // property columns (sparkW 0: no trend)
}

const (
	teleIDW, teleKindW, teleSeenW, teleRateW = 19, 9, 9, 7
	teleTimeW, teleAgeW                      = 8, 7
)

func newTeleLayout(w, h int) teleLayout {
	avail := max(h-4, 2) // state line, two headers, selected vehicle line
	v := clamp(avail*2/5, 1, avail-1)
	l := teleLayout{vehTop: 2, vehRows: v, propRows: max(avail-v, 1)}
	l.selY = l.vehTop + l.vehRows
	l.propTop = l.selY + 2
	// Names like vehicle_location.coordinates come first; the sparkline
	// takes what is left (up to 24 samples).
	l.nameW = clamp(w*38/100, 12, 30)
	l.valW = clamp(w*22/100, 8, 20)
	l.sparkW = min(max(w-2-l.nameW-l.valW-teleTimeW-teleAgeW-4, 0), 24)
	if l.sparkW < 4 {
		l.sparkW = 0
	}
	return l
}

// Telemetry is the live view of the MQTT feed: vehicles seen, and the
// selected one's properties. It redraws from batches (at most ~10 a second)
// and only ever draws the rows that fit.
type Telemetry struct {
	c    *Common
	src  TelemetrySource
	w, h int
	lay  teleLayout

	ch         <-chan stream.Batch
	subscribed bool
	closed     bool

	vehicles   []stream.VehicleSummary
	view       []int
	vwin       window
	selID      string
	props      []stream.Property
	pwin       window
	focusProps bool
	unwatch    func() // ends the long history of the selected vehicle (chart.go)

	filter filterInput
	paused bool

	state     stream.ConnState
	downSince time.Time // when the feed was last seen disconnected (zero: it is up)
	wasUp     bool      // it has been connected: a loss is news
	lastBatch time.Time // when the last batch arrived (the clock's time)
	readAt    time.Time // when the vehicle list was read: rates decay from there
	stats     stream.Stats
	prevStats stream.Stats
	prevAt    time.Time
	rate      float64
	batches   uint64
}

func newTelemetry(c *Common, src TelemetrySource) *Telemetry {
	return &Telemetry{c: c, src: src, filter: newFilter(c, "VIN or pseudonym", 64, c.Keys.Open)}
}

func (m *Telemetry) Init() tea.Cmd {
	if m.src == nil || m.subscribed {
		return nil
	}
	m.subscribed = true
	m.ch = m.src.Subscribe(m.c.Ctx)
	m.state = m.src.State()
	m.noteState(m.state)
	m.reload()
	return m.next()
}

// next waits for the feed's next batch on Bubble Tea's command goroutine;
// it is issued again after each batch, so at most one waits at a time.
func (m *Telemetry) next() tea.Cmd {
	ch := m.ch
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		b, ok := <-ch
		return envelope{pane: paneTelemetry, seq: b.Seq, msg: batchMsg{b: b, ok: ok}}
	}
}

func (m *Telemetry) SetSize(w, h int) {
	m.w, m.h = w, h
	m.lay = newTeleLayout(w, h)
	m.vwin.setHeight(m.lay.vehRows)
	m.pwin.setHeight(m.lay.propRows)
	m.filter.setWidth(w - 4)
}

func (m *Telemetry) Capturing() bool { return m.filter.active }

// broker is the feed's connection as the status bar shows it: this pane is
// its one source (the feed sends a batch whenever the state changes).
func (m *Telemetry) broker() (text string, ok bool) {
	if m.closed {
		return "feed closed", false
	}
	if connected(m.state) {
		return connText(m.state), true
	}
	text = connText(m.state)
	if !m.downSince.IsZero() {
		text += ", down " + shortDuration(m.downFor(m.c.Now()))
	}
	return text, false
}

func (m *Telemetry) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		if b, ok := msg.msg.(batchMsg); ok {
			return m, m.batch(b)
		}
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		m.mouse(msg)
	default:
		if m.filter.active {
			return m, m.filter.update(msg)
		}
	}
	return m, nil
}

func (m *Telemetry) batch(bm batchMsg) tea.Cmd {
	if !bm.ok {
		m.closed = true
		m.ch = nil
		m.rate = 0
		if m.downSince.IsZero() {
			m.downSince = m.c.Now()
		}
		return notify(levelError, "the telemetry feed closed: no more data will arrive in this session")
	}
	b := bm.b
	m.batches++
	m.lastBatch = m.c.Now()
	m.state, m.stats = b.State, b.Stats
	note := m.noteState(b.State)
	if !m.prevAt.IsZero() && b.At.After(m.prevAt) {
		d := b.At.Sub(m.prevAt).Seconds()
		inst := float64(m.stats.Received-min(m.prevStats.Received, m.stats.Received)) / d
		m.rate = 0.7*m.rate + 0.3*inst // smoothed: batches are irregular
	}
	m.prevStats, m.prevAt = m.stats, b.At
	if !m.paused && (b.Full || len(b.Changed) > 0) {
		m.reload()
	}
	return tea.Batch(note, m.next())
}

// reload reads the vehicle list and the selected vehicle's properties.
func (m *Telemetry) reload() {
	if m.src == nil {
		return
	}
	m.vehicles = m.src.Vehicles()
	m.readAt = m.c.Now()
	m.refilter()
	m.loadProps()
}

func (m *Telemetry) refilter() {
	q := m.filter.match()
	m.view = m.view[:0]
	for i := range m.vehicles {
		if q == "" || strings.Contains(strings.ToLower(m.vehicles[i].ID), q) {
			m.view = append(m.view, i)
		}
	}
	m.vwin.setCount(len(m.view))
	if m.selID != "" {
		for vi, i := range m.view {
			if m.vehicles[i].ID == m.selID {
				m.vwin.set(vi)
				break
			}
		}
	}
}

func (m *Telemetry) loadProps() {
	id := ""
	if m.vwin.cursor >= 0 && m.vwin.cursor < len(m.view) {
		id = m.vehicles[m.view[m.vwin.cursor]].ID
	}
	// The cursor stays on its property, not its row: a property that
	// arrives for the first time sorts in above it.
	var was stream.Property
	if id != m.selID {
		m.pwin = window{height: m.pwin.height}
		m.watchSelected(id)
	} else if m.pwin.cursor >= 0 && m.pwin.cursor < len(m.props) {
		was = m.props[m.pwin.cursor]
	}
	m.selID = id
	m.props = nil
	if id != "" && m.src != nil {
		m.props = m.src.Vehicle(id)
	}
	m.pwin.setCount(len(m.props))
	if was.Name == "" {
		return
	}
	for i, p := range m.props {
		if p.Capability == was.Capability && p.Name == was.Name {
			m.pwin.set(i)
			return
		}
	}
}

func (m *Telemetry) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.filter.active {
		changed, cmd := m.filter.key(msg)
		if changed {
			m.refilter()
			m.loadProps()
		}
		return cmd
	}
	if m.src == nil {
		return nil
	}
	lst := &m.vwin
	if m.focusProps {
		lst = &m.pwin
	}
	before := m.vwin.cursor
	switch {
	case key.Matches(msg, k.Pause):
		m.paused = !m.paused
		if !m.paused {
			m.reload()
		}
	case key.Matches(msg, k.Filter):
		m.focusProps = false
		return m.filter.focus()
	case m.focusProps && key.Matches(msg, k.Open):
		return m.openProperty()
	case key.Matches(msg, k.Right), key.Matches(msg, k.Open):
		m.focusProps = true
	case key.Matches(msg, k.Left):
		m.focusProps = false
	case key.Matches(msg, k.Back):
		if m.focusProps {
			m.focusProps = false
		} else if m.filter.clear() {
			m.refilter()
		}
	case lst.navigate(msg, k): // moved the cursor
	}
	if m.vwin.cursor != before {
		m.loadProps()
	}
	return nil
}

func (m *Telemetry) mouse(msg tea.MouseMsg) {
	if m.src == nil || m.filter.active {
		return
	}
	inProps := msg.Y >= m.lay.propTop
	lst := &m.vwin
	if inProps {
		lst = &m.pwin
	}
	before := m.vwin.cursor
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		lst.scroll(-3)
	case msg.Button == tea.MouseButtonWheelDown:
		lst.scroll(3)
	case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
		if inProps {
			m.pwin.click(msg.Y - m.lay.propTop)
			m.focusProps = true
		} else if m.vwin.click(msg.Y - m.lay.vehTop) {
			m.focusProps = false
		}
	}
	if m.vwin.cursor != before {
		m.loadProps()
	}
}

// --- view ------------------------------------------------------------------

func (m *Telemetry) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.src == nil {
		return fit(st.Dim.Render("Telemetry disabled: no [telemetry] section in config"), m.w, m.h)
	}
	now := m.c.Now()
	l := m.lay
	var b strings.Builder
	b.Grow((m.w + 40) * m.h)
	b.WriteString(m.stateLine())
	b.WriteByte('\n')

	idW, kindW, seenW, rateW := teleIDW, teleKindW, teleSeenW, teleRateW
	b.WriteString(st.Header.Render(pad("    "+pad("VEHICLE", idW)+" "+pad("KIND", kindW)+" "+pad("LAST SEEN", seenW)+" "+padLeft("MSG/S", rateW), m.w)))
	start, end := m.vwin.visible()
	for vi := start; vi < end; vi++ {
		b.WriteByte('\n')
		b.WriteString(m.vehicleRow(&m.vehicles[m.view[vi]], vi == m.vwin.cursor && !m.focusProps, vi == m.vwin.cursor, now))
	}
	shown := end - start
	if len(m.view) == 0 {
		b.WriteByte('\n')
		if len(m.vehicles) == 0 {
			b.WriteString(st.Dim.Render("  no vehicles on the feed yet"))
		} else {
			b.WriteString(st.Dim.Render("  nothing matches the filter"))
		}
		shown = 1
	}
	for i := shown; i < l.vehRows; i++ {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(m.selectedLine())
	b.WriteByte('\n')
	b.WriteString(m.propsView(now))
	return fit(b.String(), m.w, m.h)
}

// vehicleRow is one line of the vehicle list: how fresh its data is (a
// glyph and the colour of LAST SEEN), its id and kind, when it was last
// seen and its message rate now. A stale row is dimmed throughout.
func (m *Telemetry) vehicleRow(v *stream.VehicleSummary, selected, cursor bool, now time.Time) string {
	st := m.c.Styles
	marker := "  "
	if cursor {
		marker = "▸ "
	}
	if _, ok := m.c.immob.get(v.ID); ok && !v.Pseudonym {
		marker = immobilisedMarker(cursor)
	}
	fr := vehicleFreshness(v, m.readAt, now)
	id, kind := vehicleLabel(v)
	seen := pad(age(now, v.LastSeen), teleSeenW)
	rate := padLeft(fmt.Sprintf("%.1f", rateNow(v, m.readAt, now)), teleRateW)
	glyph := fr.glyph()
	rest := " " + pad(id, teleIDW) + " " + pad(kind, teleKindW) + " "
	switch {
	case selected:
		return st.Selected.Render(pad(marker+glyph+rest+seen+" "+rate, m.w))
	case fr == stale:
		return st.Dim.Render(marker + glyph + rest + seen + " " + rate)
	case fr == late:
		return marker + st.freshGlyph[late] + rest + st.Warning.Render(seen) + " " + rate
	}
	return marker + st.freshGlyph[fresh] + rest + seen + " " + rate
}

// vehicleLabel: a VIN as it is; a pseudonym marked and shortened so nobody
// mistakes it for a VIN.
func vehicleLabel(v *stream.VehicleSummary) (string, string) {
	id := termsafe.String(v.ID)
	if v.Pseudonym {
		return "⧉ " + abbrev(id, 8), "pseudonym"
	}
	return id, "VIN"
}

func (m *Telemetry) stateLine() string {
	if m.filter.active {
		return m.filter.View()
	}
	st := m.c.Styles
	var parts []string
	state := connText(m.state)
	down := ""
	if d := m.downFor(m.c.Now()); d > 0 || !m.downSince.IsZero() {
		down = " · disconnected for " + shortDuration(d)
	}
	switch {
	case m.closed:
		parts = append(parts, st.Error.Render("● feed closed"+down))
	case connected(m.state):
		parts = append(parts, st.OK.Render("● "+state))
	case m.state.Phase == stream.Failed:
		parts = append(parts, st.Error.Render("● "+state+down))
	default:
		parts = append(parts, st.Warning.Render("● "+state+down))
	}
	parts = append(parts, fmt.Sprintf("%.0f msg/s", m.rate), fmt.Sprintf("%d vehicles", len(m.vehicles)))
	counters := fmt.Sprintf("dropped %d · malformed %d", m.stats.Dropped, m.stats.Malformed)
	if m.stats.Dropped > 0 || m.stats.Malformed > 0 {
		counters = st.Warning.Render(counters)
	} else {
		counters = st.Dim.Render(counters)
	}
	parts = append(parts, counters)
	line := strings.Join(parts, " · ")
	if m.paused {
		line = st.Notice.Render("PAUSED") + " " + line
	}
	if q := m.filter.query(); q != "" {
		line += st.Dim.Render(fmt.Sprintf(" · filter %q: %d", q, len(m.view)))
	}
	return line
}

func (m *Telemetry) selectedLine() string {
	st := m.c.Styles
	if m.selID == "" {
		return st.Dim.Render(strings.Repeat("─", m.w))
	}
	var v *stream.VehicleSummary
	if m.vwin.cursor >= 0 && m.vwin.cursor < len(m.view) {
		v = &m.vehicles[m.view[m.vwin.cursor]]
	}
	title := "─ " + termsafe.String(m.selID)
	if v != nil && v.Pseudonym {
		title = "─ ⧉ " + termsafe.String(m.selID) + " (pseudonym)"
	}
	title += fmt.Sprintf(" · %d properties ", len(m.props))
	if im, ok := m.c.immob.get(m.selID); ok && (v == nil || !v.Pseudonym) {
		title += "· " + immobilisedMark + " immobilised " + age(m.c.Now(), im.since) + " "
	}
	if m.focusProps {
		return st.PaneTitleFocused.Render(rule(title, m.w))
	}
	return st.Header.Render(rule(title, m.w))
}

func (m *Telemetry) propsView(now time.Time) string {
	st := m.c.Styles
	nameW, valW, sparkW := m.lay.nameW, m.lay.valW, m.lay.sparkW
	timeW, ageW := teleTimeW, teleAgeW
	var b strings.Builder
	head := "  " + pad("PROPERTY", nameW) + " " + pad("VALUE", valW) + " " + pad("SOURCE", timeW) + " " + pad("AGE", ageW)
	if sparkW > 0 {
		head += " " + pad("TREND", sparkW)
	}
	b.WriteString(st.Header.Render(pad(head, m.w)))
	start, end := m.pwin.visible()
	for pi := start; pi < end; pi++ {
		p := &m.props[pi]
		sel := m.focusProps && pi == m.pwin.cursor
		marker := "  "
		if sel {
			marker = "▸ "
		}
		name := termsafe.String(p.Capability) + "." + termsafe.String(p.Name)
		var line string
		if p.Failure != nil {
			reason := "⚠ " + termsafe.String(p.Failure.Reason)
			if d := termsafe.String(p.Failure.Description); d != "" {
				reason += ": " + d
			}
			line = marker + pad(name, nameW) + " " + st.Error.Render(truncate(reason, max(m.w-nameW-3, 1)))
		} else {
			val := termsafe.String(p.Value)
			if u := termsafe.String(p.Unit); u != "" {
				val += " " + u
			}
			src := "—"
			srcAge := "—"
			if !p.SourceTime.IsZero() {
				src = p.SourceTime.In(m.c.zone()).Format("15:04:05")
				srcAge = age(now, p.SourceTime)
			}
			line = marker + pad(name, nameW) + " " + pad(val, valW) + " " + pad(src, timeW) + " " + pad(srcAge, ageW)
			if sparkW > 0 && p.Numeric && len(p.History) > 1 {
				line += " " + sparkline(p.History, sparkW)
			}
			if p.Stale {
				line = st.Dim.Render(line)
			}
		}
		if sel {
			line = st.Selected.Render(pad(ansi.Strip(line), m.w))
		}
		b.WriteByte('\n')
		b.WriteString(line)
	}
	if len(m.props) == 0 && m.selID != "" {
		b.WriteString("\n" + st.Dim.Render("  no properties yet"))
	}
	return b.String()
}

var sparkLevels = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last w samples of h, scaled between their min and max.
func sparkline(h []float64, w int) string {
	if len(h) > w {
		h = h[len(h)-w:]
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]rune, 0, len(h))
	for _, v := range h {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			out = append(out, ' ')
		case hi <= lo:
			out = append(out, sparkLevels[3])
		default:
			i := int((v - lo) / (hi - lo) * float64(len(sparkLevels)-1))
			out = append(out, sparkLevels[clamp(i, 0, len(sparkLevels)-1)])
		}
	}
	return string(out)
}

// --- help ------------------------------------------------------------------

func (m *Telemetry) ShortHelp() []key.Binding {
	k := m.c.Keys
	if m.filter.active {
		return m.filter.ShortHelp()
	}
	pause := k.Pause
	if m.paused {
		pause = withHelp(k.Pause, "resume view")
	}
	if m.focusProps {
		return []key.Binding{k.Up, k.Down, withHelp(k.Open, "chart/items"), withHelp(k.Left, "vehicles"), pause, k.Timeline}
	}
	return []key.Binding{k.Up, k.Down, withHelp(k.Right, "properties"), pause, k.Filter}
}

func (m *Telemetry) FullHelp() [][]key.Binding {
	k := m.c.Keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{withHelp(k.Right, "properties"), withHelp(k.Left, "vehicles"), withHelp(k.Open, "chart/items of a property"), k.Back},
		{k.Pause, k.Filter, k.Copy, k.Export},
	}
}

package ui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Sortable columns, in the order `s` cycles through them.
const (
	colVIN = iota
	colBrand
	colStatus
	colChanged
	colTags
	colCount
)

var columnNames = [colCount]string{"VIN", "BRAND", "STATUS", "LAST CHANGE", "TAGS"}

// Messages of the Clearance pane (always inside an envelope).
type (
	listResult struct {
		vehicles []fleet.Vehicle
		err      error
		at       time.Time
	}
	pollTick struct{ gen uint64 }
)

// clearRow is a vehicle with what sorting and filtering need computed once.
type clearRow struct {
	v     fleet.Vehicle
	last  time.Time
	tags  string
	lower string // vin, brand and status, lower-cased, for the filter
}

// clearLayout is the pane's geometry for its size: the width of each column
// (zero hides it) and where the rows are. View and the mouse both read it.
type clearLayout struct {
	vin, brand, status, changed, tags int
	rowsTop                           int // line of the first vehicle row
	rows                              int // vehicle rows that fit
}

func newClearLayout(w, h int) clearLayout {
	avail := w - 2 // marker
	l := clearLayout{vin: 17, status: 10, rowsTop: 2}
	// title, column header and notice line
	l.rows = max(h-3, 1)
	rest := avail - l.vin - 1 - l.status - 1
	if rest >= 8+1+16 {
		l.changed = 16
		rest -= 17
	}
	if rest > 0 {
		l.brand = min(rest, 13)
		rest -= l.brand + 1
	}
	if rest >= 6 {
		l.tags = rest
	}
	return l
}

// Clearance is the fleet clearance view: a windowed table of every vehicle
// with filter and sort. Detail, add, revoke, eligibility and their results
// are overlays on top of it (clearance_edit.go, clearance_detail.go).
type Clearance struct {
	c    *Common
	svc  FleetService
	poll time.Duration
	w, h int
	lay  clearLayout

	rows     []clearRow // sorted
	view     []int      // indices into rows that pass the filter
	win      window
	sortCol  int
	sortDesc bool
	filter   filterInput

	seq          uint64 // last request number issued
	listInFlight uint64 // newest list request not yet answered (0: none)
	listApplied  uint64 // newest list answer applied
	pollGen      uint64
	updated      time.Time
	listErr      error
	loaded       bool

	changed  map[string]bool
	announce string

	overlays   overlays
	busy       string // an add/revoke/eligibility call in flight
	mutSeq     uint64
	approvedV  uint64
	approvedOK []fleet.Vehicle
}

func newClearance(c *Common, svc FleetService, poll time.Duration) *Clearance {
	return &Clearance{
		c: c, svc: svc, poll: poll, sortCol: colVIN, changed: map[string]bool{},
		filter: newFilter(c, "VIN, brand or status", 64, c.Keys.Open),
	}
}

func (m *Clearance) Init() tea.Cmd {
	if m.svc == nil {
		return nil
	}
	return m.list()
}

func (m *Clearance) nextSeq() uint64 { m.seq++; return m.seq }

// list asks for the whole clearance list.
func (m *Clearance) list() tea.Cmd {
	seq := m.nextSeq()
	m.listInFlight = seq
	svc, now := m.svc, m.c.Now
	return m.c.call(paneClearance, seq, listTimeout, func(ctx context.Context) tea.Msg {
		vs, err := svc.List(ctx, nil) // its errors already say "list vehicles"
		return listResult{vehicles: vs, err: err, at: now()}
	})
}

// schedulePoll starts a new poll timer; older timers are ignored by gen.
func (m *Clearance) schedulePoll() tea.Cmd {
	m.pollGen++
	gen := m.pollGen
	return m.c.after(m.poll, envelope{pane: paneClearance, msg: pollTick{gen: gen}})
}

func (m *Clearance) SetSize(w, h int) {
	m.w, m.h = w, h
	m.lay = newClearLayout(w, h)
	m.win.setHeight(m.lay.rows)
	m.filter.setWidth(w - 20)
	m.overlays.setSize(w, h)
}

// Capturing: the filter takes text, and so do most overlays.
func (m *Clearance) Capturing() bool {
	return m.filter.active || m.overlays.capturing()
}

// Approved returns the approved vehicles of the latest list and a version
// number that changes whenever they do.
func (m *Clearance) Approved() ([]fleet.Vehicle, uint64) { return m.approvedOK, m.approvedV }

// Changes is the number of rows that changed at the last refresh.
func (m *Clearance) Changes() int { return len(m.changed) }

func (m *Clearance) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		return m, m.handle(msg)
	case tea.KeyMsg:
		return m, m.key(msg)
	case tea.MouseMsg:
		return m, m.mouse(msg)
	}
	// Anything else is a widget's own message (huh's next field, a text
	// input's): it belongs to what has the keys.
	if m.overlays.active() {
		return m, m.overlays.update(msg)
	}
	if m.filter.active {
		return m, m.filter.update(msg)
	}
	return m, nil
}

func (m *Clearance) handle(env envelope) tea.Cmd {
	switch msg := env.msg.(type) {
	case pollTick:
		if msg.gen != m.pollGen || m.svc == nil {
			return nil
		}
		if m.listInFlight != 0 {
			return m.schedulePoll()
		}
		return m.list()
	case listResult:
		if env.seq <= m.listApplied {
			return nil // an older answer than what is shown
		}
		m.listApplied = env.seq
		if m.listInFlight <= env.seq {
			m.listInFlight = 0
		}
		m.listErr = msg.err
		var news tea.Cmd
		if msg.err == nil {
			if all := m.apply(msg.vehicles, msg.at); all != "" {
				news = notify(levelInfo, "clearance changed: "+all)
			}
		}
		return tea.Batch(m.schedulePoll(), reportFleet(msg.err), news)
	case addResult, deleteResult, eligibilityResult:
		if env.seq != m.mutSeq {
			return nil
		}
		m.busy = ""
		return m.finished(msg)
	}
	return nil
}

// reportFleet tells the status bar how a fleet call went (err nil: it
// succeeded).
func reportFleet(err error) tea.Cmd {
	return reportProvider(providerFleet, err, fleet.IsUnauthorized(err))
}

// apply installs a fresh list, noting what changed since the last one, and
// returns every change in a line ("" when nothing changed).
func (m *Clearance) apply(vs []fleet.Vehicle, at time.Time) string {
	prev := make(map[string]fleet.Status, len(m.rows))
	for i := range m.rows {
		prev[m.rows[i].v.VIN] = m.rows[i].v.Status
	}
	selected := m.selectedVIN()
	rows := make([]clearRow, len(vs))
	changed := map[string]bool{}
	var news []string
	approved := make([]fleet.Vehicle, 0, len(vs))
	for i, v := range vs {
		// The client sanitizes; a FleetService from elsewhere might not.
		v = safeVehicle(v)
		rows[i] = clearRow{v: v, last: v.LastChange(), tags: fleet.TagText(v.Tags, " ")}
		rows[i].lower = strings.ToLower(v.VIN + "\x00" + v.Brand + "\x00" + string(v.Status))
		if old, ok := prev[v.VIN]; m.loaded && (!ok || old != v.Status) {
			changed[v.VIN] = true
			news = append(news, abbrev(v.VIN, 3)+" "+string(v.Status))
		}
		if v.Status == fleet.StatusApproved {
			approved = append(approved, v)
		}
	}
	m.rows = rows
	m.changed = changed
	m.updated = at
	m.loaded = true
	switch {
	case len(news) == 0:
		m.announce = ""
	case len(news) <= 3:
		m.announce = strings.Join(news, ", ")
	default:
		m.announce = strings.Join(news[:3], ", ") + fmt.Sprintf(" (+%d more)", len(news)-3)
	}
	sort.Slice(approved, func(i, j int) bool { return approved[i].VIN < approved[j].VIN })
	if !sameVehicles(approved, m.approvedOK) {
		m.approvedOK = approved
		m.approvedV++
	}
	m.sortRows()
	m.refilter(selected)
	if len(news) == 0 {
		return ""
	}
	full := make([]string, 0, len(news))
	for vinS := range changed {
		if v, ok := m.find(vinS); ok {
			full = append(full, v.VIN+" "+string(v.Status))
		}
	}
	sort.Strings(full)
	return strings.Join(full, ", ")
}

// safeVehicle sanitizes every string of v for the terminal. The fleet client
// already does; a FleetService from elsewhere might not, and it costs
// nothing when the strings are clean.
func safeVehicle(v fleet.Vehicle) fleet.Vehicle {
	v.VIN, v.Brand, v.Status = termsafe.String(v.VIN), termsafe.String(v.Brand), fleet.Status(termsafe.String(string(v.Status)))
	if len(v.Changelog) > 0 {
		cl := make([]fleet.Change, len(v.Changelog))
		for i, c := range v.Changelog {
			c.Status, c.Reason = fleet.Status(termsafe.String(string(c.Status))), termsafe.String(c.Reason)
			cl[i] = c
		}
		v.Changelog = cl
	}
	if len(v.Tags) > 0 {
		tags := make(map[string]string, len(v.Tags))
		for k, val := range v.Tags {
			tags[termsafe.String(k)] = termsafe.String(val)
		}
		v.Tags = tags
	}
	return v
}

func sameVehicles(a, b []fleet.Vehicle) bool {
	return slices.EqualFunc(a, b, func(x, y fleet.Vehicle) bool { return x.VIN == y.VIN && x.Brand == y.Brand })
}

func (m *Clearance) sortRows() {
	col, desc := m.sortCol, m.sortDesc
	less := func(a, b *clearRow) int {
		var c int
		switch col {
		case colBrand:
			c = strings.Compare(a.v.Brand, b.v.Brand)
		case colStatus:
			c = strings.Compare(string(a.v.Status), string(b.v.Status))
		case colChanged:
			c = a.last.Compare(b.last)
		case colTags:
			c = strings.Compare(a.tags, b.tags)
		}
		if c == 0 {
			c = strings.Compare(a.v.VIN, b.v.VIN)
		}
		if desc {
			c = -c
		}
		return c
	}
	slices.SortStableFunc(m.rows, func(a, b clearRow) int { return less(&a, &b) })
}

// refilter rebuilds the visible index and keeps keep (a VIN) selected.
func (m *Clearance) refilter(keep string) {
	f := compileFilter(m.filter.match())
	m.view = m.view[:0]
	for i := range m.rows {
		if f.empty() || f.match(&m.rows[i]) {
			m.view = append(m.view, i)
		}
	}
	m.win.setCount(len(m.view))
	if keep != "" {
		for vi, ri := range m.view {
			if m.rows[ri].v.VIN == keep {
				m.win.set(vi)
				return
			}
		}
	}
}

func (m *Clearance) selected() (fleet.Vehicle, bool) {
	if m.win.cursor < 0 || m.win.cursor >= len(m.view) {
		return fleet.Vehicle{}, false
	}
	return m.rows[m.view[m.win.cursor]].v, true
}

func (m *Clearance) selectedVIN() string {
	if v, ok := m.selected(); ok {
		return v.VIN
	}
	return ""
}

func (m *Clearance) find(vin string) (fleet.Vehicle, bool) {
	for i := range m.rows {
		if m.rows[i].v.VIN == vin {
			return m.rows[i].v, true
		}
	}
	return fleet.Vehicle{}, false
}

func (m *Clearance) key(msg tea.KeyMsg) tea.Cmd {
	if m.overlays.active() {
		return m.overlays.update(msg)
	}
	if m.filter.active {
		changed, cmd := m.filter.key(msg)
		if changed {
			m.refilter(m.selectedVIN())
		}
		return cmd
	}
	if m.svc == nil {
		return nil
	}
	k := m.c.Keys
	switch {
	case m.win.navigate(msg, k): // moved the cursor
	case key.Matches(msg, k.Filter):
		return m.filter.focus()
	case key.Matches(msg, k.Back):
		if m.filter.clear() {
			m.refilter(m.selectedVIN())
		}
	case key.Matches(msg, k.Sort):
		m.sortCol = (m.sortCol + 1) % colCount
		m.resort()
	case key.Matches(msg, k.SortReverse):
		m.sortDesc = !m.sortDesc
		m.resort()
	case key.Matches(msg, k.Refresh):
		if m.listInFlight != 0 {
			return nil
		}
		return m.list()
	case key.Matches(msg, k.Open):
		if v, ok := m.selected(); ok {
			return m.overlays.open(newClearanceDetail(m, v.VIN))
		}
	case key.Matches(msg, k.Add):
		return m.openAdd()
	case key.Matches(msg, k.Revoke) && m.c.marks.len() > 0:
		return m.openBulkRevoke()
	case key.Matches(msg, k.Revoke):
		return m.openRevoke(m.selectedVIN())
	case key.Matches(msg, k.Mark):
		m.toggleMark()
	case key.Matches(msg, k.ClearMarks):
		m.c.marks.clear()
	case key.Matches(msg, k.Eligibility):
		return m.openEligibility(m.selectedVIN())
	}
	return nil
}

func (m *Clearance) resort() {
	keep := m.selectedVIN()
	m.sortRows()
	m.refilter(keep)
}

func (m *Clearance) mouse(msg tea.MouseMsg) tea.Cmd {
	if m.overlays.active() {
		return m.overlays.update(msg)
	}
	if m.svc == nil || m.filter.active {
		return nil
	}
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		m.win.scroll(-3)
	case msg.Button == tea.MouseButtonWheelDown:
		m.win.scroll(3)
	case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
		m.win.click(msg.Y - m.lay.rowsTop)
	}
	return nil
}

// --- view ------------------------------------------------------------------

func (m *Clearance) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.svc == nil {
		return fit(st.Dim.Render("Clearance disabled: no [fleet] section in config"), m.w, m.h)
	}
	if top := m.overlays.top(); top != nil {
		return fit(top.View(), m.w, m.h)
	}
	l := m.lay
	var b strings.Builder
	b.Grow((m.w + 32) * m.h)
	b.WriteString(m.titleLine())
	b.WriteByte('\n')
	b.WriteString(st.Header.Render(m.headerLine(l)))
	start, end := m.win.visible()
	for vi := start; vi < end; vi++ {
		b.WriteByte('\n')
		b.WriteString(m.rowLine(l, vi))
	}
	if len(m.view) == 0 {
		b.WriteByte('\n')
		switch {
		case !m.loaded && m.listErr == nil:
			b.WriteString(st.Dim.Render("  loading…"))
		case len(m.rows) == 0 && m.loaded:
			b.WriteString(st.Dim.Render("  no vehicles yet: press " + m.c.Keys.Add.Help().Key + " to add one"))
		case m.loaded:
			b.WriteString(st.Dim.Render("  nothing matches the filter"))
		}
		end = start + 1
	}
	for i := end - start; i < l.rows; i++ {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(m.noticeLine())
	return fit(b.String(), m.w, m.h)
}

func (m *Clearance) titleLine() string {
	st := m.c.Styles
	if m.filter.active {
		count := fmt.Sprintf("  %d of %d", len(m.view), len(m.rows))
		return truncate(m.filter.View(), max(m.w-len(count), 1)) + st.Dim.Render(count)
	}
	parts := []string{fmt.Sprintf("%d vehicles", len(m.rows))}
	if q := m.filter.query(); q != "" {
		parts = append(parts, fmt.Sprintf("filter %q: %d", q, len(m.view)))
	}
	dir := "↑"
	if m.sortDesc {
		dir = "↓"
	}
	parts = append(parts, "by "+strings.ToLower(columnNames[m.sortCol])+" "+dir)
	switch {
	case m.listInFlight != 0 && m.loaded:
		parts = append(parts, "refreshing…")
	case !m.updated.IsZero():
		parts = append(parts, "updated "+age(m.c.Now(), m.updated))
	}
	return st.Dim.Render(strings.Join(parts, " · "))
}

func (m *Clearance) headerLine(l clearLayout) string {
	name := func(col, w int) string {
		n := columnNames[col]
		if col == m.sortCol {
			if m.sortDesc {
				n += "↓"
			} else {
				n += "↑"
			}
		}
		return pad(n, w)
	}
	var b strings.Builder
	b.WriteString("  ")
	b.WriteString(name(colVIN, l.vin))
	if l.brand > 0 {
		b.WriteByte(' ')
		b.WriteString(name(colBrand, l.brand))
	}
	b.WriteByte(' ')
	b.WriteString(name(colStatus, l.status))
	if l.changed > 0 {
		b.WriteByte(' ')
		b.WriteString(name(colChanged, l.changed))
	}
	if l.tags > 0 {
		b.WriteByte(' ')
		b.WriteString(name(colTags, l.tags))
	}
	return b.String()
}

func (m *Clearance) rowLine(l clearLayout, vi int) string {
	st := m.c.Styles
	r := &m.rows[m.view[vi]]
	sel := vi == m.win.cursor
	changed := m.changed[r.v.VIN]
	var b strings.Builder
	switch {
	case sel:
		b.WriteString("▸")
	default:
		b.WriteString(" ")
	}
	switch _, immobilised := m.c.immob.get(r.v.VIN); {
	case immobilised:
		b.WriteString(immobilisedMark)
	case m.c.marks.has(r.v.VIN):
		b.WriteString("✓")
	case changed:
		b.WriteString("•")
	default:
		b.WriteString(" ")
	}
	b.WriteString(pad(r.v.VIN, l.vin))
	if l.brand > 0 {
		b.WriteByte(' ')
		b.WriteString(pad(r.v.Brand, l.brand))
	}
	b.WriteByte(' ')
	if sel || changed {
		// A coloured badge would end the row's background where it ends.
		b.WriteString(pad(string(r.v.Status), l.status))
	} else {
		b.WriteString(st.Badge(string(r.v.Status), l.status))
	}
	if l.changed > 0 {
		b.WriteByte(' ')
		b.WriteString(pad(m.c.localTime(r.last), l.changed))
	}
	if l.tags > 0 {
		b.WriteByte(' ')
		b.WriteString(pad(r.tags, l.tags))
	}
	switch {
	case sel:
		return st.Selected.Render(b.String())
	case changed:
		return st.Changed.Render(b.String())
	}
	return b.String()
}

func (m *Clearance) noticeLine() string {
	st := m.c.Styles
	switch {
	case m.busy != "":
		return st.Notice.Render(m.busy + "…")
	case m.listErr != nil:
		return st.Error.Render("✗ " + errorText(m.listErr))
	case m.announce != "":
		return st.Notice.Render("changed: " + m.announce)
	}
	return ""
}

// --- help ------------------------------------------------------------------

func (m *Clearance) ShortHelp() []key.Binding {
	if m.overlays.active() {
		return m.overlays.shortHelp()
	}
	if m.filter.active {
		return m.filter.ShortHelp()
	}
	k := m.c.Keys
	b := []key.Binding{k.Up, k.Down, k.Filter, k.Sort, k.Open, k.Refresh}
	if !m.c.ReadOnly {
		revoke := k.Revoke
		if n := m.c.marks.len(); n > 0 {
			revoke = withHelp(k.Revoke, fmt.Sprintf("revoke/cancel %d marked", n))
		}
		b = append(b, k.Add, revoke, k.Mark)
	}
	return append(b, k.Eligibility)
}

func (m *Clearance) FullHelp() [][]key.Binding {
	k := m.c.Keys
	edit := []key.Binding{k.Eligibility}
	if !m.c.ReadOnly {
		edit = []key.Binding{k.Add, k.Revoke, k.Eligibility, k.Confirm, k.Mark, k.ClearMarks}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Filter, k.Sort, k.SortReverse, k.Refresh, k.Open, k.Back},
		edit,
		{k.Copy, k.Export},
	}
}

func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

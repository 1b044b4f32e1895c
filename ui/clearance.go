package ui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// clearanceMode is what the Clearance pane is showing.
type clearanceMode uint8

const (
	clrTable   clearanceMode = iota
	clrDetail                // one vehicle and its changelog
	clrForm                  // add or eligibility form
	clrConfirm               // revoke/cancel dialog
	clrResult                // outcome of add or eligibility
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
	pollTick  struct{ gen uint64 }
	addResult struct {
		rows []fleet.AddResult
		want []fleet.NewVehicle
		err  error
	}
	deleteResult struct {
		vin, from string
		err       error
	}
	eligibilityResult struct {
		e   fleet.Eligibility
		vin string
		err error
	}
	formDone   struct{}
	formCancel struct{}
)

// clearRow is a vehicle with what sorting and filtering need computed once.
type clearRow struct {
	v     fleet.Vehicle
	last  time.Time
	tags  string
	lower string // vin, brand and status, lower-cased, for the filter
}

// Clearance is the fleet clearance view: a windowed table of every vehicle
// with filter, sort, detail, add, revoke and eligibility.
type Clearance struct {
	c    *Common
	svc  FleetService
	poll time.Duration
	w, h int

	rows     []clearRow // sorted
	view     []int      // indices into rows that pass the filter
	win      window
	sortCol  int
	sortDesc bool

	filter    textinput.Model
	filtering bool

	seq          uint64 // last request number issued
	listInFlight uint64 // newest list request not yet answered (0: none)
	listApplied  uint64 // newest list answer applied
	pollGen      uint64
	updated      time.Time
	listErr      error
	loaded       bool

	changed  map[string]bool
	announce string

	mode       clearanceMode
	detailVIN  string
	detailOff  int
	form       *huh.Form
	formKind   string // "add", "eligibility"
	formSeq    uint64
	addVals    *addValues
	eligVals   *eligValues
	confirm    *revokeDialog
	result     []string
	resultErr  bool
	busy       string // an add/revoke/eligibility call in flight
	mutSeq     uint64
	approvedV  uint64
	approvedOK []fleet.Vehicle
}

func newClearance(c *Common, svc FleetService, poll time.Duration) *Clearance {
	ti := textinput.New()
	ti.Prompt = "/ "
	ti.Placeholder = "VIN, brand or status"
	ti.CharLimit = 64
	styleInput(&ti, c.Styles)
	return &Clearance{c: c, svc: svc, poll: poll, filter: ti, sortCol: colVIN, changed: map[string]bool{}}
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
	m.win.setHeight(m.tableRows())
	m.filter.Width = max(w-20, 1)
	if m.form != nil {
		m.form.WithWidth(max(w-1, 10))
	}
}

// tableRows is how many vehicle rows fit: the pane minus the title,
// the column header and the notice line.
func (m *Clearance) tableRows() int { return max(m.h-3, 1) }

// Capturing: besides text input, the dialog and a result take the next key
// whole ("any other key aborts" must not quit the console on q).
func (m *Clearance) Capturing() bool {
	return m.filtering || m.mode == clrForm || m.mode == clrConfirm || m.mode == clrResult
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
		m.mouse(msg)
		return m, nil
	}
	// Anything else may be one of huh's own messages.
	if m.form != nil {
		return m, m.updateForm(msg)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return m, cmd
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
		if msg.err == nil {
			m.apply(msg.vehicles, msg.at)
		}
		return tea.Batch(m.schedulePoll(), reportFleet(msg.err))
	case formDone:
		if env.seq != m.formSeq || m.form == nil {
			return nil
		}
		return m.submitForm()
	case formCancel:
		if env.seq != m.formSeq {
			return nil
		}
		m.closeForm()
		return nil
	case addResult:
		if env.seq != m.mutSeq {
			return nil
		}
		m.busy = ""
		m.showAddResult(msg)
		if msg.err != nil {
			return reportFleet(msg.err)
		}
		return tea.Batch(reportFleet(nil), m.list())
	case deleteResult:
		if env.seq != m.mutSeq {
			return nil
		}
		m.busy = ""
		m.showDeleteResult(msg)
		if msg.err != nil {
			return reportFleet(msg.err)
		}
		return tea.Batch(reportFleet(nil), m.list())
	case eligibilityResult:
		if env.seq != m.mutSeq {
			return nil
		}
		m.busy = ""
		m.showEligibility(msg)
		return reportFleet(msg.err)
	}
	return nil
}

// reportFleet tells the status bar how a fleet call went (err nil: it
// succeeded).
func reportFleet(err error) tea.Cmd {
	return reportProvider("fleet", err, fleet.IsUnauthorized(err))
}

// apply installs a fresh list, noting what changed since the last one.
func (m *Clearance) apply(vs []fleet.Vehicle, at time.Time) {
	prev := make(map[string]fleet.Status, len(m.rows))
	for i := range m.rows {
		prev[m.rows[i].v.VIN] = m.rows[i].v.Status
	}
	var selected string
	if v, ok := m.selected(); ok {
		selected = v.VIN
	}
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
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	m.view = m.view[:0]
	for i := range m.rows {
		if q == "" || strings.Contains(m.rows[i].lower, q) {
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

func (m *Clearance) find(vin string) (fleet.Vehicle, bool) {
	for i := range m.rows {
		if m.rows[i].v.VIN == vin {
			return m.rows[i].v, true
		}
	}
	return fleet.Vehicle{}, false
}

func (m *Clearance) key(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	switch m.mode {
	case clrForm:
		if msg.Type == tea.KeyEsc {
			m.closeForm()
			return nil
		}
		return m.updateForm(msg)
	case clrConfirm:
		return m.answerConfirm(msg)
	case clrResult:
		m.mode = clrTable
		m.result = nil
		return nil
	case clrDetail:
		switch {
		case key.Matches(msg, k.Back), key.Matches(msg, k.Open):
			m.mode = clrTable
		case key.Matches(msg, k.Up):
			m.detailOff = max(m.detailOff-1, 0)
		case key.Matches(msg, k.Down):
			m.detailOff++
		case key.Matches(msg, k.Revoke):
			return m.openConfirm()
		case key.Matches(msg, k.Eligibility):
			return m.openEligibility()
		}
		return nil
	}
	if m.filtering {
		switch msg.Type {
		case tea.KeyEnter:
			m.filtering = false
			m.filter.Blur()
			return nil
		case tea.KeyEsc:
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
			m.refilter(m.selectedVIN())
			return nil
		}
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.refilter(m.selectedVIN())
		return cmd
	}
	if m.svc == nil {
		return nil
	}
	switch {
	case m.win.navigate(msg, k): // moved the cursor
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m.filter.Focus()
	case key.Matches(msg, k.Back):
		if m.filter.Value() != "" {
			m.filter.SetValue("")
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
			m.mode, m.detailVIN, m.detailOff = clrDetail, v.VIN, 0
		}
	case key.Matches(msg, k.Add):
		return m.openAdd()
	case key.Matches(msg, k.Revoke):
		return m.openConfirm()
	case key.Matches(msg, k.Eligibility):
		return m.openEligibility()
	}
	return nil
}

func (m *Clearance) selectedVIN() string {
	if v, ok := m.selected(); ok {
		return v.VIN
	}
	return ""
}

func (m *Clearance) resort() {
	keep := m.selectedVIN()
	m.sortRows()
	m.refilter(keep)
}

func (m *Clearance) mouse(msg tea.MouseMsg) {
	if m.mode != clrTable || m.svc == nil {
		return
	}
	switch {
	case msg.Button == tea.MouseButtonWheelUp:
		m.win.scroll(-3)
	case msg.Button == tea.MouseButtonWheelDown:
		m.win.scroll(3)
	case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
		m.win.click(msg.Y - 2) // title and header lines come first
	}
}

// refuse explains why a mutating action is not available, or returns "".
func (m *Clearance) refuse() string {
	if m.c.ReadOnly {
		return "read-only session: adding and revoking are disabled"
	}
	if m.busy != "" {
		return m.busy + " still in progress"
	}
	return ""
}

func (m *Clearance) showMessage(isErr bool, lines ...string) {
	m.mode, m.result, m.resultErr = clrResult, lines, isErr
}

// --- revoke / cancel -------------------------------------------------------

type revokeDialog struct {
	vin, brand, from, verb, path string
}

func (m *Clearance) openConfirm() tea.Cmd {
	if why := m.refuse(); why != "" {
		m.showMessage(true, why)
		return nil
	}
	v, ok := m.selected()
	if m.mode == clrDetail {
		v, ok = m.find(m.detailVIN)
	}
	if !ok {
		return nil
	}
	d := &revokeDialog{vin: v.VIN, brand: v.Brand, from: string(v.Status)}
	switch v.Status {
	case fleet.StatusApproved:
		d.verb, d.path = "Revoke", "approved → revoking → revoked: data access stops"
	case fleet.StatusPending:
		d.verb, d.path = "Cancel", "pending → canceling → canceled: the request is withdrawn"
	case fleet.StatusRevoking, fleet.StatusCanceling:
		m.showMessage(true, fmt.Sprintf("%s is already %s.", v.VIN, v.Status))
		return nil
	case fleet.StatusRevoked, fleet.StatusCanceled, fleet.StatusRejected:
		m.showMessage(true, fmt.Sprintf("%s is %s: there is no clearance to remove.", v.VIN, v.Status))
		return nil
	default:
		d.verb, d.path = "Remove", string(v.Status)+" → removed (the API decides the states)"
	}
	m.confirm = d
	m.mode = clrConfirm
	return nil
}

// answerConfirm: the confirm key goes ahead, anything else aborts.
func (m *Clearance) answerConfirm(msg tea.KeyMsg) tea.Cmd {
	d := m.confirm
	m.confirm = nil
	m.mode = clrTable
	if d == nil || !key.Matches(msg, m.c.Keys.Confirm) {
		return nil
	}
	m.mutSeq = m.nextSeq()
	m.busy = strings.ToLower(d.verb) + " " + d.vin
	svc := m.svc
	m.c.Logger.Info("clearance remove requested", "vin", d.vin, "from", d.from)
	return m.c.call(paneClearance, m.mutSeq, mutateTimeout, func(ctx context.Context) tea.Msg {
		err := svc.Delete(ctx, d.vin)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", strings.ToLower(d.verb), d.vin, err)
		}
		return deleteResult{vin: d.vin, from: d.from, err: err}
	})
}

func (m *Clearance) showDeleteResult(r deleteResult) {
	switch {
	case r.err == nil && r.from == string(fleet.StatusPending):
		m.showMessage(false, r.vin+": cancel requested (pending → canceling → canceled).")
	case r.err == nil:
		m.showMessage(false, r.vin+": revoke requested (approved → revoking → revoked).")
	case fleet.IsConflict(r.err):
		m.showMessage(true, "Refused: already removed or in transition.", errorText(r.err))
	case fleet.IsUnsupported(r.err):
		m.showMessage(true, "Refused: not supported for this vehicle.", errorText(r.err))
	default:
		m.showMessage(true, errorText(r.err))
	}
}

func (m *Clearance) dialogView() string {
	d := m.confirm
	st := m.c.Styles
	w := clamp(m.w-4, 20, 64)
	body := []string{
		st.Bold.Render(fmt.Sprintf("%s the clearance of %s (%s)?", d.verb, d.vin, d.brand)),
		"",
	}
	body = append(body, wrapText(d.path, w-4, 3)...)
	body = append(body, "", fmt.Sprintf("%s: %s    any other key: keep it", m.c.Keys.Confirm.Help().Key, strings.ToLower(d.verb)))
	box := st.Dialog.Width(w - 2).Render(strings.Join(body, "\n"))
	return center(box, m.w, m.h-1)
}

// center places block in the middle of a w×h area.
func center(block string, w, h int) string {
	lines := strings.Split(block, "\n")
	top := max((h-len(lines))/2, 0)
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	left := strings.Repeat(" ", max((w-bw)/2, 0))
	var b strings.Builder
	b.WriteString(strings.Repeat("\n", top))
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(left + l)
	}
	return b.String()
}

// --- add / eligibility forms -----------------------------------------------

type addValues struct {
	vin, brand, odometer, unit string
}

type eligValues struct {
	vin, brand string
}

func (m *Clearance) newForm(kind string, groups ...*huh.Group) tea.Cmd {
	m.formSeq = m.nextSeq()
	seq := m.formSeq
	f := huh.NewForm(groups...).
		WithTheme(m.c.Styles.FormTheme()).
		WithShowHelp(true).
		WithWidth(max(m.w-1, 10))
	f.SubmitCmd = func() tea.Msg { return envelope{pane: paneClearance, seq: seq, msg: formDone{}} }
	f.CancelCmd = func() tea.Msg { return envelope{pane: paneClearance, seq: seq, msg: formCancel{}} }
	m.form, m.formKind, m.mode = f, kind, clrForm
	return f.Init()
}

func (m *Clearance) closeForm() {
	m.form, m.addVals, m.eligVals = nil, nil, nil
	if m.mode == clrForm {
		m.mode = clrTable
	}
}

func (m *Clearance) updateForm(msg tea.Msg) tea.Cmd {
	if m.form == nil {
		return nil
	}
	f, cmd := m.form.Update(msg)
	if ff, ok := f.(*huh.Form); ok {
		m.form = ff
	}
	return cmd
}

func brandOptions(selected string) []huh.Option[string] {
	brands := fleet.Brands()
	opts := make([]huh.Option[string], len(brands))
	for i, b := range brands {
		opts[i] = huh.NewOption(b, b).Selected(b == selected)
	}
	return opts
}

// vinHint is the as-you-type line under the VIN field.
func vinHint(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "17 characters; I, O and Q never appear"
	}
	r, err := vin.Check(s)
	if err != nil {
		return "✗ " + termsafe.String(err.Error())
	}
	if w := r.Warning(); w != "" {
		return "⚠ " + w + " (allowed)"
	}
	return "✓ valid VIN"
}

func (m *Clearance) openAdd() tea.Cmd {
	if why := m.refuse(); why != "" {
		m.showMessage(true, why)
		return nil
	}
	v := &addValues{unit: fleet.UnitKilometers}
	m.addVals = v
	isMB := func() bool { return v.brand == fleet.BrandMercedesBenz }
	return m.newForm("add",
		huh.NewGroup(
			huh.NewInput().Title("VIN").Value(&v.vin).CharLimit(17).
				DescriptionFunc(func() string { return vinHint(v.vin) }, &v.vin).
				Validate(func(s string) error { _, err := vin.Check(s); return err }),
			huh.NewSelect[string]().Title("Brand").Options(brandOptions("")...).
				Value(&v.brand).Height(6).Filtering(false),
		).Title("Add a vehicle for clearance"),
		huh.NewGroup(
			huh.NewInput().Title("Odometer (required for Mercedes-Benz)").Value(&v.odometer).CharLimit(9).
				Validate(func(s string) error { _, err := parseOdometer(s, isMB()); return err }),
			huh.NewSelect[string]().Title("Unit").Inline(true).
				Options(huh.NewOptions(fleet.UnitKilometers, fleet.UnitMiles)...).Value(&v.unit),
		).Title("Mercedes-Benz control measure").WithHideFunc(func() bool { return !isMB() }),
	)
}

func (m *Clearance) openEligibility() tea.Cmd {
	if m.busy != "" {
		m.showMessage(true, m.busy+" still in progress")
		return nil
	}
	v := &eligValues{}
	if sel, ok := m.selected(); ok {
		v.vin, v.brand = sel.VIN, sel.Brand
	}
	if m.mode == clrDetail {
		if sel, ok := m.find(m.detailVIN); ok {
			v.vin, v.brand = sel.VIN, sel.Brand
		}
	}
	m.eligVals = v
	return m.newForm("eligibility",
		huh.NewGroup(
			huh.NewInput().Title("VIN").Value(&v.vin).CharLimit(17).
				DescriptionFunc(func() string { return vinHint(v.vin) }, &v.vin).
				Validate(func(s string) error { _, err := vin.Check(s); return err }),
			huh.NewSelect[string]().Title("Brand").Options(brandOptions(v.brand)...).
				Value(&v.brand).Height(6),
		).Title("Eligibility check"),
	)
}

func (m *Clearance) submitForm() tea.Cmd {
	kind := m.formKind
	av, ev := m.addVals, m.eligVals
	m.closeForm()
	switch kind {
	case "add":
		if av == nil {
			return nil
		}
		nv, err := av.vehicle()
		if err != nil {
			m.showMessage(true, errorText(err))
			return nil
		}
		m.mutSeq = m.nextSeq()
		m.busy = "add " + nv.VIN
		svc := m.svc
		m.c.Logger.Info("clearance add requested", "vin", nv.VIN, "brand", nv.Brand)
		want := []fleet.NewVehicle{nv}
		return m.c.call(paneClearance, m.mutSeq, mutateTimeout, func(ctx context.Context) tea.Msg {
			rows, err := svc.Add(ctx, want)
			if err != nil {
				err = fmt.Errorf("add %s: %w", nv.VIN, err)
			}
			return addResult{rows: rows, want: want, err: err}
		})
	case "eligibility":
		if ev == nil {
			return nil
		}
		r, err := vin.Check(ev.vin)
		if err != nil {
			m.showMessage(true, errorText(err))
			return nil
		}
		m.mutSeq = m.nextSeq()
		m.busy = "eligibility " + r.VIN
		svc, brand := m.svc, ev.brand
		return m.c.call(paneClearance, m.mutSeq, mutateTimeout, func(ctx context.Context) tea.Msg {
			e, err := svc.Eligibility(ctx, r.VIN, brand)
			if err != nil {
				err = fmt.Errorf("eligibility of %s: %w", r.VIN, err)
			}
			return eligibilityResult{e: e, vin: r.VIN, err: err}
		})
	}
	return nil
}

// vehicle turns the form's values into the request, with the same checks the
// form makes (so nothing reaches the API that the form would refuse).
func (v *addValues) vehicle() (fleet.NewVehicle, error) {
	r, err := vin.Check(v.vin)
	if err != nil {
		return fleet.NewVehicle{}, err
	}
	if v.brand == "" {
		return fleet.NewVehicle{}, fmt.Errorf("add %s: choose a brand", r.VIN)
	}
	nv := fleet.NewVehicle{VIN: r.VIN, Brand: v.brand}
	mb := v.brand == fleet.BrandMercedesBenz
	odo, err := parseOdometer(v.odometer, mb)
	if err != nil {
		return fleet.NewVehicle{}, fmt.Errorf("add %s: %w", r.VIN, err)
	}
	if mb {
		nv.Odometer = &fleet.Odometer{Value: odo, Unit: v.unit}
	}
	return nv, nil
}

// maxOdometer bounds what the form takes (and keeps the sum from overflowing):
// ten million kilometres or miles is beyond any road vehicle.
const maxOdometer = 10_000_000

func parseOdometer(s string, required bool) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return 0, fmt.Errorf("the odometer reading is required for Mercedes-Benz")
		}
		return 0, nil
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("odometer: whole number, digits only")
		}
		n = n*10 + int64(c-'0')
		if n > maxOdometer {
			return 0, fmt.Errorf("odometer: more than %d is not a vehicle's reading", maxOdometer)
		}
	}
	return n, nil
}

func (m *Clearance) showAddResult(r addResult) {
	if r.err != nil {
		m.showMessage(true, errorText(r.err))
		return
	}
	lines := []string{}
	bad := false
	for _, row := range r.rows {
		line := fmt.Sprintf("%s  %s", termsafe.String(row.VIN), termsafe.String(string(row.Status)))
		if row.Status == fleet.StatusError {
			bad = true
			if d := termsafe.String(row.Description); d != "" {
				line += ": " + d
			}
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "The API returned no rows for "+r.want[0].VIN+".")
	}
	m.showMessage(bad, lines...)
}

func (m *Clearance) showEligibility(r eligibilityResult) {
	if r.err != nil {
		m.showMessage(true, errorText(r.err))
		return
	}
	e := r.e
	verdict := "✓ eligible"
	if !e.Eligible {
		verdict = "✗ not eligible"
	}
	dd := "—"
	if len(e.DataDelivery) > 0 {
		dd = termsafe.String(strings.Join(e.DataDelivery, ", "))
	}
	conn := termsafe.String(e.ConnectivityStatus)
	if conn == "" {
		conn = "—"
	}
	m.showMessage(!e.Eligible, r.vin+": "+verdict, "data delivery: "+dd, "connectivity: "+conn)
}

// --- view ------------------------------------------------------------------

// layout decides the width of each column for the pane's width; a zero
// width hides the column.
type clearLayout struct{ vin, brand, status, changed, tags int }

func (m *Clearance) layout() clearLayout {
	avail := m.w - 2 // marker
	l := clearLayout{vin: 17, status: 10}
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

func (m *Clearance) View() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	st := m.c.Styles
	if m.svc == nil {
		return fit(st.Dim.Render("Clearance disabled: no [fleet] section in config"), m.w, m.h)
	}
	switch m.mode {
	case clrConfirm:
		return fit(m.dialogView(), m.w, m.h)
	case clrForm:
		if m.form != nil {
			return fit(m.form.View(), m.w, m.h)
		}
	case clrResult:
		return fit(m.resultView(), m.w, m.h)
	case clrDetail:
		return fit(m.detailView(), m.w, m.h)
	}
	var b strings.Builder
	b.Grow((m.w + 32) * m.h)
	b.WriteString(m.titleLine())
	b.WriteByte('\n')
	l := m.layout()
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
	for i := end - start; i < m.tableRows(); i++ {
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(m.noticeLine())
	return fit(b.String(), m.w, m.h)
}

func (m *Clearance) titleLine() string {
	st := m.c.Styles
	if m.filtering {
		count := fmt.Sprintf("  %d of %d", len(m.view), len(m.rows))
		return truncate(m.filter.View(), max(m.w-len(count), 1)) + st.Dim.Render(count)
	}
	parts := []string{fmt.Sprintf("%d vehicles", len(m.rows))}
	if q := m.filter.Value(); q != "" {
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
	if changed {
		b.WriteString("•")
	} else {
		b.WriteString(" ")
	}
	b.WriteString(pad(r.v.VIN, l.vin))
	if l.brand > 0 {
		b.WriteByte(' ')
		b.WriteString(pad(r.v.Brand, l.brand))
	}
	b.WriteByte(' ')
	if sel {
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

func (m *Clearance) resultView() string {
	st := m.c.Styles
	lines := make([]string, 0, len(m.result)+2)
	for _, l := range m.result {
		for _, wl := range wrapText(l, max(m.w-2, 10), 6) {
			if m.resultErr {
				lines = append(lines, st.Error.Render(wl))
			} else {
				lines = append(lines, st.OK.Render(wl))
			}
		}
	}
	lines = append(lines, "", st.Dim.Render("any key: back to the list"))
	return strings.Join(lines, "\n")
}

func (m *Clearance) detailView() string {
	st := m.c.Styles
	v, ok := m.find(m.detailVIN)
	if !ok {
		return st.Dim.Render(m.detailVIN + " is no longer in the list.\n\nesc: back")
	}
	lines := []string{
		st.Bold.Render(v.VIN) + "  " + v.Brand + "  " + st.Badge(string(v.Status), len(v.Status)),
	}
	if t := fleet.TagText(v.Tags, " "); t != "" {
		lines = append(lines, st.Dim.Render("tags: ")+t)
	}
	lines = append(lines, "", st.Header.Render("Changelog (newest first, your time zone)"))
	if len(v.Changelog) == 0 {
		lines = append(lines, st.Dim.Render("  no changes recorded"))
	}
	for i := len(v.Changelog) - 1; i >= 0; i-- {
		c := v.Changelog[i]
		line := "  " + m.c.localTime(c.Timestamp) + "  " + st.Badge(string(c.Status), 10)
		if c.Reason != "" {
			reasons := wrapText("reason: "+c.Reason, max(m.w-32, 10), 4)
			line += " " + reasons[0]
			lines = append(lines, line)
			for _, more := range reasons[1:] {
				lines = append(lines, strings.Repeat(" ", 31)+more)
			}
			continue
		}
		lines = append(lines, line)
	}
	body := m.h - 1
	m.detailOff = clamp(m.detailOff, 0, max(len(lines)-body, 0))
	lines = lines[m.detailOff:]
	if len(lines) > body {
		lines = lines[:body]
	}
	for len(lines) < body {
		lines = append(lines, "")
	}
	help := "esc: back · ↑/↓: scroll"
	if !m.c.ReadOnly {
		help += " · " + m.c.Keys.Revoke.Help().Key + ": revoke/cancel · " + m.c.Keys.Eligibility.Help().Key + ": eligibility"
	}
	lines = append(lines, st.Dim.Render(help))
	return strings.Join(lines, "\n")
}

// --- help ------------------------------------------------------------------

func (m *Clearance) ShortHelp() []key.Binding {
	k := m.c.Keys
	switch m.mode {
	case clrConfirm:
		return []key.Binding{k.Confirm}
	case clrDetail:
		return []key.Binding{k.Back, k.Up, k.Down}
	}
	if m.filtering {
		return []key.Binding{withHelp(k.Open, "keep filter"), withHelp(k.Back, "clear")}
	}
	b := []key.Binding{k.Up, k.Down, k.Filter, k.Sort, k.Open, k.Refresh}
	if !m.c.ReadOnly {
		b = append(b, k.Add, k.Revoke)
	}
	return append(b, k.Eligibility)
}

func (m *Clearance) FullHelp() [][]key.Binding {
	k := m.c.Keys
	edit := []key.Binding{k.Eligibility}
	if !m.c.ReadOnly {
		edit = []key.Binding{k.Add, k.Revoke, k.Eligibility, k.Confirm}
	}
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Filter, k.Sort, k.SortReverse, k.Refresh, k.Open, k.Back},
		edit,
	}
}

func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

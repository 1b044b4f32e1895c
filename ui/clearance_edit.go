package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
)

// The Clearance pane's changes: revoke (a confirm dialog), add and
// eligibility (forms), and the messages their answers open.

// Answers of the fleet API to the pane's changes (inside envelopes).
type (
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
)

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

// showMessage opens a message over the pane; the history keeps its text
// (the message wraps long lines to a few).
func (m *Clearance) showMessage(isErr bool, lines ...string) tea.Cmd {
	lvl := levelInfo
	if isErr {
		lvl = levelError
	}
	return tea.Batch(m.overlays.open(newMessage(m.c, isErr, lines...)), notifyQuiet(lvl, strings.Join(lines, " ")))
}

// mutate runs one change against the fleet API; its answer comes back as
// the pane's latest mutation, and the pane is busy until then.
func (m *Clearance) mutate(busy string, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	m.mutSeq = m.nextSeq()
	m.busy = busy
	return m.c.call(paneClearance, m.mutSeq, mutateTimeout, fn)
}

// --- revoke / cancel -------------------------------------------------------

// openRevoke asks whether to remove vin's clearance, in the words its
// state calls for.
func (m *Clearance) openRevoke(vinS string) tea.Cmd {
	if why := m.refuse(); why != "" {
		return m.showMessage(true, why)
	}
	v, ok := m.find(vinS)
	if !ok {
		return nil
	}
	var verb, path string
	switch v.Status {
	case fleet.StatusApproved:
		verb, path = "Revoke", "approved → revoking → revoked: data access stops"
	case fleet.StatusPending:
		verb, path = "Cancel", "pending → canceling → canceled: the request is withdrawn"
	case fleet.StatusRevoking, fleet.StatusCanceling:
		return m.showMessage(true, fmt.Sprintf("%s is already %s.", v.VIN, v.Status))
	case fleet.StatusRevoked, fleet.StatusCanceled, fleet.StatusRejected:
		return m.showMessage(true, fmt.Sprintf("%s is %s: there is no clearance to remove.", v.VIN, v.Status))
	default:
		verb, path = "Remove", string(v.Status)+" → removed (the API decides the states)"
	}
	title := fmt.Sprintf("%s the clearance of %s (%s)?", verb, v.VIN, v.Brand)
	from := string(v.Status)
	return m.overlays.open(newConfirm(m.c, title, path, strings.ToLower(verb), func() tea.Cmd {
		return m.revoke(v.VIN, from, strings.ToLower(verb))
	}))
}

func (m *Clearance) revoke(vinS, from, verb string) tea.Cmd {
	svc := m.svc
	m.c.Logger.Info("clearance remove requested", "vin", vinS, "from", from)
	return m.mutate(verb+" "+vinS, func(ctx context.Context) tea.Msg {
		err := svc.Delete(ctx, vinS)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", verb, vinS, err)
		}
		return deleteResult{vin: vinS, from: from, err: err}
	})
}

// --- add / eligibility forms -----------------------------------------------

// addValues are what the add form's fields write to.
type addValues struct {
	vin                   *guardedString
	brand, odometer, unit string
}

// guardedString holds a form field that huh reads from two goroutines: the
// form's Update writes it, and its DescriptionFunc runs as a command. V is
// exported because huh notices a change by hashing the exported fields of
// the bindings (copying the struct as it does so: hence a pointer to the
// lock, never the lock itself); it is written only through Set.
type guardedString struct {
	mu *sync.Mutex
	V  string
}

func newGuardedString(v string) *guardedString { return &guardedString{mu: new(sync.Mutex), V: v} }

func (g *guardedString) Get() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.V
}

func (g *guardedString) Set(v string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.V = v
}

// brandOptions lists the fleet API's brands for a VIN: keep first (the
// brand a vehicle already has), then the brands the VIN's manufacturer code
// points to (vin.Brands; the sandbox's for a VIN only the sandbox takes),
// marked as proposed, then the rest. huh's select lands on the first entry
// when its options change, so the proposal is what the operator confirms.
// The sandbox brand is proposed for a VIN with I, O or Q only on a sandbox
// profile: elsewhere such a VIN is more likely a typo.
func brandOptions(vinS, keep string, sandbox bool) []huh.Option[string] {
	v := vin.Normalize(vinS)
	var proposed []string
	if len(v) >= 3 {
		proposed = vin.Brands(v)
		if sandbox && !vin.Valid(v) && vin.Plausible(v) {
			proposed = []string{fleet.BrandSandbox}
		}
	}
	var first []string
	if keep != "" {
		first = append(first, keep)
	}
	for _, b := range proposed {
		if b != keep {
			first = append(first, b)
		}
	}
	opts := make([]huh.Option[string], 0, len(fleet.Brands())+1)
	for i, b := range first {
		label := b
		if slices.Contains(proposed, b) {
			label += "  ← proposed from the VIN (" + vin.WMI(v) + ")"
		}
		opts = append(opts, huh.NewOption(label, b).Selected(i == 0))
	}
	for _, b := range fleet.Brands() {
		if !slices.Contains(first, b) {
			opts = append(opts, huh.NewOption(b, b))
		}
	}
	return opts
}

// brandField is the brand select under a VIN field: its options follow the
// VIN as it is typed, and it refuses a brand the VIN does not suit (a VIN
// with I, O or Q suits only the sandbox).
func brandField(v *guardedString, brand *string, keep string, sandbox bool) *huh.Select[string] {
	return huh.NewSelect[string]().Title("Brand").
		Options(brandOptions(v.Get(), keep, sandbox)...).
		OptionsFunc(func() []huh.Option[string] { return brandOptions(v.Get(), keep, sandbox) }, v).
		Value(brand).Height(6).Filtering(false).
		Validate(func(b string) error { _, err := fleet.CheckVIN(v.Get(), b); return err })
}

// vinHint is the as-you-type line under the VIN field: whether it is a
// VIN, and the brands its manufacturer code points to.
func vinHint(s string, sandbox bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "17 characters; I, O and Q never appear"
	}
	proposal := ""
	if bs := vin.Brands(s); len(bs) > 0 {
		proposal = " · " + vin.WMI(s) + ": " + strings.Join(bs, " or ")
	}
	r, err := vin.Check(s)
	if err != nil {
		switch {
		case vin.Plausible(vin.Normalize(s)) && sandbox:
			return "⚠ I, O or Q: a sandbox VIN (brand sandbox); no car carries it"
		case vin.Plausible(vin.Normalize(s)):
			return "✗ " + termsafe.String(err.Error()) + "; only the sandbox brand takes such VINs"
		}
		return "✗ " + termsafe.String(err.Error())
	}
	if w := r.Warning(); w != "" {
		return "⚠ " + w + " (allowed)" + proposal
	}
	return "✓ valid VIN" + proposal
}

// formVIN accepts what some brand takes: a valid VIN, or the shape of one
// (the sandbox's); the brand field then checks the pair.
func formVIN(s string) error {
	_, err := vin.Check(s)
	if err != nil && vin.Plausible(vin.Normalize(s)) {
		return nil
	}
	return err
}

// vinField is the VIN input both forms start with; the line under it judges
// the VIN as it is typed.
func vinField(v *guardedString, sandbox bool) *huh.Input {
	return huh.NewInput().Title("VIN").Accessor(v).CharLimit(17).
		DescriptionFunc(func() string { return vinHint(v.Get(), sandbox) }, v).
		Validate(formVIN)
}

func (m *Clearance) openAdd() tea.Cmd {
	if why := m.refuse(); why != "" {
		return m.showMessage(true, why)
	}
	v := &addValues{vin: newGuardedString(""), unit: fleet.UnitKilometers}
	isMB := func() bool { return v.brand == fleet.BrandMercedesBenz }
	return m.overlays.open(newForm(m.c, func() tea.Cmd { return m.add(v) },
		huh.NewGroup(
			vinField(v.vin, m.c.sandbox),
			brandField(v.vin, &v.brand, "", m.c.sandbox),
		).Title("Add a vehicle for clearance"),
		huh.NewGroup(
			huh.NewInput().Title("Odometer (required for Mercedes-Benz)").Value(&v.odometer).CharLimit(9).
				Validate(func(s string) error { _, err := parseOdometer(s, isMB()); return err }),
			huh.NewSelect[string]().Title("Unit").Inline(true).
				Options(huh.NewOptions(fleet.UnitKilometers, fleet.UnitMiles)...).Value(&v.unit),
		).Title("Mercedes-Benz control measure").WithHideFunc(func() bool { return !isMB() }),
	))
}

// add sends what the add form collected.
func (m *Clearance) add(v *addValues) tea.Cmd {
	nv, err := v.vehicle()
	if err != nil {
		return m.showMessage(true, errorText(err))
	}
	svc := m.svc
	m.c.Logger.Info("clearance add requested", "vin", nv.VIN, "brand", nv.Brand)
	want := []fleet.NewVehicle{nv}
	return m.mutate("add "+nv.VIN, func(ctx context.Context) tea.Msg {
		rows, err := svc.Add(ctx, want)
		if err != nil {
			err = fmt.Errorf("add %s: %w", nv.VIN, err)
		}
		return addResult{rows: rows, want: want, err: err}
	})
}

// openEligibility asks the eligibility of a VIN, vinS's (and its brand) to
// start with.
func (m *Clearance) openEligibility(vinS string) tea.Cmd {
	if m.busy != "" {
		return m.showMessage(true, m.busy+" still in progress")
	}
	vinV, brand, keep := newGuardedString(""), "", ""
	if sel, ok := m.find(vinS); ok {
		vinV, brand, keep = newGuardedString(sel.VIN), sel.Brand, sel.Brand
	}
	return m.overlays.open(newForm(m.c, func() tea.Cmd { return m.eligibility(vinV.Get(), brand) },
		huh.NewGroup(
			vinField(vinV, m.c.sandbox),
			brandField(vinV, &brand, keep, m.c.sandbox),
		).Title("Eligibility check"),
	))
}

func (m *Clearance) eligibility(vinS, brand string) tea.Cmd {
	v, err := fleet.CheckVIN(vinS, brand)
	if err != nil {
		return m.showMessage(true, errorText(err))
	}
	svc := m.svc
	return m.mutate("eligibility "+v, func(ctx context.Context) tea.Msg {
		e, err := svc.Eligibility(ctx, v, brand)
		if err != nil {
			err = fmt.Errorf("eligibility of %s: %w", v, err)
		}
		return eligibilityResult{e: e, vin: v, err: err}
	})
}

// vehicle turns the form's values into the request, with the same checks the
// form makes (so nothing reaches the API that the form would refuse).
func (v *addValues) vehicle() (fleet.NewVehicle, error) {
	if v.brand == "" {
		return fleet.NewVehicle{}, fmt.Errorf("add %s: choose a brand", vin.Normalize(v.vin.Get()))
	}
	vinS, err := fleet.CheckVIN(v.vin.Get(), v.brand)
	if err != nil {
		return fleet.NewVehicle{}, err
	}
	r := struct{ VIN string }{vinS}
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

// --- answers ---------------------------------------------------------------

// finished shows how a change went and refreshes the list after an add or
// a revoke the API took.
func (m *Clearance) finished(msg tea.Msg) tea.Cmd {
	switch r := msg.(type) {
	case addResult:
		show := m.showAddResult(r)
		if r.err != nil {
			return tea.Batch(show, reportFleet(r.err))
		}
		return tea.Batch(show, reportFleet(nil), m.list())
	case deleteResult:
		show := m.showDeleteResult(r)
		if r.err != nil {
			return tea.Batch(show, reportFleet(r.err))
		}
		return tea.Batch(show, reportFleet(nil), m.list())
	case eligibilityResult:
		return tea.Batch(m.showEligibility(r), reportFleet(r.err))
	}
	return nil
}

func (m *Clearance) showAddResult(r addResult) tea.Cmd {
	if r.err != nil {
		return m.showMessage(true, errorText(r.err))
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
	return m.showMessage(bad, lines...)
}

func (m *Clearance) showDeleteResult(r deleteResult) tea.Cmd {
	switch {
	case r.err == nil && r.from == string(fleet.StatusPending):
		return m.showMessage(false, r.vin+": cancel requested (pending → canceling → canceled).")
	case r.err == nil:
		return m.showMessage(false, r.vin+": revoke requested (approved → revoking → revoked).")
	case fleet.IsConflict(r.err):
		return m.showMessage(true, "Refused: already removed or in transition.", errorText(r.err))
	case fleet.IsUnsupported(r.err):
		return m.showMessage(true, "Refused: not supported for this vehicle.", errorText(r.err))
	}
	return m.showMessage(true, errorText(r.err))
}

func (m *Clearance) showEligibility(r eligibilityResult) tea.Cmd {
	if r.err != nil {
		return m.showMessage(true, errorText(r.err))
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
	return m.showMessage(!e.Eligible, r.vin+": "+verdict, "data delivery: "+dd, "connectivity: "+conn)
}

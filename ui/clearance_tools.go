package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// The Clearance pane's share of the console-wide tools: field filters
// (status=, brand=), marks and the bulk revoke, copy, export, linked
// selection and the palette's sort.

// sortNames are the columns as the palette names them, in column order.
var sortNames = [colCount]string{"vin", "brand", "status", "changed", "tags"}

// clearanceStatuses are the states the fleet API documents.
func clearanceStatuses() []string {
	return []string{string(fleet.StatusApproved), string(fleet.StatusPending), string(fleet.StatusRevoking), string(fleet.StatusRevoked),
		string(fleet.StatusRejected), string(fleet.StatusCanceling), string(fleet.StatusCanceled)}
}

// fieldTerm is one "field=value" of a filter.
type fieldTerm struct {
	field, value string
}

var filterFields = []string{"status", "brand", "vin", "tag"}

// parseFieldFilter splits a lower-cased query with field terms ("status=pending
// brand=bmw wba") into its terms and its plain words.
func parseFieldFilter(q string) (terms []fieldTerm, words []string) {
	for _, tok := range strings.Fields(q) {
		if f, v, ok := strings.Cut(tok, "="); ok {
			terms = append(terms, fieldTerm{field: f, value: v})
			continue
		}
		words = append(words, tok)
	}
	return terms, words
}

// checkFieldFilter says what is wrong with a query's field terms.
func checkFieldFilter(q string) error {
	terms, _ := parseFieldFilter(strings.ToLower(q))
	for _, t := range terms {
		if !slices.Contains(filterFields, t.field) {
			return fmt.Errorf("no field %q (fields: %s)", t.field, strings.Join(filterFields, ", "))
		}
		if t.field == "status" && !slices.Contains(clearanceStatuses(), t.value) && t.value != string(fleet.StatusError) {
			return fmt.Errorf("%q is not a clearance status (%s)", t.value, strings.Join(clearanceStatuses(), ", "))
		}
	}
	return nil
}

// rowFilter is a compiled query: plain text matches VIN, brand and status
// anywhere; with field terms every term and word must match.
type rowFilter struct {
	plain string
	terms []fieldTerm
	words []string
}

func compileFilter(q string) rowFilter {
	if !strings.Contains(q, "=") {
		return rowFilter{plain: q}
	}
	terms, words := parseFieldFilter(q)
	return rowFilter{terms: terms, words: words}
}

func (f rowFilter) empty() bool { return f.plain == "" && len(f.terms) == 0 && len(f.words) == 0 }

func (f rowFilter) match(r *clearRow) bool {
	if f.terms == nil && f.words == nil {
		return f.plain == "" || strings.Contains(r.lower, f.plain)
	}
	for _, t := range f.terms {
		ok := false
		switch t.field {
		case "status":
			ok = strings.EqualFold(string(r.v.Status), t.value)
		case "brand":
			ok = strings.EqualFold(r.v.Brand, t.value)
		case "vin":
			ok = strings.HasPrefix(strings.ToLower(r.v.VIN), t.value)
		case "tag":
			ok = strings.Contains(strings.ToLower(r.tags), t.value)
		}
		if !ok {
			return false
		}
	}
	for _, w := range f.words {
		if !strings.Contains(r.lower, w) {
			return false
		}
	}
	return true
}

// --- linked selection, palette ------------------------------------------

func (m *Clearance) SelectedVehicle() string { return m.selectedVIN() }

func (m *Clearance) SelectVehicle(id string, force bool) bool {
	for vi, ri := range m.view {
		if m.rows[ri].v.VIN == id {
			m.win.set(vi)
			return true
		}
	}
	if _, ok := m.find(id); !ok || !force {
		return false
	}
	m.filter.clear()
	m.refilter(id)
	return true
}

func (m *Clearance) setFilter(q string) {
	m.filter.ti.SetValue(q)
	m.refilter(m.selectedVIN())
}

func (m *Clearance) sortBy(col int, desc bool) {
	m.sortCol, m.sortDesc = col, desc
	m.resort()
}

// TakesText: the filter, or a form's text field.
func (m *Clearance) TakesText() bool {
	return m.filter.active || takesText(m.overlays.top())
}

// --- copy, export -----------------------------------------------------

func (m *Clearance) copyTarget() (string, string) {
	if d, ok := m.overlays.top().(*clearanceDetail); ok {
		return "the VIN", d.vin
	}
	return "the VIN", m.selectedVIN()
}

func (m *Clearance) exportTable() table {
	t := table{name: "clearance", cols: []string{"vin", "brand", "status", "last_change", "tags"}}
	t.note = fmt.Sprintf("%d of %d vehicles", len(m.view), len(m.rows))
	if q := m.filter.query(); q != "" {
		t.note += fmt.Sprintf(", filter %q", q)
	}
	t.rows = make([][]any, 0, len(m.view))
	for _, ri := range m.view {
		r := &m.rows[ri]
		t.rows = append(t.rows, []any{r.v.VIN, r.v.Brand, string(r.v.Status), r.last, fleet.TagText(r.v.Tags, " ")})
	}
	return t
}

// --- marks and the bulk revoke -----------------------------------------

// toggleMark marks the selected vehicle (or unmarks it) and moves on, so
// that a run of vehicles is marked with the key held down.
func (m *Clearance) toggleMark() {
	v := m.selectedVIN()
	if v == "" {
		return
	}
	m.c.marks.toggle(v)
	m.win.move(1)
}

// openBulkRevoke lists the marked vehicles with what removing each one's
// clearance means (revoke, cancel, or why not), behind one confirmation.
func (m *Clearance) openBulkRevoke() tea.Cmd {
	if why := m.refuse(); why != "" {
		return m.showMessage(true, why)
	}
	marked := m.c.marks.list()
	items := make([]bulkItem, 0, len(marked))
	for _, vinS := range marked {
		it := bulkItem{vin: vinS}
		v, ok := m.find(vinS)
		switch {
		case !ok:
			it.label, it.skip = "—", "not in the clearance list"
		case v.Status == fleet.StatusApproved:
			it.label = "revoke"
		case v.Status == fleet.StatusPending:
			it.label = "cancel"
		case v.Status == fleet.StatusRevoking || v.Status == fleet.StatusCanceling:
			it.label, it.skip = "—", "already "+string(v.Status)
		case v.Status == fleet.StatusRevoked || v.Status == fleet.StatusCanceled || v.Status == fleet.StatusRejected:
			it.label, it.skip = "—", string(v.Status)+": no clearance to remove"
		default:
			it.label = "remove"
		}
		items = append(items, it)
	}
	svc, log := m.svc, m.c.Logger
	spec := bulkSpec{
		title: fmt.Sprintf("Revoke or cancel the clearance of %d marked vehicles?", len(marked)),
		verb:  "revoke/cancel", items: items,
		run: func(ctx context.Context, it bulkItem) (string, any, error) {
			log.Info("clearance remove requested (bulk)", "vin", it.vin, "as", it.label)
			if err := svc.Delete(ctx, it.vin); err != nil {
				return "", nil, fmt.Errorf("%s %s: %w", it.label, it.vin, err)
			}
			if it.label == "cancel" {
				return "cancel requested (pending → canceling → canceled)", nil, nil
			}
			return it.label + " requested (approved → revoking → revoked)", nil, nil
		},
		report: reportFleet,
		done: func(ok []string) tea.Cmd {
			m.c.marks.remove(ok...)
			return m.list()
		},
	}
	return openModal(newBulk(m.c, spec))
}

package ui

// Linked selection: choosing a vehicle in one view chooses it in the others
// (the link key turns this off and on; the header shows which). A pane that
// lists vehicles implements vehiclePane.
type vehiclePane interface {
	// SelectedVehicle is the VIN (or pseudonym) of the selected row, or "".
	SelectedVehicle() string
	// SelectVehicle selects id's row if the pane lists it and reports
	// whether it does. force (a jump from the palette) also clears a
	// filter that hides the row; linking never touches a filter.
	SelectVehicle(id string, force bool) bool
}

// selectedIn is pane p's selected vehicle ("" when it lists none).
func (m *Model) selectedIn(p paneID) string {
	if vp, ok := m.panes[p].(vehiclePane); ok {
		return vp.SelectedVehicle()
	}
	return ""
}

// follow hands a selection made in pane from to the other panes, when
// linking is on and the selection changed.
func (m *Model) follow(from paneID, before string) {
	if !m.linked {
		return
	}
	id := m.selectedIn(from)
	if id == "" || id == before {
		return
	}
	for i, p := range m.panes {
		if paneID(i) == from {
			continue
		}
		if vp, ok := p.(vehiclePane); ok {
			vp.SelectVehicle(id, false)
		}
	}
}

// jump selects id in every view, clearing filters that hide it, and says
// where it is not listed.
func (m *Model) jump(id string) (found, missing []string) {
	for i, p := range m.panes {
		vp, ok := p.(vehiclePane)
		if !ok {
			continue
		}
		if vp.SelectVehicle(id, true) {
			found = append(found, paneID(i).String())
		} else {
			missing = append(missing, paneID(i).String())
		}
	}
	return found, missing
}

// selectedVehicle is the vehicle selected in the focused view: what t
// opens the timeline of.
func (m *Model) selectedVehicle() string { return m.selectedIn(m.focus) }

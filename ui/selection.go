package ui

// The Map takes part in linked selection (link.go) like the lists do.

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

// selectedVehicle is the vehicle selected in the focused view: what t
// opens the timeline of.
func (m *Model) selectedVehicle() string { return m.selectedIn(m.focus) }

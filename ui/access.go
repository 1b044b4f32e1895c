package ui

// ReadOnlyMsg makes the console read-only from now on: an SSH session whose
// key was demoted while it was open gets one. Role is what the status bar
// shows from now on; Reason is shown as an error notification.
type ReadOnlyMsg struct {
	Role   string
	Reason string
}

func (m *Model) readOnly(msg ReadOnlyMsg) {
	m.c.ReadOnly = true
	if msg.Role != "" {
		m.status.role = msg.Role
	}
	if msg.Reason != "" {
		m.notes.add(notifyMsg{level: levelError, text: msg.Reason})
	}
}

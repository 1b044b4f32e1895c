package audit

import (
	"context"
	"strings"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Note is what an operator said with an action and what the console showed
// them when they confirmed it: why a vehicle is immobilised, its live state
// (the speed on screen and how old it was), the approval request the action
// carries out, and why a code flow started over. It is journaled with the
// action's intent.
type Note struct {
	Reason  string `json:"reason,omitempty"`
	Shown   string `json:"shown,omitempty"`
	Request int64  `json:"request,omitempty"` // the approval request this carries out
	Restart string `json:"restart,omitempty"` // why a new confirmation code was asked for
}

// Bounds of a note's fields: a reason is one line, not a report.
const (
	MaxReason = 200
	maxShown  = 300
)

// IsZero reports a note that says nothing.
func (n Note) IsZero() bool { return n == Note{} }

// Clean makes a note fit for the journal: one line per field,
// terminal-safe, bounded.
func (n Note) Clean() Note {
	line := func(s string, max int) string {
		return termsafe.Clip(strings.Join(strings.Fields(termsafe.String(s)), " "), max)
	}
	n.Reason = line(n.Reason, MaxReason)
	n.Shown = line(n.Shown, maxShown)
	n.Restart = line(n.Restart, maxShown)
	if n.Request < 0 {
		n.Request = 0
	}
	return n
}

type noteKey struct{}

// WithNote attaches n to the request ctx carries. The note travels in the
// context so that every layer between the console and the journal (an SSH
// session's role check, say) passes it on without knowing of it; the
// journal's command layer writes it with the intent.
func WithNote(ctx context.Context, n Note) context.Context {
	return context.WithValue(ctx, noteKey{}, n)
}

// NoteFrom is the note WithNote attached, if any.
func NoteFrom(ctx context.Context) (Note, bool) {
	n, ok := ctx.Value(noteKey{}).(Note)
	return n, ok
}

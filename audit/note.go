package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/vin"
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

// detail is the note as an intent's Entry.Detail keeps it (hashed,
// signed and exported like every field); nil for a note that says nothing.
func (n Note) detail() map[string]string {
	n = n.Clean()
	if n.IsZero() {
		return nil
	}
	d := map[string]string{}
	for k, v := range map[string]string{"reason": n.Reason, "shown": n.Shown, "restart": n.Restart} {
		if v != "" {
			d[k] = v
		}
	}
	if n.Request != 0 {
		d["request"] = strconv.FormatInt(n.Request, 10)
	}
	return d
}

// Note is what the operator said with the action this intent records, if
// anything (the zero Note and false for an outcome, or an intent without).
func (e Entry) Note() (Note, bool) {
	if e.Phase != PhaseIntent || len(e.Detail) == 0 {
		return Note{}, false
	}
	n := Note{Reason: e.Detail["reason"], Shown: e.Detail["shown"], Restart: e.Detail["restart"]}
	n.Request, _ = strconv.ParseInt(e.Detail["request"], 10, 64)
	return n, !n.IsZero()
}

// IntentWithNote is Intent with what the operator said and saw.
func (j *Journal) IntentWithNote(ctx context.Context, actor Actor, action Action, v, command string, note Note) (int64, error) {
	return j.intent(ctx, actor, action, v, command, note, nil)
}

// intent appends one intent with its note; check, when set, runs inside
// the append's transaction (under the writer lock) and refuses the intent
// by returning an error.
func (j *Journal) intent(ctx context.Context, actor Actor, action Action, v, command string, note Note, check func(ctx context.Context, tx *sql.Tx) error) (int64, error) {
	e := newEntry{actor: actor, action: action, vin: vin.Normalize(v), command: command, phase: PhaseIntent, detail: note.detail()}
	var prep prepare
	if check != nil {
		prep = func(ctx context.Context, tx *sql.Tx, _ []newEntry) (bool, error) { return true, check(ctx, tx) }
	}
	seqs, err := j.appendEntries(ctx, []newEntry{e}, prep)
	if err != nil {
		return 0, fmt.Errorf("record intent %s %s: %w", action, clean(v, maxField), err)
	}
	return seqs[0], nil
}

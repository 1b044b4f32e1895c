package ui_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/ui"
)

// emptyFleet is a clearance service with no vehicles.
type emptyFleet struct{}

func (emptyFleet) List(context.Context, *fleet.Filter) ([]fleet.Vehicle, error) { return nil, nil }
func (emptyFleet) Add(context.Context, []fleet.NewVehicle) ([]fleet.AddResult, error) {
	return nil, nil
}
func (emptyFleet) Delete(context.Context, string) error { return nil }
func (emptyFleet) Eligibility(context.Context, string, string) (fleet.Eligibility, error) {
	return fleet.Eligibility{}, nil
}
func (emptyFleet) TokenValidUntil() time.Time { return time.Time{} }

// A session whose key was demoted while it was open (sshserve sends
// ReadOnlyMsg) turns read-only at once: the status bar names the new role
// and says why, and the mutating keys leave the help.
func TestReadOnlyMsgDemotesTheConsole(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m, err := ui.New(context.Background(), ui.Options{Renderer: r, Fleet: emptyFleet{}, User: "alice", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
	if v := m.View(); !strings.Contains(v, "alice (operator)") || !strings.Contains(v, "add vehicle") {
		t.Fatalf("before: the operator's console:\n%s", v)
	}
	m.Update(ui.ReadOnlyMsg{Role: "viewer", Reason: "your key's role is now viewer: read-only"})
	v := m.View()
	for _, want := range []string{"alice (viewer)", "your key's role is now viewer: read-only"} {
		if !strings.Contains(v, want) {
			t.Errorf("after: no %q on the screen:\n%s", want, v)
		}
	}
	if strings.Contains(v, "add vehicle") {
		t.Errorf("after: the help still offers to add a vehicle:\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("?")})
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
	if v := m.View(); !strings.Contains(v, "read-only session: adding and revoking are disabled") {
		t.Errorf("after: add was not refused:\n%s", v)
	}
}

package ui

import (
	"context"
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// Helpers of the tests of the console-wide tools (bursts, toasts, linking,
// palette, copy, export, bulk, themes).

// The rest of audit.FleetMutator and audit.CommandSender, so that the
// journaled wrappers can run over the fakes.

func (f *fakeFleet) Get(ctx context.Context, vin string) (fleet.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.vehicles {
		if v.VIN == vin {
			return v, nil
		}
	}
	return fleet.Vehicle{}, fmt.Errorf("get %s: not found", vin)
}

func (f *fakeFleet) AddBatched(ctx context.Context, vs []fleet.NewVehicle, chunk int, progress func(done, total int)) ([]fleet.AddResult, error) {
	return f.Add(ctx, vs)
}

func (f *fakeCommands) Follow(ctx context.Context, id string, each func(commands.Command)) (commands.Command, error) {
	return f.Status(ctx, id)
}

// burst is a burst of keys as Bubble Tea v1 reads them: one KeyMsg
// holding several runes.
func burst(s string) tea.KeyMsg {
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// rowWith is the screen line that holds s ("" when none does).
func rowWith(view, s string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func mouseClick(x, y int) tea.MouseMsg {
	return tea.MouseMsg{X: x, Y: y, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft}
}

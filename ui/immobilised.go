package ui

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
)

// ImmobilisedSource lists the immobilised vehicles from the journal, so
// the list survives restarts and is the same on every box that shares the
// journal; *audit.Journal has it.
type ImmobilisedSource interface {
	Immobilised(ctx context.Context) ([]audit.Immobilisation, error)
}

// immobilisation is one immobilised vehicle as the console shows it.
type immobilisation struct {
	since  time.Time
	by     string
	reason string
}

// immobilisedSet is the console's copy of the journal's immobilised
// vehicles: those a disable_ignition succeeded on and no enable_ignition
// has succeeded on since. The root refreshes it (at start, when the journal
// changes, when a command ends); every pane reads it (Common.immob) to mark
// them.
type immobilisedSet struct {
	byVIN map[string]immobilisation
	err   string
}

func (s *immobilisedSet) get(vin string) (immobilisation, bool) {
	if s == nil {
		return immobilisation{}, false
	}
	im, ok := s.byVIN[vin]
	return im, ok
}

func (s *immobilisedSet) count() int {
	if s == nil {
		return 0
	}
	return len(s.byVIN)
}

// vins lists the immobilised vehicles, longest immobilised first.
func (s *immobilisedSet) vins() []string {
	if s == nil {
		return nil
	}
	out := slices.Collect(maps.Keys(s.byVIN))
	slices.SortFunc(out, func(a, b string) int {
		if c := s.byVIN[a].since.Compare(s.byVIN[b].since); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return out
}

// immobilisedResult is a fresh read of the journal (to the root).
type immobilisedResult struct {
	list []audit.Immobilisation
	err  error
}

func (s *immobilisedSet) apply(r immobilisedResult) {
	if r.err != nil {
		s.err = errorText(r.err)
		return
	}
	s.err = ""
	s.byVIN = make(map[string]immobilisation, len(r.list))
	for _, im := range r.list {
		s.byVIN[im.VIN] = immobilisation{since: im.Since, by: im.By.User, reason: im.Reason}
	}
}

// immobilisedMark is the one-cell mark an immobilised vehicle's rows carry.
const immobilisedMark = "⊘"

// immobilisedMarker is a row's two-cell marker (selection, then the mark)
// for an immobilised vehicle.
func immobilisedMarker(selected bool) string {
	if selected {
		return "▸" + immobilisedMark
	}
	return " " + immobilisedMark
}

// loadImmobilised reads the journal's immobilised vehicles in the
// background, for the root.
func loadImmobilised(c *Common, src ImmobilisedSource, seq uint64) tea.Cmd {
	return c.call(paneRoot, seq, journalTimeout, func(ctx context.Context) tea.Msg {
		list, err := src.Immobilised(ctx)
		return immobilisedResult{list: list, err: err}
	})
}

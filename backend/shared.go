package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// sharedClearance names the clearance list in the journal's shared lists.
const sharedClearance = "fleet.vehicles"

// shareClearance makes the boxes on one PostgreSQL journal poll the fleet
// API once for all: one box, elected, fetches every poll interval; every
// box's Lister reads what it stored. A SQLite journal changes nothing.
func (b *Backend) shareClearance(o Options, every time.Duration) error {
	box := o.Box
	if box == "" {
		host, _ := os.Hostname()
		box = fmt.Sprintf("%s pid %d", host, os.Getpid())
	}
	sl, err := o.Journal.SharedList(sharedClearance, audit.SharedListOptions{
		Every: every, Box: box, Logger: b.log.With("component", "shared-poll"),
	})
	if errors.Is(err, audit.ErrNotShared) {
		return nil
	}
	if err != nil {
		return err
	}
	b.Shared = sl
	b.Lister.Share(b.sharedList, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sl.Refresh(ctx); err != nil {
			b.log.Warn("shared poll: ask for a refresh", "err", err)
		}
	})
	return nil
}

// fetchClearance is what the elected box fetches for all.
func (b *Backend) fetchClearance(ctx context.Context) ([]byte, error) {
	vs, err := b.Fleet.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(vs)
}

// sharedList reads the list the elected box stored. Before the first one
// is stored (every box just started) it waits for it.
func (b *Backend) sharedList(ctx context.Context) ([]fleet.Vehicle, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes := b.Shared.Changes(wctx)
	for {
		snap, ok, err := b.Shared.Latest(ctx)
		if err != nil {
			return nil, err
		}
		if ok {
			var vs []fleet.Vehicle
			if len(snap.Body) > 0 {
				if err := json.Unmarshal(snap.Body, &vs); err != nil {
					return nil, fmt.Errorf("read the shared clearance list: %w", err)
				}
			}
			if snap.FetchErr != "" {
				return vs, fmt.Errorf("clearance list (polled by %s): %s", snap.FetchedBy, snap.FetchErr)
			}
			return vs, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no clearance list shared yet: %w", ctx.Err())
		case <-changes:
		case <-time.After(time.Second): // in case a notice was missed
		}
	}
}

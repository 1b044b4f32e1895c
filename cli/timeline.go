package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/timeline"
)

func newVehiclesTimelineCmd(app *App) *cobra.Command {
	var (
		asJSON       bool
		since, rec   string
		pseudonymous bool
	)
	cmd := &cobra.Command{
		Use:   "timeline VIN",
		Short: "What happened to one vehicle: clearance changes, commands, telemetry events",
		Long: `timeline merges, oldest first, the vehicle's clearance changelog (the fleet
API), the journal's commands and clearance requests (who, the outcome, the
final status; never a confirmation code) and, with --replay, the telemetry
events of a recording made with --record: first and last message,
failures, ignition on/off, starting and stopping, fuel or battery below
10%, silences. A source that cannot be read is named on stderr and the
exit code is 1; the others are still printed.`,
		Args:              exactArgs("VIN"),
		ValidArgsFunction: app.vinArg(nil),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !pseudonymous {
				vn, err := checkAnyVIN(id)
				if err != nil {
					return err
				}
				id = vn
			} else if id == "" || termsafe.String(id) != id {
				return usageError("%q is not a vehicle id", termsafe.String(id))
			}
			var from time.Time
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return usageError("--since: %v", err)
				}
				from = t
			}
			src, failed := timelineSources(cmd.Context(), app, id, pseudonymous, rec, from)
			events := timeline.Build(src, from)
			if asJSON {
				if events == nil {
					events = []timeline.Event{}
				}
				if err := app.PrintJSON(events); err != nil {
					return err
				}
			} else {
				if len(events) == 0 {
					fmt.Fprintln(app.Stderr, "fleetdeck: nothing recorded for "+termsafe.String(id))
				}
				for _, e := range events {
					fmt.Fprintln(app.Stdout, e.Line(time.Local))
				}
			}
			if len(failed) > 0 {
				return errors.Join(failed...)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print JSON: [{at, kind, level, what, detail?, actor?}]")
	f.StringVar(&since, "since", "", "only events since D: a duration (24h, 7d) or a date (2006-01-02, RFC 3339)")
	f.StringVar(&rec, "replay", "", "read telemetry events from the recording FILE (made with --record)")
	f.BoolVar(&pseudonymous, "pseudonym", false, "the id is a pseudonym (telemetry only: it has no clearance or journal)")
	return cmd
}

// timelineSources reads the three sources; each one that fails is returned
// as an error naming it, and the others are used anyway.
func timelineSources(ctx context.Context, app *App, id string, pseudonym bool, rec string, since time.Time) (timeline.Sources, []error) {
	var src timeline.Sources
	var failed []error
	if !pseudonym {
		if v, err := timelineVehicle(ctx, app, id); err != nil {
			failed = append(failed, fmt.Errorf("timeline %s: clearance: %w", id, err))
		} else {
			src.Vehicle = v
		}
		j, err := app.Journal()
		if err == nil {
			src.Records, err = j.List(ctx, audit.Filter{VIN: id, Since: since})
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("timeline %s: journal: %w", id, err))
		}
	}
	if rec != "" {
		p := stream.NewPipeline(stream.PipelineOptions{Replay: rec, Logger: app.Logger().With("component", "stream"),
			// Far more than the console keeps: a recording is read once.
			Store: stream.StoreOptions{MaxEvents: 4096}})
		if err := p.Run(ctx); err != nil {
			failed = append(failed, fmt.Errorf("timeline %s: %w", id, err))
		} else if ev, ok := p.Store().Events(id); ok {
			src.Feed = &ev
			src.Now = ev.Last
		}
	}
	return src, failed
}

// timelineVehicle is the clearance list's entry for vin, or nil when the
// fleet does not list it (or the fleet API is not configured).
func timelineVehicle(ctx context.Context, app *App, vin string) (*fleet.Vehicle, error) {
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Fleet == nil {
		return nil, nil
	}
	c, err := app.fleetClient()
	if err != nil {
		return nil, err
	}
	v, err := c.Get(ctx, vin)
	var apiErr *fleet.APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil, nil // not in the fleet: no clearance history
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

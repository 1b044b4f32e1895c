package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

func newTelemetryCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:        "telemetry",
		Short:      "Live telemetry from the MQTT broker",
		SuggestFor: []string{"tail", "stream", "feed"},
	}
	cmd.AddCommand(newTelemetryTailCmd(app))
	return cmd
}

type tailOptions struct {
	n          int
	json       bool
	vehicle    string
	capability string
	record     string
	replay     string
	pace       bool
	attach     string
	noAttach   bool
}

func newTelemetryTailCmd(app *App) *cobra.Command {
	var o tailOptions
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print telemetry messages as they arrive, decoded",
		Long: `tail prints every telemetry message once it has gone through the same
pipeline as the console's Telemetry view: decoded, deduplicated by
message_id, with every string made safe for the terminal.

One line per property update: "15:04:05.000 VIN capability.property = value
unit" (a pseudonym is labelled as one). An MQTT V2 message, which carries
several capabilities, gives one line per property. A multi-valued property
(trouble codes, bulb failures, tyre pressures...) prints the JSON array of
its items' data. With --json, one compact JSON object per line:
{"vehicle","pseudonym","capability","property","value","failure"?,"items"?,
"timestamp","message_id"}, where a list's value is the array of its items'
data (null for an item that failed) and items holds each item as
{"data"|"failure","timestamp"?}. Connection changes go to stderr.

--record FILE appends what arrives (NDJSON: {"t","topic","payload"}) and
--replay FILE plays such a recording instead of connecting (as fast as
possible, or at the recorded pace with --pace).

A broker that ties the session to a certificate (High Mobility's) lets one
process hold the feed: a second one would take it over. When fleetdeck serve
runs with the same config on this host, tail reads the stream it serves (a
socket only you can open) instead of connecting itself, and says so;
--attach PATH names such a socket, --no-attach always connects.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.n < 0 {
				return usageError("-n must be 0 (no limit) or more")
			}
			if o.attach != "" && (o.record != "" || o.replay != "" || o.noAttach) {
				return usageError("--attach reads the stream another process serves: not with --record, --replay or --no-attach")
			}
			if o.attach != "" {
				return runAttachedTail(app, o, o.attach, false)
			}
			if !o.noAttach && o.record == "" && o.replay == "" {
				if path, ok := discoverStream(app); ok {
					return runAttachedTail(app, o, path, true)
				}
			}
			return runTail(app, o)
		},
	}
	f := cmd.Flags()
	f.IntVarP(&o.n, "count", "n", 0, "exit after N messages (0: until interrupted)")
	f.BoolVar(&o.json, "json", false, "print JSON, one object per line")
	f.StringVar(&o.vehicle, "vehicle", "", "only this VIN or pseudonym")
	f.StringVar(&o.capability, "capability", "", "only this capability (e.g. diagnostics)")
	f.StringVar(&o.record, "record", "", "append every message received to FILE (NDJSON)")
	f.StringVar(&o.replay, "replay", "", "play the recording FILE instead of connecting to the broker")
	f.BoolVar(&o.pace, "pace", false, "with --replay: keep the recorded pace")
	f.StringVar(&o.attach, "attach", "", "read the decoded stream fleetdeck serve serves at the socket PATH (found by itself for the same config)")
	f.BoolVar(&o.noAttach, "no-attach", false, "connect to the broker even when fleetdeck serve runs with the same config")
	completeFlag(cmd, "vehicle", app.completeVINs(statusIn(fleet.StatusApproved)))
	return cmd
}

func runTail(app *App, o tailOptions) error {
	po := stream.PipelineOptions{Record: o.record, Replay: o.replay, ReplayPace: o.pace, Logger: app.Logger().With("component", "stream")}
	if cfg, err := tailConfig(app, o.replay != ""); err != nil {
		return err
	} else if cfg != nil && cfg.Telemetry != nil {
		po.MQTT = stream.OptionsFromConfig(cfg.Telemetry, cfg.Profile)
		po.MQTT.Logger = po.Logger
	}

	ctx, cancel := context.WithCancel(app.Context())
	defer cancel()
	out := stream.NewFlushWriter(app.Stdout, 64<<10, 100*time.Millisecond)
	var (
		line  []byte
		count int
	)
	po.OnMessage = func(m *stream.Message) {
		if o.n > 0 && count >= o.n ||
			o.vehicle != "" && m.Vehicle != o.vehicle ||
			o.capability != "" && m.Capability != o.capability {
			return
		}
		if o.json {
			line = m.AppendJSON(line[:0])
		} else {
			line = m.AppendText(line[:0])
		}
		line = append(line, '\n')
		if _, err := out.Write(line); err != nil {
			cancel() // stdout is gone: nobody reads on
			return
		}
		count++
		if o.n > 0 && count == o.n {
			cancel()
		}
	}
	last := ""
	po.OnState = func(s stream.ConnState) {
		if text := s.String(); text != last && s.Phase != stream.Stopped {
			last = text
			line := "fleetdeck: telemetry " + text
			if s.Reason != "" && s.Phase != stream.Failed && s.Phase != stream.Replaying {
				line += " (" + s.Reason + ")"
			}
			fmt.Fprintln(app.Stderr, line)
		}
	}

	p := stream.NewPipeline(po)
	runErr := p.Run(ctx)
	flushErr := out.Close()

	st := p.Stats()
	if st.Malformed+st.Oversized+st.Dropped+st.Overflow > 0 {
		fmt.Fprintf(app.Stderr, "fleetdeck: telemetry: %d received, %d applied, %d duplicates, %d malformed, %d oversized, %d dropped (queue full), %d over the store's limits\n",
			st.Received, st.Applied, st.Duplicates, st.Malformed, st.Oversized, st.Dropped, st.Overflow)
	}
	switch {
	case runErr != nil:
		return runErr
	case flushErr != nil:
		return fmt.Errorf("telemetry tail: write: %w", flushErr)
	case o.n > 0 && count >= o.n, o.replay != "" && app.Context().Err() == nil:
		return nil // done: N messages, or the end of the recording
	case app.Context().Err() != nil:
		return &ExitError{Code: exitInterrupted} // interrupted: nothing to add
	}
	return nil
}

// tailConfig loads the config. A replay needs none: it only reads one when
// there is a config file (for `pseudonymized`), never starting the sandbox.
func tailConfig(app *App, replay bool) (*config.Config, error) {
	if replay {
		if _, found, err := config.Locate(app.ConfigPath, app.Profile); err != nil || !found {
			return nil, err
		}
	}
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	if cfg.Telemetry == nil && !replay {
		return nil, errors.New("telemetry is disabled: " + cfg.File + " has no [telemetry] section")
	}
	if !replay {
		app.sandboxNotice(cfg)
	}
	return cfg, nil
}

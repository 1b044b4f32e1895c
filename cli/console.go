package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/ui"
)

// subcommands lists every subcommand of the root.
func subcommands(app *App) []*cobra.Command {
	return []*cobra.Command{
		newVehiclesCmd(app),
		newCommandCmd(app),
		newTelemetryCmd(app),
		newPlatformCmd(app),
		newSandboxCmd(app),
	}
}

func addConsoleFlags(root *cobra.Command) {
	root.Flags().String("record", "", "append every telemetry message to FILE (NDJSON)")
	root.Flags().String("replay", "", "feed the recording FILE in instead of the broker")
}

// backend is everything the console's views talk to, built from the config.
type backend struct {
	opts ui.Options
	run  []func(ctx context.Context) // goroutines to own (stream, key checks)
}

func buildBackend(app *App, cfg *config.Config, record, replay string) (*backend, error) {
	log := app.Logger()
	b := &backend{opts: ui.Options{
		Profile:    profileLabel(cfg),
		Sandbox:    cfg.Sandbox,
		Production: cfg.Production,
		Keys:       cfg.Keys,
		Logger:     log.With("component", "ui"),
	}}
	if cfg.Fleet != nil {
		fc, err := fleet.NewFromConfig(cfg.Fleet, log.With("client", "fleet"))
		if err != nil {
			return nil, err
		}
		b.opts.Fleet = fc
		b.opts.PollInterval = cfg.Fleet.PollInterval
	}
	if cfg.Commands != nil {
		cc, err := commands.NewFromConfig(cfg.Commands, log.With("client", "commands"))
		if err != nil {
			return nil, err
		}
		b.opts.Commands = cc
	}
	if cfg.Platform != nil {
		pc, err := platform.NewFromConfig(cfg.Platform, log.With("client", "platform"))
		if err != nil {
			return nil, err
		}
		b.opts.Platform = pc
		// The status bar shows the key's state: learn it now, then now and
		// then, since a key can be replaced from another machine.
		b.run = append(b.run, func(ctx context.Context) {
			for {
				if _, err := pc.Fields(ctx); err != nil && ctx.Err() == nil {
					log.Warn("platform key check", "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(5 * time.Minute):
				}
			}
		})
	}
	if cfg.Telemetry != nil || replay != "" {
		po := stream.PipelineOptions{Record: record, Replay: replay, Logger: log.With("component", "stream")}
		if cfg.Telemetry != nil {
			po.MQTT = stream.OptionsFromConfig(cfg.Telemetry, cfg.Profile)
			po.MQTT.Logger = po.Logger
		}
		p := stream.NewPipeline(po)
		feed := stream.NewFeed(p, 100*time.Millisecond)
		b.opts.Telemetry = ui.PipelineSource(p, feed)
		b.run = append(b.run, func(ctx context.Context) {
			if err := p.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("telemetry stream ended", "err", err)
			}
		})
	}
	return b, nil
}

func profileLabel(cfg *config.Config) string {
	switch {
	case cfg.Sandbox:
		return "SANDBOX"
	case cfg.Profile != "":
		return cfg.Profile
	}
	return "default"
}

func runConsole(cmd *cobra.Command, app *App) error {
	record, _ := cmd.Flags().GetString("record")
	replay, _ := cmd.Flags().GetString("replay")
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	b, err := buildBackend(app, cfg, record, replay)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, run := range b.run {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(ctx)
		}()
	}
	out := app.Stdout
	b.opts.Renderer = lipgloss.NewRenderer(out)
	model, err := ui.New(ctx, b.opts)
	if err != nil {
		return fmt.Errorf("start the console: %w", err)
	}
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx), tea.WithOutput(out)}
	if f, ok := app.Stdin.(*os.File); !ok || f != os.Stdin {
		opts = append(opts, tea.WithInput(app.Stdin))
	}
	if _, err := tea.NewProgram(model, opts...).Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("run the console: %w", err)
	}
	return nil
}

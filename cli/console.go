package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/backend"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
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
		newServeCmd(app),
		newAuditCmd(app),
	}
}

func addConsoleFlags(root *cobra.Command) {
	root.Flags().String("record", "", "append every telemetry message to FILE (NDJSON)")
	root.Flags().String("replay", "", "feed the recording FILE in instead of the broker")
}

// resumeCommands follows the commands an earlier run sent but never saw to
// their end (it was killed, or lost the network), and journals how they
// ended.
func resumeCommands(ctx context.Context, app *App, j *audit.Journal, b *backend.Backend) {
	if b.Commands == nil {
		return
	}
	follow := func(ctx context.Context, id string) (commands.Command, error) { return b.Commands.Follow(ctx, id, nil) }
	if err := audit.Resume(ctx, j, follow, audit.LocalActor()); err != nil && ctx.Err() == nil {
		app.Logger().Warn("follow unfinished commands", "err", err)
	}
}

// consoleOptions is the console's view of the backend: its providers and
// what the config says about the profile and the keys. Callers add what is
// theirs: the renderer, the journal and the journaled services, and for an
// SSH session its identity and limits.
func consoleOptions(cfg *config.Config, b *backend.Backend, log *slog.Logger) ui.Options {
	o := ui.Options{
		Profile:    backend.ProfileLabel(cfg),
		Sandbox:    cfg.Sandbox,
		Production: cfg.Production,
		Keys:       cfg.Keys,
		Theme:      cfg.Theme,
		Logger:     log.With("component", "ui"),
		Policy:     cfg.Policy(),
		// One book for every console of the process: a code typed into
		// the wrong session's flow is recognised as another vehicle's.
		Codes: &commands.CodeBook{},
	}
	if cfg.File != "" {
		o.Profiles = config.Profiles(cfg.File)
		o.ProfileCommand = "fleetdeck --config " + shellQuote(cfg.File)
	}
	// Only set what exists: a nil *Client would be a non-nil interface.
	if b.Fleet != nil {
		o.Fleet = b.Clearance()
		o.PollInterval = cfg.Fleet.PollInterval
	}
	if b.Commands != nil {
		o.Commands = b.Commands
	}
	if b.Platform != nil {
		o.Platform = b.Platform
	}
	if b.Pipeline != nil {
		o.Telemetry = ui.PipelineSource(b.Pipeline, b.Feed)
	}
	return o
}

func runConsole(cmd *cobra.Command, app *App) error {
	record, _ := cmd.Flags().GetString("record")
	replay, _ := cmd.Flags().GetString("replay")
	cfg, err := app.Config()
	if err != nil {
		return err
	}
	// Every mutating action goes through the journal: no journal, no console.
	j, err := app.Journal()
	if err != nil {
		return err
	}
	b, err := backend.Build(cfg, backend.Options{Record: record, Replay: replay, Logger: app.Logger(), Journal: j})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() { b.Run(ctx) })
	wg.Go(func() { resumeCommands(ctx, app, j, b) })
	out := app.Stdout
	opts := consoleOptions(cfg, b, app.Logger())
	actor := audit.LocalActor()
	if b.Fleet != nil {
		opts.Fleet = audit.Fleet(b.Clearance(), j, actor)
	}
	if b.Commands != nil {
		opts.Commands = audit.Commands(b.Commands, j, actor).WithPolicy(opts.Policy)
	}
	opts.Audit = j
	opts.Approvals = audit.Approvals(j, actor)
	// Frames and a copy's OSC 52 sequence go out from different goroutines:
	// an *os.File serialises its writes, anything else gets a SerialWriter.
	if _, isFile := out.(*os.File); !isFile {
		out = ui.NewSerialWriter(out)
	}
	opts.Clipboard = out
	opts.Renderer = lipgloss.NewRenderer(out)
	model, err := ui.New(ctx, opts)
	if err != nil {
		return fmt.Errorf("start the console: %w", err)
	}
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx), tea.WithOutput(out)}
	if f, ok := app.Stdin.(*os.File); !ok || f != os.Stdin {
		popts = append(popts, tea.WithInput(app.Stdin))
	}
	if _, err := tea.NewProgram(model, popts...).Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("run the console: %w", err)
	}
	return nil
}

// Package backend builds, from the config, everything the console talks to:
// the fleet, commands and platform clients and the telemetry pipeline. It is
// built once per process, so a terminal console and every SSH session of
// `fleetdeck serve` share one token cache, one MQTT connection and one key
// check.
package backend

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

// Options tune Build.
type Options struct {
	Record string // append every telemetry message to this file
	Replay string // feed this recording in instead of the broker
	Logger *slog.Logger
	// PlatformCheck is how often the platform key is checked again (a key
	// can be replaced from another machine); default 5 min.
	PlatformCheck time.Duration
	// Journal, when it is on PostgreSQL, is where the ops boxes that share
	// it elect one clearance poller and share its list (Backend.Lister).
	Journal *audit.Journal
	// Box names this process in the shared list; default the host name.
	Box string
	// StreamSocket, when set, is where the decoded telemetry stream is
	// served to other processes of the owner on this host (`fleetdeck
	// telemetry tail --attach`): a broker that ties the session to one
	// certificate lets one process hold the feed.
	StreamSocket string
}

// Backend holds the process's clients and stream. A nil field means its
// config section is absent and the provider is disabled. It knows nothing of
// the console: the cli builds the console's options from it.
type Backend struct {
	Fleet *fleet.Client
	// Lister is the clearance list every session of this process shares;
	// with a PostgreSQL journal, every box on it shares it too (one box
	// polls the API for all: Shared).
	Lister   *fleet.SharedLister
	Shared   *audit.SharedList // nil unless the journal is on PostgreSQL
	Commands *commands.Client
	Platform *platform.Client
	Pipeline *stream.Pipeline
	Feed     *stream.Feed
	// StreamSocket is where the stream is served ("" when it is not).
	StreamSocket string

	attach   *stream.AttachServer
	attachLn net.Listener

	log           *slog.Logger
	platformCheck time.Duration
}

// Build creates the clients the config names. Nothing runs until Run.
func Build(cfg *config.Config, o Options) (*Backend, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		log:           log,
		platformCheck: o.PlatformCheck,
	}
	if b.platformCheck <= 0 {
		b.platformCheck = 5 * time.Minute
	}
	if cfg.Fleet != nil {
		fc, err := fleet.NewFromConfig(cfg.Fleet, log.With("client", "fleet"))
		if err != nil {
			return nil, err
		}
		b.Fleet = fc
		b.Lister = fleet.NewSharedLister(fc, cfg.Fleet.PollInterval)
		if o.Journal != nil {
			if err := b.shareClearance(o, cfg.Fleet.PollInterval); err != nil {
				return nil, err
			}
		}
	}
	if cfg.Commands != nil {
		cc, err := commands.NewFromConfig(cfg.Commands, log.With("client", "commands"))
		if err != nil {
			return nil, err
		}
		b.Commands = cc
	}
	if cfg.Platform != nil {
		pc, err := platform.NewFromConfig(cfg.Platform, log.With("client", "platform"))
		if err != nil {
			return nil, err
		}
		b.Platform = pc
	}
	if cfg.Telemetry != nil || o.Replay != "" {
		po := stream.PipelineOptions{Record: o.Record, Replay: o.Replay, Logger: log.With("component", "stream")}
		if cfg.Telemetry != nil {
			po.MQTT = stream.OptionsFromConfig(cfg.Telemetry, cfg.Profile)
			po.MQTT.Logger = po.Logger
		}
		if o.StreamSocket != "" {
			// Listening now: a socket another process serves is an error
			// at start, not later in the log.
			ln, err := stream.ListenAttach(o.StreamSocket)
			if err != nil {
				return nil, err
			}
			b.attach, b.attachLn, b.StreamSocket = stream.NewAttachServer(log.With("component", "stream-socket")), ln, o.StreamSocket
			po.OnMessage, po.OnState = b.attach.Publish, b.attach.State
		}
		b.Pipeline = stream.NewPipeline(po)
		b.Feed = stream.NewFeed(b.Pipeline, 100*time.Millisecond)
	}
	return b, nil
}

// Run runs the background work (the telemetry stream, the platform key
// check) until ctx ends, and returns once all of it has stopped.
func (b *Backend) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if b.Platform != nil {
		wg.Go(func() { b.checkPlatform(ctx) })
	}
	if b.Shared != nil {
		wg.Go(func() { b.Shared.Run(ctx, b.fetchClearance) })
	}
	if b.Pipeline != nil {
		wg.Go(func() {
			if err := b.Pipeline.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				b.log.Error("telemetry stream ended", "err", err)
			}
		})
	}
	if b.attach != nil {
		wg.Go(func() {
			if err := b.attach.Serve(ctx, b.attachLn); err != nil {
				b.log.Error("telemetry stream socket", "err", err)
			}
		})
	}
	wg.Wait()
}

// Clearance is what a console reads the clearance list from and changes it
// through: with a PostgreSQL journal the Lister, which reads the list the
// box that polls for all stored; else the fleet client itself. nil when
// the fleet is not configured.
func (b *Backend) Clearance() audit.FleetMutator {
	switch {
	case b.Fleet == nil:
		return nil
	case b.Shared != nil:
		return b.Lister
	}
	return b.Fleet
}

// Close releases what Build took that Run did not (the stream socket, when
// Run never ran).
func (b *Backend) Close() {
	if b.attachLn != nil {
		_ = b.attachLn.Close()
	}
}

// checkPlatform learns the platform key's state for the status bar now,
// then now and then.
func (b *Backend) checkPlatform(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := b.Platform.Fields(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("platform key check", "err", err)
		}
		t.Reset(b.platformCheck)
	}
}

// ProfileLabel is what the status bar calls the profile. A config the
// sandbox wrote (sandbox = true, whether the console started the simulators
// or `fleetdeck sandbox --dir` did) is SANDBOX, with its profile name when it
// has one.
func ProfileLabel(cfg *config.Config) string {
	switch {
	case cfg.Sandbox && cfg.Profile != "":
		return "SANDBOX (" + cfg.Profile + ")"
	case cfg.Sandbox:
		return "SANDBOX"
	case cfg.Profile != "":
		return cfg.Profile
	}
	return "default"
}

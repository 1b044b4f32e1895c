package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

// streamSocketPath is where `fleetdeck serve` serves the decoded telemetry
// stream of a config (and profile), and where `telemetry tail` looks for
// it: in $XDG_RUNTIME_DIR (a per-user directory only its owner can enter),
// else the state directory, named by the config file and profile so that
// two configs never share one.
func streamSocketPath(cfg *config.Config) string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" || !filepath.IsAbs(dir) {
		dir = config.StateDir()
	}
	sum := sha256.Sum256([]byte(cfg.File + "\x00" + cfg.Profile))
	return filepath.Join(dir, "fleetdeck", "telemetry-"+hex.EncodeToString(sum[:4])+".sock")
}

// discoverStream finds the stream a running `fleetdeck serve` of this
// config serves, if any. It never starts the sandbox: without a config
// file there is nothing to look for.
func discoverStream(app *App) (string, bool) {
	if _, found, err := config.Locate(app.ConfigPath, app.Profile); err != nil || !found {
		return "", false
	}
	cfg, err := app.Config()
	if err != nil || cfg.Telemetry == nil {
		return "", false
	}
	path := streamSocketPath(cfg)
	c, err := net.DialTimeout("unix", path, 500*time.Millisecond)
	if err != nil {
		return "", false
	}
	c.Close()
	return path, true
}

// runAttachedTail prints the stream another process serves at path, as
// tail prints its own.
func runAttachedTail(app *App, o tailOptions, path string, found bool) error {
	if found {
		fmt.Fprintf(app.Stderr, "fleetdeck: telemetry from the running fleetdeck serve (%s); --no-attach connects on its own\n", path)
	}
	ctx, cancel := context.WithCancel(app.Context())
	defer cancel()
	out := stream.NewFlushWriter(app.Stdout, 64<<10, 100*time.Millisecond)
	count := 0
	var writeErr error
	err := stream.Attach(ctx, path, stream.AttachRequest{JSON: o.json, Vehicle: o.vehicle, Capability: o.capability}, stream.AttachHandler{
		Message: func(line []byte) bool {
			if _, writeErr = out.Write(append(line, '\n')); writeErr != nil {
				return false
			}
			count++
			return o.n == 0 || count < o.n
		},
		State: func(text string) { fmt.Fprintln(app.Stderr, "fleetdeck: telemetry "+text) },
		Dropped: func(n int) {
			fmt.Fprintf(app.Stderr, "fleetdeck: telemetry: %d messages dropped: this reader did not keep up\n", n)
		},
	})
	flushErr := out.Close()
	switch {
	case errors.Is(err, stream.ErrAttachEnded):
		return fmt.Errorf("telemetry tail: %w", err)
	case err != nil:
		return err
	case writeErr != nil:
		return fmt.Errorf("telemetry tail: write: %w", writeErr)
	case flushErr != nil:
		return fmt.Errorf("telemetry tail: write: %w", flushErr)
	case o.n > 0 && count >= o.n:
		return nil
	case app.Context().Err() != nil:
		return &ExitError{Code: exitInterrupted}
	}
	return nil
}

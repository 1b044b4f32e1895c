package cli

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/backend"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sshserve"
	"github.com/fleetdeck/fleetdeck/ui"
)

func newServeCmd(app *App) *cobra.Command {
	var (
		listen, keysPath, hostKey, socket                    string
		noSocket                                             bool
		maxSessions, perKey, maxStartups, startupsPerAddress int
		idle, grace, loginGrace                              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the console over SSH (public keys only; roles from authorized_keys)",
		Long: `Serve the console over SSH, so that operators reach it with ssh -p PORT HOST.

Only public keys listed in the authorized keys file (OpenSSH's format) may log
in. A key's role is its option environment="FLEETDECK_ROLE=operator"; a key
without one is a viewer, who sees everything and can change nothing. The file
is read again whenever it changes; a line that cannot be used is logged with
its number and skipped.

Every session shares one backend: one MQTT connection, one fleet token and
one clearance poll however many operators are logged in. SIGTERM tells every
session, lets what is in flight finish (up to --grace), then stops.

Whoever can reach the port cannot lock the operators out: a connection must
authenticate within --login-grace; at most --max-startups connections may be
authenticating at once (a new one closes the oldest of the address holding
the most) and --max-startups-per-address from one address (IPv6: one /64; the
next ones are closed at once). One key may hold --max-sessions-per-key
consoles. Terminal sizes are clamped to 1000×500.

The decoded telemetry stream is served to fleetdeck telemetry tail on this
host, through a unix socket only the owner can open (--stream-socket; by
default in $XDG_RUNTIME_DIR/fleetdeck, named after the config): a broker that
ties the session to a certificate lets one process hold the feed.`,
		Example: `  fleetdeck serve --listen :2222 --authorized-keys ~/.ssh/authorized_keys
  ssh -p 2222 ops-box`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listen == "" {
				return usageError("serve: --listen is required (e.g. --listen :2222)")
			}
			if keysPath == "" {
				return usageError("serve: --authorized-keys is required")
			}
			if hostKey == "" {
				hostKey = filepath.Join(config.StateDir(), "fleetdeck", "ssh_host_ed25519_key")
			}
			for _, l := range []struct {
				flag string
				zero bool
			}{{"--max-sessions-per-key", perKey == 0}, {"--max-startups", maxStartups == 0}, {"--max-startups-per-address", startupsPerAddress == 0}, {"--login-grace", loginGrace == 0}} {
				if l.zero {
					return usageError("serve: %s must not be 0 (negative: no limit)", l.flag)
				}
			}
			if noSocket && socket != "" {
				return usageError("serve: --stream-socket and --no-stream-socket exclude each other")
			}
			return runServe(cmd.Context(), app, sshserve.Options{
				Addr: listen, HostKeyPath: hostKey, MaxSessions: maxSessions, MaxSessionsPerKey: perKey,
				LoginGrace: loginGrace, MaxStartups: maxStartups, MaxStartupsPerSource: startupsPerAddress,
				IdleTimeout: idle, ShutdownGrace: grace,
			}, keysPath, streamSocket{path: socket, off: noSocket})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "", "address to listen on, e.g. :2222 (required)")
	f.StringVar(&keysPath, "authorized-keys", "", "authorized_keys FILE: who may log in, and in which role (required)")
	f.StringVar(&hostKey, "host-key", "", "host private key FILE, generated (0600) if missing (default $XDG_STATE_HOME/fleetdeck/ssh_host_ed25519_key)")
	f.IntVar(&maxSessions, "max-sessions", sshserve.DefaultMaxSessions, "consoles open at once; the next is refused (negative: no limit)")
	f.IntVar(&perKey, "max-sessions-per-key", sshserve.DefaultMaxSessionsPerKey, "consoles one key may have open at once (negative: no limit)")
	f.DurationVar(&loginGrace, "login-grace", sshserve.DefaultLoginGrace, "close a connection that has not authenticated this long after connecting (negative: never)")
	f.IntVar(&maxStartups, "max-startups", sshserve.DefaultMaxStartups, "connections authenticating at once; a new one closes the oldest of the busiest address (negative: no limit)")
	f.IntVar(&startupsPerAddress, "max-startups-per-address", sshserve.DefaultMaxStartupsPerSource, "connections authenticating at once from one address (IPv6: one /64); the next are closed (negative: no limit)")
	f.DurationVar(&idle, "idle-timeout", 30*time.Minute, "close a session after this long without input (0: never)")
	f.DurationVar(&grace, "grace", sshserve.DefaultShutdownGrace, "on SIGTERM, how long sessions get to finish what is in flight")
	f.StringVar(&socket, "stream-socket", "", "serve the decoded telemetry stream to fleetdeck telemetry tail at this unix socket PATH (default $XDG_RUNTIME_DIR/fleetdeck/telemetry-<config>.sock)")
	f.BoolVar(&noSocket, "no-stream-socket", false, "do not serve the telemetry stream to other processes")
	return cmd
}

// streamSocket is where serve serves the telemetry stream: path, or the
// config's default path, unless off.
type streamSocket struct {
	path string
	off  bool
}

// opsBox is one `serve` process's parts, built but not yet running: the
// SSH server, the shared backend and the journal every session writes to.
type opsBox struct {
	srv     *sshserve.Server
	opts    sshserve.Options
	backend *backend.Backend
	journal *audit.Journal
	keys    *sshserve.AuthorizedKeys
}

// buildServe builds what `serve` runs, from the config and the flags.
func buildServe(app *App, o sshserve.Options, keysPath string, socket streamSocket) (*opsBox, error) {
	log := app.Logger()
	keys, err := sshserve.LoadAuthorizedKeys(keysPath, log.With("component", "ssh"))
	if err != nil {
		return nil, err
	}
	if keys.Current().Len() == 0 {
		return nil, fmt.Errorf("serve: %s holds no usable key (see the log for skipped lines)", keysPath)
	}
	cfg, err := app.Config()
	if err != nil {
		return nil, err
	}
	// Every mutating action goes through the journal, under the identity
	// of the session that made it: no journal, no server. Its signing key
	// lives beside the host key unless audit.key_file says otherwise.
	app.mu.Lock()
	app.auditKey = filepath.Join(filepath.Dir(o.HostKeyPath), config.AuditKeyName)
	app.mu.Unlock()
	j, err := app.Journal()
	if err != nil {
		return nil, err
	}
	bo := backend.Options{Logger: log, Journal: j}
	if cfg.Telemetry != nil && !socket.off {
		bo.StreamSocket = socket.path
		if bo.StreamSocket == "" {
			bo.StreamSocket = streamSocketPath(cfg)
		}
	}
	b, err := backend.Build(cfg, bo)
	if err != nil {
		return nil, err
	}
	o.UI = consoleOptions(cfg, b, log)
	o.UI.Audit = j
	// A session's exports are written here, on the ops box, by name only.
	o.UI.ExportDir = filepath.Join(config.StateDir(), "fleetdeck", "exports")
	// One clearance list per poll interval for all sessions together (and,
	// on a PostgreSQL journal, for all boxes together).
	shared := b.Lister
	if shared != nil {
		o.UI.Fleet = shared
	}
	o.Session = func(uo *ui.Options, id sshserve.Identity) {
		actor := audit.SSHActor(id.User, id.Fingerprint, string(id.Role))
		if shared != nil {
			uo.Fleet = audit.Fleet(shared, j, actor)
		}
		if b.Commands != nil {
			uo.Commands = audit.Commands(b.Commands, j, actor).WithPolicy(uo.Policy)
		}
		// The session's own desk: its identity decides what is "mine".
		uo.Approvals = audit.Approvals(j, actor)
	}
	o.AuthorizedKeys = keys
	o.Logger = log.With("component", "ssh")
	srv, err := sshserve.New(o)
	if err != nil {
		b.Close()
		return nil, err
	}
	return &opsBox{srv: srv, opts: o, backend: b, journal: j, keys: keys}, nil
}

func runServe(ctx context.Context, app *App, o sshserve.Options, keysPath string, socket streamSocket) error {
	box, err := buildServe(app, o, keysPath, socket)
	if err != nil {
		return err
	}
	defer box.backend.Close()
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.Addr, err)
	}
	stop := box.start(ctx, app)
	defer stop()
	cfg, _ := app.Config()
	app.sandboxNotice(cfg)
	fmt.Fprintf(app.Stdout, "fleetdeck serving the console over SSH on %s\n  host key %s\n  authorized keys %s (%d keys)\n  audit journal %s\n",
		ln.Addr(), box.srv.HostKeyFingerprint(), keysPath, box.keys.Current().Len(), box.journal.Name())
	if box.backend.StreamSocket != "" {
		fmt.Fprintf(app.Stdout, "  telemetry stream for fleetdeck telemetry tail at %s\n", box.backend.StreamSocket)
	}
	return box.srv.Serve(ctx, ln)
}

// start runs the backend and resumes unfinished commands. The backend
// outlives the sessions: stop ends it only after the last one has closed,
// so a command still being followed at SIGTERM is seen to its end.
func (box *opsBox) start(ctx context.Context, app *App) (stop func()) {
	bctx, stopBackend := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { box.backend.Run(bctx) })
	wg.Go(func() { resumeCommands(bctx, app, box.journal, box.backend) })
	return func() {
		stopBackend()
		wg.Wait()
	}
}

// Package cli is fleetdeck's command line: the console (the root command) and
// the subcommands for scripts. It wires config, clients, stream and ui; the
// packages it wires know nothing of cobra.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Exit codes (design.md §3).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitNeedsCode   = 3 // an ignition command waits for its confirmation code
	exitInterrupted = 130
)

// ExitError carries the exit code a command wants. A nil Err prints nothing.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// App is what every subcommand shares: streams, global flags, and the lazily
// loaded config, logger and embedded sandbox.
type App struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader

	ConfigPath string
	Profile    string
	Debug      bool
	LogFile    string

	ctx    context.Context
	cancel context.CancelFunc

	loadMu  sync.Mutex // held while the config (and maybe the sandbox) loads: one sandbox per process
	mu      sync.Mutex
	cfg     *config.Config
	logger  *slog.Logger
	logOut  io.Closer
	sandbox *sandbox.Sandbox
	journal *audit.Journal
	// auditKey is where `serve` keeps the journal's signing key (beside its
	// host key) when audit.key_file does not say.
	auditKey string
	// sandboxOptions lets tests and `--sandbox-*` style callers tune the
	// embedded default; nil means defaults.
	sandboxOptions *sandbox.Options
}

// NewApp returns an App bound to the process's streams.
func NewApp(stdin io.Reader, stdout, stderr io.Writer) *App {
	return &App{Stdin: stdin, Stdout: stdout, Stderr: stderr}
}

// Context is cancelled on SIGINT or SIGTERM.
func (a *App) Context() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil {
		a.ctx, a.cancel = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	}
	return a.ctx
}

// Logger writes to the log file, never to the terminal. Without --log-file
// the file is $XDG_STATE_HOME/fleetdeck/fleetdeck.log; --debug raises the
// level to debug (HTTP requests with secrets redacted).
func (a *App) Logger() *slog.Logger {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.logger != nil {
		return a.logger
	}
	level := slog.LevelInfo
	if a.Debug {
		level = slog.LevelDebug
	}
	path := a.LogFile
	if path == "" {
		path = filepath.Join(config.StateDir(), "fleetdeck", "fleetdeck.log")
	}
	var w io.Writer = io.Discard
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			w, a.logOut = f, f
		}
	}
	a.logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	return a.logger
}

// Config loads the config once. When no config file is found it starts the
// embedded sandbox (in a temp dir removed by Close) and loads the config the
// sandbox wrote, so a newcomer gets a working fleet instead of an error.
func (a *App) Config() (*config.Config, error) {
	a.loadMu.Lock()
	defer a.loadMu.Unlock()
	a.mu.Lock()
	if a.cfg != nil {
		defer a.mu.Unlock()
		return a.cfg, nil
	}
	a.mu.Unlock()

	path, found, err := config.Locate(a.ConfigPath, a.Profile)
	if err != nil {
		return nil, err
	}
	if !found {
		if a.Profile != "" {
			return nil, fmt.Errorf("profile %q: no config file found (looked for --config, $FLEETDECK_CONFIG, %s)", a.Profile, filepath.Join(config.ConfigDir(), "fleetdeck", "config.toml"))
		}
		return a.startSandbox()
	}
	cfg, err := config.Load(path, a.Profile)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	return cfg, nil
}

func (a *App) startSandbox() (*config.Config, error) {
	opts := sandbox.Options{}
	if a.sandboxOptions != nil {
		opts = *a.sandboxOptions
	}
	opts.Logger = a.Logger().With("component", "sandbox")
	if opts.FixedCode == "" {
		// Recorded demos (demo.tape) cannot read the code off the screen.
		opts.FixedCode = os.Getenv("FLEETDECK_SANDBOX_FIXED_CODE")
	}
	// Not the signal context: `serve` lets sessions finish after SIGTERM,
	// and they need the simulators until then. Close stops it.
	sb, err := sandbox.Start(context.WithoutCancel(a.Context()), opts)
	if err != nil {
		return nil, fmt.Errorf("start the embedded sandbox: %w", err)
	}
	cfg, err := config.Load(sb.ConfigPath(), "")
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("load the embedded sandbox's config: %w", err)
	}
	cfg.Sandbox = true
	a.Logger().Info("no config found: running the embedded SANDBOX", "http", sb.HTTPURL(), "mqtt", sb.MQTTURL())
	a.mu.Lock()
	a.cfg, a.sandbox = cfg, sb
	a.mu.Unlock()
	return cfg, nil
}

// Journal opens the audit journal once (Close closes it). Every mutating
// action goes through it: no journal, no action.
func (a *App) Journal() (*audit.Journal, error) {
	a.mu.Lock()
	j := a.journal
	a.mu.Unlock()
	if j != nil {
		return j, nil
	}
	j, err := a.openJournal()
	if err != nil {
		return nil, fmt.Errorf("open the audit journal: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.journal != nil {
		j.Close()
		return a.journal, nil
	}
	a.journal = j
	return j, nil
}

// Sandbox returns the embedded sandbox when Config started one.
func (a *App) Sandbox() *sandbox.Sandbox {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sandbox
}

// Close stops the embedded sandbox and closes the log file.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	if a.journal != nil {
		errs = append(errs, a.journal.Close())
		a.journal = nil
	}
	if a.sandbox != nil {
		errs = append(errs, a.sandbox.Close())
		a.sandbox = nil
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.logOut != nil {
		errs = append(errs, a.logOut.Close())
		a.logOut = nil
	}
	return errors.Join(errs...)
}

// PrintJSON writes v as indented JSON to Stdout.
func (a *App) PrintJSON(v any) error {
	enc := json.NewEncoder(a.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// sandboxNotice tells a script's user (on stderr) that the data is
// simulated because no config was found. A sandbox's own config file
// (sandbox = true) was asked for by name and needs no notice.
func (a *App) sandboxNotice(cfg *config.Config) {
	if cfg.Sandbox && a.Sandbox() != nil {
		fmt.Fprintln(a.Stderr, "fleetdeck: no config found: using the embedded SANDBOX (simulated fleet)")
	}
}

// NewRootCmd builds the whole command tree.
func NewRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "fleetdeck",
		Short: "A terminal fleet console: clearance, live telemetry and remote commands",
		Long: `fleetdeck is a terminal console for vehicle fleets: the clearance of every
vehicle (High Mobility fleet API), live telemetry over MQTT, and remote
commands (mobway), including two-step ignition commands.

With no config file it runs against the embedded SANDBOX: simulators of the
three APIs and an MQTT broker, on loopback.`,
		Version:       config.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsole(cmd, app)
		},
	}
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// "vehicles lst --status x": cobra stops at the flag the group does
		// not have; the word before it is the real mistake.
		if cmd.HasSubCommands() && cmd.Flags().NArg() > 0 {
			return unknownCommand(cmd, cmd.Flags().Arg(0))
		}
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&app.ConfigPath, "config", "", "config file (default $FLEETDECK_CONFIG, then $XDG_CONFIG_HOME/fleetdeck/config.toml)")
	pf.StringVar(&app.Profile, "profile", "", "profile NAME: read NAME.toml beside config.toml")
	pf.BoolVar(&app.Debug, "debug", false, "log at debug level (secrets redacted)")
	pf.StringVar(&app.LogFile, "log-file", "", "log file (default $XDG_STATE_HOME/fleetdeck/fleetdeck.log)")
	addConsoleFlags(root)

	for _, c := range subcommands(app) {
		root.AddCommand(c)
	}
	addCompletions(app, root)
	root.InitDefaultCompletionCmd()
	root.SetHelpCommand(newHelpCmd())
	applyManners(root)
	return root
}

// newHelpCmd is cobra's help command with the same manners as the others:
// "help vehicles lst" is an unknown command (exit 2, with a suggestion),
// not the help of vehicles.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			target, _, err := cmd.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range target.Commands() {
				if sub.IsAvailableCommand() && hasPrefixFold(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil {
				return err
			}
			if len(rest) > 0 {
				return unknownCommand(target, rest[0])
			}
			return target.Help()
		},
	}
}

// applyManners gives every command the same behaviour at the edges: a group
// (a command that only holds others: vehicles, command, completion…) prints
// its help when called alone and refuses an unknown word with exit 2 and a
// suggestion, where cobra would print help and exit 0; and no command
// offers file names for its arguments unless it says so (they are VINs,
// ids and names; files come in flags).
func applyManners(c *cobra.Command) {
	// cobra applies its default of 2 only on its own error path.
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = noArgs
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
	if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 {
		c.ValidArgsFunction = cobra.NoFileCompletions
	}
	for _, sub := range c.Commands() {
		applyManners(sub)
	}
}

// noArgs is cobra.NoArgs with a usage exit code.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return unknownCommand(cmd, args[0])
	}
	return usageError("%s: unexpected argument %q (see %s --help)", cmdName(cmd), args[0], cmd.CommandPath())
}

// cmdName is the command's path without the program name, which the error
// prefix already prints.
func cmdName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// exactArgs is cobra.ExactArgs with a usage exit code and the names of the
// missing arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageError("%s: missing %s (see %s --help)", cmdName(cmd), strings.Join(names[len(args):], " "), cmd.CommandPath())
		}
		if len(args) > len(names) {
			return usageError("%s: unexpected argument %q (see %s --help)", cmdName(cmd), args[len(names)], cmd.CommandPath())
		}
		return nil
	}
}

// Execute runs fleetdeck with args and returns the process exit code.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := NewApp(stdin, stdout, stderr)
	defer app.Close()
	root := NewRootCmd(app)
	root.SetArgs(args)
	err := root.ExecuteContext(app.Context())
	return exitCode(stderr, err)
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	code := ExitFailure
	if errors.As(err, &ee) {
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	} else if isCobraUsage(err) {
		code = ExitUsage
	} else if errors.Is(err, context.Canceled) {
		code = exitInterrupted
	}
	// One line, sanitized: error text can carry server strings.
	fmt.Fprintf(stderr, "fleetdeck: %s\n", termsafe.String(err.Error()))
	return code
}

// isCobraUsage recognizes the usage errors cobra builds without a type.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.Contains(s, "flag needs an argument") ||
		strings.HasPrefix(s, "invalid argument") ||
		// MarkFlagsMutuallyExclusive and MarkFlagRequired.
		strings.HasPrefix(s, "if any flags in the group") || strings.HasPrefix(s, "required flag")
}

package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

func newPlatformCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "The API-key platform: create and check the API key",
		Args:  noArgs,
	}
	cmd.AddCommand(newPlatformLoginCmd(app), newPlatformCheckCmd(app))
	return cmd
}

func newPlatformLoginCmd(app *App) *cobra.Command {
	var (
		email, clientUID, saveTo string
		passwordStdin, show      bool
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in, pick a client, create its API key and save it 0600",
		Long: `Log in with email and password, pick the client, and create the client's API
key. The platform shows a key only once and a new key invalidates the old one,
so the key is saved (mode 0600) before anything is printed. It is not printed
unless --show is given.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := app.Config()
			if err != nil {
				return err
			}
			if cfg.Platform == nil {
				return fmt.Errorf("the platform API is disabled: %s has no [platform] section", cfg.File)
			}
			if saveTo == "" {
				saveTo = cfg.Platform.APIKeyFile
			}
			if saveTo == "" {
				return usageError("platform login: no api_key_file in [platform]: pass --save FILE")
			}
			in := bufio.NewReader(app.Stdin)
			if email == "" {
				if email, err = prompt(app, in, "Email: "); err != nil {
					return err
				}
			}
			password, err := readPassword(app, in, passwordStdin)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			hc := platform.HTTPClient(app.Logger().With("client", "platform"))
			idToken, err := platform.Login(ctx, hc, cfg.Platform.LoginURL, email, password)
			if err != nil {
				return fmt.Errorf("log in as %s: %w", email, err)
			}
			clients, err := platform.ListClients(ctx, hc, cfg.Platform.LoginURL, idToken)
			if err != nil {
				return fmt.Errorf("list clients: %w", err)
			}
			chosen, err := pickClient(app, in, clients, clientUID)
			if err != nil {
				return err
			}
			token, err := platform.CreateAPIToken(ctx, hc, cfg.Platform.LoginURL, idToken, chosen.UID)
			if err != nil {
				return fmt.Errorf("create an API key for %s: %w", termsafe.String(chosen.Name), err)
			}
			// Shown once by the platform: keep it before anything else can fail.
			if err := platform.SaveNewToken(saveTo, token); err != nil {
				return fmt.Errorf("save the new API key to %s: %w (the old key is already invalid: run login again)", saveTo, err)
			}
			fmt.Fprintf(app.Stdout, "API key for %s saved to %s (mode 0600).\n", termsafe.String(chosen.Name), saveTo)
			if show {
				fmt.Fprintf(app.Stdout, "%s\n", token)
			}
			pc := platform.New(cfg.Platform.BaseURL, token, hc)
			if _, err := pc.Fields(ctx); err != nil {
				fmt.Fprintf(app.Stderr, "warning: the new key could not be checked yet: %s\n", termsafe.String(err.Error()))
				return nil
			}
			fmt.Fprintln(app.Stdout, "Key verified.")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "account email (prompted when missing)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	f.StringVar(&clientUID, "client", "", "client UID (prompted when you belong to several)")
	f.StringVar(&saveTo, "save", "", "file to save the key to (default: [platform] api_key_file)")
	f.BoolVar(&show, "show", false, "also print the key once, after saving it")
	return cmd
}

func prompt(app *App, in *bufio.Reader, label string) (string, error) {
	fmt.Fprint(app.Stderr, label)
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read %s: %w", strings.TrimSuffix(strings.ToLower(label), ": "), err)
	}
	return strings.TrimSpace(line), nil
}

func readPassword(app *App, in *bufio.Reader, fromStdin bool) (string, error) {
	if !fromStdin {
		if f, ok := app.Stdin.(*os.File); ok && term.IsTerminal(f.Fd()) {
			fmt.Fprint(app.Stderr, "Password: ")
			b, err := term.ReadPassword(f.Fd())
			fmt.Fprintln(app.Stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			return string(b), nil
		}
		return "", usageError("platform login: standard input is not a terminal: pass --password-stdin")
	}
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func pickClient(app *App, in *bufio.Reader, clients []platform.ClientInfo, uid string) (platform.ClientInfo, error) {
	if len(clients) == 0 {
		return platform.ClientInfo{}, errors.New("this account belongs to no client")
	}
	if uid != "" {
		for _, c := range clients {
			if c.UID == uid {
				return c, nil
			}
		}
		return platform.ClientInfo{}, fmt.Errorf("client %s: not one of this account's %d clients", uid, len(clients))
	}
	if len(clients) == 1 {
		return clients[0], nil
	}
	for i, c := range clients {
		fmt.Fprintf(app.Stderr, "  %d) %s  %s\n", i+1, termsafe.String(c.Name), termsafe.String(c.UID))
	}
	ans, err := prompt(app, in, fmt.Sprintf("Client [1-%d]: ", len(clients)))
	if err != nil {
		return platform.ClientInfo{}, err
	}
	n, err := strconv.Atoi(ans)
	if err != nil || n < 1 || n > len(clients) {
		return platform.ClientInfo{}, usageError("no client %q: pass a number from 1 to %d, or --client UID", ans, len(clients))
	}
	return clients[n-1], nil
}

func newPlatformCheckCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the saved API key (a 503 means: could not verify now, not invalid)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := app.Config()
			if err != nil {
				return err
			}
			if cfg.Platform == nil {
				return fmt.Errorf("the platform API is disabled: %s has no [platform] section", cfg.File)
			}
			app.sandboxNotice(cfg)
			pc, err := platform.NewFromConfig(cfg.Platform, app.Logger().With("client", "platform"))
			if err != nil {
				return err
			}
			fields, err := pc.Fields(cmd.Context())
			state := pc.State().String()
			if asJSON {
				out := map[string]any{"state": state, "fields": len(fields)}
				if err != nil {
					out["error"] = termsafe.String(err.Error())
				}
				if perr := app.PrintJSON(out); perr != nil {
					return perr
				}
			} else if err == nil {
				fmt.Fprintf(app.Stdout, "API key %s: %d fields\n", state, len(fields))
			}
			if err != nil {
				return fmt.Errorf("check the API key: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

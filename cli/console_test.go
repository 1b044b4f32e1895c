package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fleetdeck/fleetdeck/backend"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/theme"
)

// The console is told the profiles beside its config, the command line
// that starts it on another one, and the [theme].
func TestConsoleOptionsProfilesAndTheme(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my configs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, "http://127.0.0.1:1")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n[theme]\nname = \"light\"\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.WriteFile(filepath.Join(dir, "eu.toml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	o := consoleOptions(cfg, &backend.Backend{}, slog.New(slog.DiscardHandler))
	if !slices.Equal(o.Profiles, []string{"default", "eu"}) {
		t.Fatalf("profiles %v", o.Profiles)
	}
	if want := "fleetdeck --config '" + path + "'"; o.ProfileCommand != want {
		t.Fatalf("profile command %q, want %q", o.ProfileCommand, want)
	}
	if o.Theme.Name != theme.Light {
		t.Fatalf("theme %+v", o.Theme)
	}
}

package backend

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/sandbox"
)

func TestProfileLabel(t *testing.T) {
	for _, tc := range []struct {
		cfg  config.Config
		want string
	}{
		{config.Config{}, "default"},
		{config.Config{Profile: "prod"}, "prod"},
		{config.Config{Sandbox: true}, "SANDBOX"},
		{config.Config{Sandbox: true, Profile: "demo"}, "SANDBOX (demo)"},
	} {
		if got := ProfileLabel(&tc.cfg); got != tc.want {
			t.Errorf("ProfileLabel(%+v) = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

// The config `fleetdeck sandbox --dir` writes is labelled SANDBOX when
// loaded like any other file, also as a profile beside another config.
func TestSandboxWrittenConfigIsLabelledSandbox(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cfg, err := config.Load(sb.ConfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ProfileLabel(cfg); got != "SANDBOX" || !cfg.Sandbox {
		t.Errorf("label %q, Sandbox %v; want SANDBOX", got, cfg.Sandbox)
	}
	data, err := os.ReadFile(sb.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demo.toml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load(sb.ConfigPath(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	if got := ProfileLabel(cfg); got != "SANDBOX (demo)" {
		t.Errorf("as a profile: %q", got)
	}
}

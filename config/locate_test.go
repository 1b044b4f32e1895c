package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	type setup struct {
		home, xdg string // xdg = $XDG_CONFIG_HOME/fleetdeck
		other     string // a directory outside the XDG tree
	}
	for _, tc := range []struct {
		name      string
		files     []string // created, relative to the setup's "home", "xdg" or "other" via prefix
		flag, env string   // may start with XDG/ or OTHER/
		profile   string
		unsetXDG  bool   // fall back to ~/.config
		want      string // "" with wantFound=false
		wantFound bool
		wantErr   []string
	}{
		{name: "nothing anywhere: sandbox", wantFound: false},
		{name: "xdg default", files: []string{"XDG/config.toml"}, want: "XDG/config.toml", wantFound: true},
		{name: "home fallback", unsetXDG: true, files: []string{"HOME/.config/fleetdeck/config.toml"}, want: "HOME/.config/fleetdeck/config.toml", wantFound: true},
		{name: "env beats xdg", files: []string{"XDG/config.toml", "OTHER/env.toml"}, env: "OTHER/env.toml", want: "OTHER/env.toml", wantFound: true},
		{name: "flag beats env", files: []string{"OTHER/env.toml", "OTHER/flag.toml"}, env: "OTHER/env.toml", flag: "OTHER/flag.toml", want: "OTHER/flag.toml", wantFound: true},
		{name: "flag missing is an error", files: []string{"XDG/config.toml"}, flag: "OTHER/nope.toml",
			wantErr: []string{"config file OTHER/nope.toml: no such file", "--config"}},
		{name: "env missing is an error", files: []string{"XDG/config.toml"}, env: "OTHER/nope.toml",
			wantErr: []string{"config file OTHER/nope.toml: no such file", "$FLEETDECK_CONFIG"}},
		{name: "flag is a directory", flag: "OTHER", wantErr: []string{"is a directory"}},
		{name: "profile beside xdg", files: []string{"XDG/config.toml", "XDG/prod.toml"}, profile: "prod", want: "XDG/prod.toml", wantFound: true},
		{name: "profile without xdg config.toml", files: []string{"XDG/prod.toml"}, profile: "prod", want: "XDG/prod.toml", wantFound: true},
		{name: "profile beside flag", files: []string{"OTHER/main.toml", "OTHER/eu-1.toml", "XDG/eu-1.toml"}, flag: "OTHER/main.toml", profile: "eu-1", want: "OTHER/eu-1.toml", wantFound: true},
		{name: "profile beside env", files: []string{"OTHER/main.toml", "OTHER/p_2.toml"}, env: "OTHER/main.toml", profile: "p_2", want: "OTHER/p_2.toml", wantFound: true},
		{name: "profile missing", files: []string{"XDG/config.toml"}, profile: "prod",
			wantErr: []string{`profile "prod": config file XDG/prod.toml: no such file`}},
		{name: "profile missing, nothing configured", profile: "prod",
			wantErr: []string{`profile "prod": config file XDG/prod.toml: no such file`}},
		{name: "profile name escapes", files: []string{"XDG/config.toml"}, profile: "../prod", wantErr: []string{`profile "../prod": names are`}},
		{name: "profile name with dot", files: []string{"XDG/config.toml", "XDG/a.b.toml"}, profile: "a.b", wantErr: []string{"names are"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := isolate(t)
			s := setup{home: home, xdg: filepath.Join(home, "xdg-config", "fleetdeck"), other: t.TempDir()}
			if tc.unsetXDG {
				t.Setenv("XDG_CONFIG_HOME", "")
			}
			expand := func(p string) string {
				r := strings.NewReplacer("HOME", s.home, "XDG", s.xdg, "OTHER", s.other)
				return r.Replace(p)
			}
			for _, f := range tc.files {
				writeFile(t, expand(f), "", 0o600)
			}
			t.Setenv(EnvConfig, expand(tc.env))
			path, found, err := Locate(expand(tc.flag), tc.profile)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; got %q, %v", path, found)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), expand(w)) {
						t.Errorf("error %q does not contain %q", err, expand(w))
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound || path != expand(tc.want) {
				t.Errorf("got %q, %v; want %q, %v", path, found, expand(tc.want), tc.wantFound)
			}
		})
	}
}

func TestLocateRelativeFlagIsMadeAbsolute(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "c.toml"), "", 0o600)
	t.Chdir(dir)
	path, found, err := Locate("c.toml", "")
	if err != nil || !found || path != filepath.Join(dir, "c.toml") {
		t.Errorf("got %q, %v, %v", path, found, err)
	}
}

func TestLoadProfile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	main := writeFile(t, filepath.Join(dir, "config.toml"), commandsOK, 0o600)
	writeFile(t, filepath.Join(dir, "prod.toml"), "production = true\n"+platformOK, 0o600)
	t.Setenv(EnvConfig, main)

	path, found, err := Locate("", "prod")
	if err != nil || !found {
		t.Fatal(found, err)
	}
	// Both the path Locate returns and the main config's path load the profile.
	for _, p := range []string{path, main} {
		cfg, err := Load(p, "prod")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Profile != "prod" || !cfg.Production || cfg.Platform == nil || cfg.Commands != nil || cfg.File != filepath.Join(dir, "prod.toml") {
			t.Errorf("Load(%q, prod) = %+v", p, cfg)
		}
	}
	if _, err := Load(main, "../etc/passwd"); err == nil || !strings.Contains(err.Error(), "names are") {
		t.Errorf("bad profile name: %v", err)
	}
	if _, err := Load(main, "staging"); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "staging.toml")+": no such file") {
		t.Errorf("missing profile: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	isolate(t)
	_, err := Load("/nonexistent/fleetdeck/x.toml", "")
	if err == nil || err.Error() != "config file /nonexistent/fleetdeck/x.toml: no such file" {
		t.Errorf("got %v", err)
	}
	_, err = Load(t.TempDir(), "")
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("got %v", err)
	}
}

func TestLoadRefusesHugeFile(t *testing.T) {
	isolate(t)
	p := filepath.Join(t.TempDir(), "big.toml")
	writeFile(t, p, "# "+strings.Repeat("x", maxConfigSize)+"\n", 0o600)
	if _, err := Load(p, ""); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Errorf("got %v", err)
	}
}

func TestXDGDirs(t *testing.T) {
	for _, tc := range []struct {
		name              string
		xdgConfig, xdgSta string
		wantConfig        string // HOME/ is replaced
		wantState         string
	}{
		{"set", "/cfg", "/state", "/cfg", "/state"},
		{"unset", "", "", "HOME/.config", "HOME/.local/state"},
		{"relative ignored", "rel/cfg", "rel/state", "HOME/.config", "HOME/.local/state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := isolate(t)
			t.Setenv("XDG_CONFIG_HOME", tc.xdgConfig)
			t.Setenv("XDG_STATE_HOME", tc.xdgSta)
			r := strings.NewReplacer("HOME", home)
			if got := ConfigDir(); got != r.Replace(tc.wantConfig) {
				t.Errorf("ConfigDir() = %q", got)
			}
			if got := StateDir(); got != r.Replace(tc.wantState) {
				t.Errorf("StateDir() = %q", got)
			}
			if got, want := DefaultAuditPath(), filepath.Join(r.Replace(tc.wantState), "fleetdeck", "audit.db"); got != want {
				t.Errorf("DefaultAuditPath() = %q, want %q", got, want)
			}
		})
	}
}

func TestNoHomeMeansSandbox(t *testing.T) {
	isolate(t)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	if d := ConfigDir(); d != "" {
		t.Skipf("os.UserHomeDir still finds %q on this platform", d)
	}
	path, found, err := Locate("", "")
	if err != nil || found || path != "" {
		t.Errorf("got %q, %v, %v", path, found, err)
	}
	if got := StateDir(); got != os.TempDir() {
		t.Errorf("StateDir() = %q", got)
	}
}

package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// maxConfigSize bounds what Load reads: a config file is a few hundred bytes.
const maxConfigSize = 1 << 20

// Locate returns the config file to use: flagPath, else $FLEETDECK_CONFIG, else
// $XDG_CONFIG_HOME/fleetdeck/config.toml (~/.config/…) if it exists; with profile, NAME.toml beside it.
// found=false (and err nil) when nothing was given and no file exists → the caller runs the sandbox.
//
// A path given explicitly (flag or environment) must exist. A profile must
// exist too: asking for one is explicit even when config.toml is the default.
func Locate(flagPath, profile string) (path string, found bool, err error) {
	if profile != "" {
		if err := checkProfile(profile); err != nil {
			return "", false, err
		}
	}
	base, source := flagPath, "--config"
	if base == "" {
		base, source = os.Getenv(EnvConfig), "$"+EnvConfig
	}
	explicit := base != ""
	if !explicit {
		dir := ConfigDir()
		if dir == "" {
			if profile != "" {
				return "", false, fmt.Errorf("profile %q: no config directory: set $XDG_CONFIG_HOME or $HOME, or use --config", profile)
			}
			return "", false, nil
		}
		base = filepath.Join(dir, "fleetdeck", "config.toml")
	}
	base, err = absPath(base)
	if err != nil {
		return "", false, err
	}
	if explicit {
		if err := checkConfigFile(base); err != nil {
			return "", false, fmt.Errorf("%w (from %s)", err, source)
		}
	}
	if profile != "" {
		p := filepath.Join(filepath.Dir(base), profile+".toml")
		if err := checkConfigFile(p); err != nil {
			return "", false, fmt.Errorf("profile %q: %w", profile, err)
		}
		return p, true, nil
	}
	if !explicit {
		if err := checkConfigFile(base); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", false, nil
			}
			return "", false, err
		}
	}
	return base, true, nil
}

// fileError reads "config file /x/y.toml: no such file" and still matches fs.ErrNotExist.
type fileError struct {
	path string
	msg  string
	err  error
}

func (e *fileError) Error() string { return "config file " + e.path + ": " + e.msg }
func (e *fileError) Unwrap() error { return e.err }

func checkConfigFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &fileError{path, "no such file", err}
	case err != nil:
		return fmt.Errorf("config file %s: %w", path, err)
	case fi.IsDir():
		return &fileError{path, "is a directory", nil}
	case !fi.Mode().IsRegular():
		return &fileError{path, "is not a regular file", nil}
	}
	return nil
}

// checkProfile keeps a profile name from reaching outside the config
// directory ("../x") or naming something odd.
func checkProfile(name string) error {
	ok := name != "" && len(name) <= 64
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("profile %q: names are 1 to 64 letters, digits, '_' or '-'", name)
	}
	return nil
}

// Load reads and checks one config file. With a profile, path is the
// profile's file as Locate returns it; if path names another file (say
// config.toml), NAME.toml beside it is read instead. Errors about the content
// are *Error values naming the file, the key and, where the decoder knows it,
// the line.
func Load(path, profile string) (*Config, error) {
	if profile != "" {
		if err := checkProfile(profile); err != nil {
			return nil, err
		}
		if filepath.Base(path) != profile+".toml" {
			path = filepath.Join(filepath.Dir(path), profile+".toml")
		}
	}
	path, err := absPath(path)
	if err != nil {
		return nil, err
	}
	data, err := readConfig(path)
	if err != nil {
		return nil, err
	}
	var raw rawFile
	md, decErr := toml.Decode(string(data), &raw)
	if decErr != nil && len(md.Keys()) == 0 {
		// Syntax: nothing was parsed.
		e := decodeError(path, decErr)
		if ce, ok := e.(*Error); ok && !strings.HasPrefix(ce.Msg, "secrets") {
			ce.Msg = "invalid TOML: " + ce.Msg
		}
		return nil, e
	}
	if err := checkKeys(path, md, decErr == nil); err != nil {
		return nil, err
	}
	if decErr != nil {
		return nil, decodeError(path, decErr)
	}
	cfg := build(&raw, path)
	cfg.Profile = profile
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func readConfig(path string) ([]byte, error) {
	if err := checkConfigFile(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, &fileError{path, "larger than 1 MiB; is this the right file?", nil}
	}
	return data, nil
}

// build turns the decoded file into a Config: defaults applied, paths made
// absolute against the config file's directory.
func build(raw *rawFile, file string) *Config {
	dir := filepath.Dir(file)
	rel := func(p tomlString) string { return resolvePath(dir, string(p)) }
	cfg := &Config{File: file, Production: bool(raw.Production), Sandbox: bool(raw.Sandbox)}
	if f := raw.Fleet; f != nil {
		cfg.Fleet = &Fleet{
			BaseURL:          string(f.BaseURL),
			ServiceAccount:   rel(f.ServiceAccount),
			ClientID:         string(f.ClientID),
			ClientSecretFile: rel(f.ClientSecretFile),
			PrivateKeyFile:   rel(f.PrivateKeyFile),
			Audience:         string(f.Audience),
			JWTVersion:       int(f.JWTVersion),
			PollInterval:     time.Duration(f.PollInterval),
		}
		if cfg.Fleet.Audience == "" {
			cfg.Fleet.Audience = cfg.Fleet.BaseURL
		}
		if cfg.Fleet.JWTVersion == 0 {
			cfg.Fleet.JWTVersion = DefaultJWTVersion
		}
		if cfg.Fleet.PollInterval == 0 {
			cfg.Fleet.PollInterval = DefaultPollInterval
		}
	}
	if t := raw.Telemetry; t != nil {
		cfg.Telemetry = &Telemetry{
			Broker:        string(t.Broker),
			AppID:         string(t.AppID),
			Topics:        []string(t.Topic),
			CAFile:        rel(t.CAFile),
			CertFile:      rel(t.CertFile),
			KeyFile:       rel(t.KeyFile),
			ClientID:      string(t.ClientID),
			QoS:           DefaultQoS,
			Pseudonymized: Pseudonymized(t.Pseudonymized),
		}
		if t.QoS.set {
			cfg.Telemetry.QoS = t.QoS.v
		}
		if len(cfg.Telemetry.Topics) == 0 {
			cfg.Telemetry.Topics = DefaultTopics(cfg.Telemetry.Broker)
		}
		if cfg.Telemetry.Pseudonymized == "" {
			cfg.Telemetry.Pseudonymized = PseudoAuto
		}
	}
	if c := raw.Commands; c != nil {
		cfg.Commands = &Commands{
			BaseURL:        string(c.BaseURL),
			TokenFile:      rel(c.TokenFile),
			SignSecretFile: rel(c.SignSecretFile),
			Approval:       []string(c.Approval),
			Confirm:        []string(c.Confirm),
		}
	}
	if p := raw.Platform; p != nil {
		cfg.Platform = &Platform{
			BaseURL:    string(p.BaseURL),
			LoginURL:   string(p.LoginURL),
			APIKeyFile: rel(p.APIKeyFile),
		}
	}
	if a := raw.Audit; a != nil {
		cfg.Audit = Audit{Path: rel(a.Path), DSN: string(a.DSN), PasswordFile: rel(a.PasswordFile), KeyFile: rel(a.KeyFile)}
	}
	if cfg.Audit.Path == "" {
		cfg.Audit.Path = DefaultAuditPath()
	}
	if raw.Theme != nil {
		cfg.Theme = buildTheme(raw.Theme)
	}
	if len(raw.Keys) > 0 {
		cfg.Keys = make(map[string][]string, len(raw.Keys))
		for action, keys := range raw.Keys {
			cfg.Keys[action] = []string(keys)
		}
	}
	return cfg
}

// resolvePath makes p absolute: "~/" is the home directory, anything else
// relative is relative to the config file's directory.
func resolvePath(dir, p string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		return filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}

func absPath(p string) (string, error) {
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("config file %s: %w", p, err)
	}
	return a, nil
}

// ConfigDir is $XDG_CONFIG_HOME, else ~/.config; "" when neither is known.
// A relative $XDG_CONFIG_HOME is ignored, as the XDG specification says.
func ConfigDir() string {
	return xdgDir("XDG_CONFIG_HOME", ".config")
}

// StateDir is $XDG_STATE_HOME, else ~/.local/state. Without a home directory
// it falls back to the system temp dir rather than the working directory.
func StateDir() string {
	if d := xdgDir("XDG_STATE_HOME", filepath.Join(".local", "state")); d != "" {
		return d
	}
	return os.TempDir()
}

func xdgDir(env, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(home, fallback)
}

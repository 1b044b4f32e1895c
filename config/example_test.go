package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The example the README and help print must load, with the files it names.
func TestExampleLoads(t *testing.T) {
	home := isolate(t)
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "config.toml"), Example(), 0o644)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	writeFile(t, filepath.Join(dir, "service-account.json"), string(saJSON(t, pkcs8PEM(t, key))), 0o600)
	writeFile(t, filepath.Join(dir, "commands.token"), "tok\n", 0o600)
	writeFile(t, filepath.Join(dir, "commands.secret"), "sign\n", 0o600)
	writeFile(t, filepath.Join(dir, "platform.key"), "api\n", 0o600)
	for _, f := range []string{"ca.pem", "client.pem", "client-key.pem"} {
		writeFile(t, filepath.Join(dir, f), "-", 0o600)
	}

	cfg, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Production || cfg.Fleet == nil || cfg.Telemetry == nil || cfg.Commands == nil || cfg.Platform == nil {
		t.Fatalf("sections: %+v", cfg)
	}
	if cfg.Fleet.PollInterval != 10*time.Second || cfg.Fleet.Audience != "https://sandbox.api.high-mobility.com/v1" || cfg.Fleet.JWTVersion != 1 {
		t.Errorf("fleet: %+v", cfg.Fleet)
	}
	if !slices.Equal(cfg.Telemetry.TopicFilters(), []string{"live/level13/1FBBEDED80595912588FF4FF/#", "/live/level13/1FBBEDED80595912588FF4FF/#"}) || !cfg.Telemetry.TLS() || cfg.Telemetry.Pseudonymized != PseudoAuto {
		t.Errorf("telemetry: %+v", cfg.Telemetry)
	}
	if cfg.Audit.Path != filepath.Join(home, "xdg-state", "fleetdeck", "audit.db") {
		t.Errorf("audit: %q", cfg.Audit.Path)
	}
	sa, err := LoadServiceAccount(cfg.Fleet.ServiceAccount)
	if err != nil || !sa.PrivateKey.Equal(key) {
		t.Errorf("service account: %v", err)
	}
	for name, get := range map[string]func() (string, error){
		"tok": cfg.Commands.Token, "sign": cfg.Commands.SignSecret, "api": cfg.Platform.APIKey,
	} {
		if got, err := get(); err != nil || got != name {
			t.Errorf("secret %s: ok=%v, %v", name, got == name, err)
		}
	}
	for _, p := range []string{cfg.Telemetry.CAFile, cfg.Telemetry.CertFile, cfg.Telemetry.KeyFile} {
		if filepath.Dir(p) != dir {
			t.Errorf("path %q not resolved against %q", p, dir)
		}
	}
}

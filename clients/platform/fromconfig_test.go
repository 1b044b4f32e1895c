package platform_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/config"
)

func TestNewFromConfig(t *testing.T) {
	t.Setenv(config.EnvPlatformAPIKey, "")
	srv, seen := newServer(t, func(w http.ResponseWriter, r request) { writeJSON(w, 200, `[]`) })
	keyFile := filepath.Join(t.TempDir(), "platform.key")
	cfg := &config.Platform{BaseURL: srv.URL + "/mrv/v1", APIKeyFile: keyFile}
	_, err := platform.NewFromConfig(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "fleetdeck platform login") {
		t.Errorf("missing key file: %v", err)
	}
	if err := platform.SaveNewToken(keyFile, apiKey); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c, err := platform.NewFromConfig(cfg, nil, platform.WithOnState(rec.onState))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fields(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := seen(); len(r) != 1 || r[0].Header.Get("ApiKey") != apiKey || r[0].Path != "/mrv/v1/fields" {
		t.Error("NewFromConfig client did not send the saved key to /fields")
	}
	if rec.stateList() != "[ok]" {
		t.Errorf("states %s", rec.stateList())
	}

	t.Setenv(config.EnvPlatformAPIKey, "from-env-key")
	c, err = platform.NewFromConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Fields(context.Background())
	if r := seen(); r[len(r)-1].Header.Get("ApiKey") != "from-env-key" {
		t.Error("the environment variable does not win over the file")
	}
}

package commands_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
)

func TestNewFromConfigReadsSecretFiles(t *testing.T) {
	t.Setenv(config.EnvCommandsToken, "")
	t.Setenv(config.EnvCommandsSignSecret, "")
	dir := t.TempDir()
	tokenFile, secretFile := filepath.Join(dir, "commands.token"), filepath.Join(dir, "commands.secret")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := vectorFor(t, "6AHFT68CKAF501652", "diagnostics")
	srv := newServer(t, func(w http.ResponseWriter, r request) {
		writeJSON(w, 200, `{"id":"x","status":"Pending"}`)
	})
	c, err := commands.NewFromConfig(&config.Commands{BaseURL: srv.URL, TokenFile: tokenFile, SignSecretFile: secretFile}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), v.VIN, v.Command, ""); err != nil {
		t.Fatal(err)
	}
	checkPOST(t, srv.requests()[0], v.Signature)

	// A secret file others may read is refused, and the error does not
	// show the secret.
	if err := os.Chmod(secretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = commands.NewFromConfig(&config.Commands{BaseURL: srv.URL, TokenFile: tokenFile, SignSecretFile: secretFile}, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("err %v", err)
	}
	checkNoSecrets(t, err)
	if _, err := commands.NewFromConfig(nil, nil); err == nil {
		t.Error("nil section accepted")
	}
}

func TestHintForStatusDetails(t *testing.T) {
	if commands.Hint("Failed to send command to the OEM.") == "" || commands.Hint("failed to send command to the OEM") == "" {
		t.Error("documented OEM failure has no hint")
	}
	if h := commands.Hint("the vehicle exploded"); h != "" {
		t.Errorf("undocumented detail got hint %q", h)
	}
}

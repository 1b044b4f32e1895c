package config

import (
	"os"
	"path/filepath"
	"testing"
)

// isolate clears every variable this package reads and points XDG and HOME
// into a temp dir, so the developer's own config cannot leak into a test.
func isolate(t *testing.T) (home string) {
	t.Helper()
	home = t.TempDir()
	for _, k := range []string{EnvConfig, EnvCommandsToken, EnvCommandsSignSecret, EnvPlatformAPIKey, EnvFleetClientSecret} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "xdg-config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, "xdg-state"))
	return home
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is filtered by the umask; tests need it exact.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

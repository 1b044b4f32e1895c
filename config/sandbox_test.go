package config

import (
	"strings"
	"testing"
)

// A config the sandbox wrote says so (sandbox = true), and Load reports it,
// so the console calls it SANDBOX whoever started the simulators.
func TestSandboxMarker(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, "sandbox = true\n"+platformOK)
	if err != nil || !cfg.Sandbox || cfg.Production {
		t.Fatalf("sandbox = true: %+v, %v", cfg, err)
	}
	cfg, _, err = loadString(t, platformOK)
	if err != nil || cfg.Sandbox {
		t.Fatalf("no marker: Sandbox = %v, %v", cfg != nil && cfg.Sandbox, err)
	}
	cfg, _, err = loadString(t, "sandbox = false\n"+platformOK)
	if err != nil || cfg.Sandbox {
		t.Fatalf("sandbox = false: %v", err)
	}
}

func TestSandboxMarkerErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"sandbox = \"yes\"\n", ":1: sandbox: must be true or false, not a string"},
		{"production = true\nsandbox = true\n" + platformOK, ": sandbox: a sandbox's config cannot also say production = true"},
		{"sandbx = true\n", "sandbx: unknown key (did you mean sandbox?)"},
	} {
		isolate(t)
		_, _, err := loadString(t, tc.content)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.content, err, tc.want)
		}
	}
}

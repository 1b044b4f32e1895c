package cli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestServeRefusesToStartBlind(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	onlyBad := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(onlyBad, []byte("# nobody yet\nnot a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve", "--authorized-keys", onlyBad}, ExitUsage, "--listen is required"},
		{[]string{"serve", "--listen", "127.0.0.1:0"}, ExitUsage, "--authorized-keys is required"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", filepath.Join(dir, "missing")}, ExitFailure, "missing: no such file"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", onlyBad}, ExitFailure, "holds no usable key"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", onlyBad, "--max-startups", "0"}, ExitUsage, "--max-startups must not be 0 (negative: no limit)"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", onlyBad, "--login-grace", "0s"}, ExitUsage, "--login-grace must not be 0"},
	} {
		r := run(t, "", tc.args...)
		if r.code != tc.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, r.code, tc.code, r.stderr)
		}
		oneLine(t, r, tc.want)
	}
}

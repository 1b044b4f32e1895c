package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox"
)

// shellWords is how a POSIX shell splits line into words: the test asks sh
// itself rather than trusting the quoting code to check its own work.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `eval "set -- $1"; for a in "$@"; do printf '%s\0' "$a"; done`, "sh", line).Output()
	if err != nil {
		t.Fatalf("sh could not parse %q: %v", line, err)
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

func TestShellQuoteRoundTrips(t *testing.T) {
	words := []string{"fleetdeck", "", "plain-word_1.2:3@x,y+z=%", "two words", "it's", `"double"`, "$HOME", "`id`",
		"a\\b", "*", "~", "a\nb", "#c", "x;rm -rf /", "ünïcødé", "'", "''"}
	line := shellJoin(words)
	if got := shellWords(t, line); !slices.Equal(got, words) {
		t.Errorf("sh read %q\nfrom %s\nwant %q", got, line, words)
	}
	if got := shellJoin([]string{"fleetdeck", "--config", "/etc/fleetdeck/config.toml"}); got != "fleetdeck --config /etc/fleetdeck/config.toml" {
		t.Errorf("plain words were quoted: %s", got)
	}
}

// stepReason is a reason a shell would split and expand if it were not
// quoted.
const stepReason = "it's stolen; $HOME `id`"

// stepOne runs ignition step one with args and returns the To-execute
// line's words as sh reads them.
func stepOne(t *testing.T, args ...string) []string {
	t.Helper()
	r := run(t, "", append(args, "command", "send", "WBA5R1C51KAJ98123", "disable_ignition", "--reason", stepReason)...)
	if r.code != ExitNeedsCode {
		t.Fatalf("step one: exit %d: %s", r.code, r.stderr)
	}
	_, line, ok := strings.Cut(r.stdout, "To execute: ")
	if !ok {
		t.Fatalf("no To-execute line:\n%s", r.stdout)
	}
	line, _, _ = strings.Cut(line, "\n")
	return shellWords(t, line)
}

// The To-execute line runs step two against the configuration step one
// used, whether that came from --config, --profile or $FLEETDECK_CONFIG, and
// survives a path a shell would otherwise split or expand.
func TestToExecuteLineKeepsTheConfiguration(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "it's a $HOME dir")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, TransitionDelay: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cfg := sb.ConfigPath()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(dir, "ops.toml")
	if err := os.WriteFile(ops, data, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		env  string
		want []string // the words before "command"
	}{
		{"--config", []string{"--config", cfg}, "", []string{"fleetdeck", "--config", cfg}},
		{"--profile", []string{"--config", cfg, "--profile", "ops"}, "", []string{"fleetdeck", "--config", ops, "--profile", "ops"}},
		{"$FLEETDECK_CONFIG", nil, cfg, []string{"fleetdeck", "--config", cfg}},
		{"relative --config", []string{"--config", relTo(t, cfg)}, "", []string{"fleetdeck", "--config", cfg}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FLEETDECK_CONFIG", tc.env)
			words := stepOne(t, tc.args...)
			i := slices.Index(words, "command")
			if i < 0 || !slices.Equal(words[:i], tc.want) {
				t.Fatalf("line reads %q, want it to start %q", words, tc.want)
			}
			if rest := words[i:]; len(rest) != 8 || rest[1] != "send" || rest[2] != "WBA5R1C51KAJ98123" || rest[3] != "disable_ignition" || rest[4] != "--code" ||
				rest[6] != "--reason" || rest[7] != stepReason {
				t.Fatalf("line reads %q", words)
			}
			// Pasted into another shell: no environment to lean on.
			t.Setenv("FLEETDECK_CONFIG", "")
			r := run(t, "", append(words[1:], "--json")...)
			if r.code != 0 || !strings.Contains(r.stdout, `"status": "Pending"`) && !strings.Contains(r.stdout, `"status": "Success"`) {
				t.Fatalf("step two from the line: exit %d %s %s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func relTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// --any-command carries over: step two must not be refused for a name
// step one was allowed to send.
func TestToExecuteLineKeepsAnyCommand(t *testing.T) {
	app := NewApp(strings.NewReader(""), os.Stdout, os.Stderr)
	defer app.Close()
	words := shellWords(t, app.stepTwoLine("WBA5R1C51KAJ98123", "start engine", "123456", "", true))
	want := []string{"fleetdeck", "command", "send", "WBA5R1C51KAJ98123", "start engine", "--code", "123456", "--any-command"}
	if !slices.Equal(words, want) {
		t.Errorf("line reads %q, want %q", words, want)
	}
}

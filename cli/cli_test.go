package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox"
)

// startSandbox runs the simulators for one test and returns its config path.
func startSandbox(t *testing.T) (*sandbox.Sandbox, string) {
	t.Helper()
	return startSandboxStepping(t, 100*time.Millisecond)
}

// startSandboxStepping is startSandbox with the clearance state machine's
// step: tests that read the seeded states (a pending vehicle) rather than
// wait for changes take a long one, or a loaded machine sees the seeded
// vehicles move on between two commands.
func startSandboxStepping(t *testing.T, step time.Duration) (*sandbox.Sandbox, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: t.TempDir(), TransitionDelay: step})
	if err != nil {
		cancel()
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() {
		sb.Close()
		cancel()
	})
	return sb, sb.ConfigPath()
}

type result struct {
	code           int
	stdout, stderr string
}

// run executes fleetdeck with args, isolated from the user's environment.
func run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	logFile := filepath.Join(t.TempDir(), "fleetdeck.log")
	code := Execute(append([]string{"--log-file", logFile}, args...), strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func isolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".state"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	for _, k := range []string{"FLEETDECK_CONFIG", "FLEETDECK_COMMANDS_TOKEN", "FLEETDECK_COMMANDS_SIGN_SECRET", "FLEETDECK_PLATFORM_API_KEY", "FLEETDECK_FLEET_CLIENT_SECRET"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// oneLine asserts a failure printed exactly one line on stderr, mentioning want.
func oneLine(t *testing.T, r result, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "fleetdeck: ") {
		t.Errorf("stderr is not one error line:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not mention %q", r.stderr, want)
	}
}

func TestUsageErrors(t *testing.T) {
	isolate(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"vehicles", "list", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"vehicles", "revoke"}, "missing VIN"},
		{[]string{"command", "send", "WBA5R1C51KAJ98123"}, "missing COMMAND"},
		{[]string{"command", "send", "WBA5R1C51KAJ98123", "enable_ignition", "--code", "12ab56"}, "6 digits"},
		{[]string{"vehicles", "add", "WBA5R1C51KAJ98123"}, "--brand is required"},
		{[]string{"nonsense"}, "unknown command"},
	} {
		r := run(t, "", tc.args...)
		if r.code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, r.code, ExitUsage, r.stderr)
		}
		oneLine(t, r, tc.want)
	}
}

func TestBadConfig(t *testing.T) {
	isolate(t)
	r := run(t, "", "--config", "/nonexistent/fleetdeck.toml", "vehicles", "list")
	if r.code != ExitFailure {
		t.Fatalf("exit %d, want 1", r.code)
	}
	oneLine(t, r, "/nonexistent/fleetdeck.toml")

	_, cfg := startSandbox(t)
	secret := filepath.Join(filepath.Dir(cfg), "commands.token")
	if err := os.Chmod(secret, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "", "--config", cfg, "command", "status", "x")
	if r.code != ExitFailure {
		t.Fatalf("loose token file: exit %d, want 1 (stderr %q)", r.code, r.stderr)
	}
	oneLine(t, r, "chmod 600")
}

func TestVehiclesFlow(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)

	r := run(t, "", "--config", cfg, "vehicles", "list", "--json")
	if r.code != 0 {
		t.Fatalf("list: exit %d: %s", r.code, r.stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list --json is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(list) < 12 {
		t.Fatalf("list: %d vehicles, want the default dozen", len(list))
	}
	for _, k := range []string{"vin", "brand", "status", "changelog"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("list --json rows lack %q: %v", k, list[0])
		}
	}

	// Invalid VIN: refused locally, one line.
	r = run(t, "", "--config", cfg, "vehicles", "add", "WBA5R1C51KAJ9812O", "--brand", "bmw")
	if r.code != ExitFailure {
		t.Errorf("invalid VIN: exit %d", r.code)
	}
	oneLine(t, r, "invalid VIN")

	// Mercedes-Benz without odometer: refused locally.
	r = run(t, "", "--config", cfg, "vehicles", "add", "W1KZF8DB1LA999874", "--brand", "mercedes-benz")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "odometer") {
		t.Errorf("mercedes without odometer: exit %d, stderr %q", r.code, r.stderr)
	}

	r = run(t, "", "--config", cfg, "vehicles", "add", "W1KZF8DB1LA999874", "--brand", "mercedes-benz", "--odometer", "12000", "--json")
	if r.code != 0 {
		t.Fatalf("add: exit %d: %s", r.code, r.stderr)
	}
	var added []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &added); err != nil || len(added) != 1 || added[0]["status"] != "pending" {
		t.Fatalf("add --json = %s (err %v)", r.stdout, err)
	}

	// Bulk: one good row, one the API refuses (unknown brand) → every row reported, exit 1.
	file := filepath.Join(t.TempDir(), "fleet.csv")
	os.WriteFile(file, []byte("vin,brand,odometer\nWBA5R1C51KAJ77777,bmw\nWBA5R1C51KAJ66666,trabant\n"), 0o600)
	r = run(t, "", "--config", cfg, "vehicles", "add", "--from", file, "--json")
	if r.code != ExitFailure {
		t.Errorf("bulk with a refused row: exit %d, want 1", r.code)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("bulk --json = %s (err %v)", r.stdout, err)
	}
	if rows[0]["status"] != "pending" || rows[1]["status"] != "error" || rows[1]["description"] == "" {
		t.Errorf("bulk rows = %v", rows)
	}

	// Revoke an approved vehicle: it starts revoking.
	r = run(t, "", "--config", cfg, "vehicles", "revoke", "WBA5R1C51KAJ98123", "--json")
	if r.code != 0 {
		t.Fatalf("revoke: exit %d: %s", r.code, r.stderr)
	}
	var rv map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &rv); err != nil || (rv["status"] != "revoking" && rv["status"] != "revoked") {
		t.Fatalf("revoke --json = %s", r.stdout)
	}
	// Revoking again while in transition or after: a clear conflict.
	r = run(t, "", "--config", cfg, "vehicles", "revoke", "WBA5R1C51KAJ98123")
	if r.code != ExitFailure {
		t.Errorf("second revoke: exit %d", r.code)
	}
	oneLine(t, r, "WBA5R1C51KAJ98123")
	if n := strings.Count(r.stderr, "revoke WBA5R1C51KAJ98123"); n != 1 {
		t.Errorf("second revoke names its action %d times, want once: %q", n, r.stderr)
	}
	r = run(t, "", "--config", cfg, "vehicles", "show", "WBADT43452G296403")
	if r.code != ExitFailure {
		t.Errorf("show of a VIN not in the fleet: exit %d", r.code)
	}
	oneLine(t, r, "404")
	if n := strings.Count(r.stderr, "get WBADT43452G296403"); n != 1 {
		t.Errorf("show names its action %d times, want once: %q", n, r.stderr)
	}

	r = run(t, "", "--config", cfg, "vehicles", "eligibility", "WBA5R1C51KAJ98123", "--brand", "bmw", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"eligible"`) {
		t.Errorf("eligibility: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestIgnitionTwoStep(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	const v = "WBA5R1C51KAJ98123"

	// disable_ignition says why, or goes nowhere.
	r := run(t, "", "--config", cfg, "command", "send", v, "disable_ignition")
	if r.code != ExitUsage {
		t.Fatalf("no reason: exit %d: %s", r.code, r.stderr)
	}
	oneLine(t, r, "give --reason")

	r = run(t, "", "--config", cfg, "command", "send", v, "disable_ignition", "--reason", "stolen", "--json")
	if r.code != ExitNeedsCode {
		t.Fatalf("step one: exit %d, want 3: %s", r.code, r.stderr)
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &conf); err != nil {
		t.Fatalf("step one --json: %v\n%s", err, r.stdout)
	}
	code, _ := conf["code"].(string)
	if conf["status"] != "Confirmation" || len(code) != 6 || conf["message"] == "" || conf["valid_until"] == nil ||
		!strings.HasPrefix(fmt.Sprint(conf["english"]), "Warning: the command to switch the ignition off") {
		t.Fatalf("step one --json = %v", conf)
	}

	// A wrong code: said so, and a new code comes at once (exit 3 again).
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	r = run(t, "", "--config", cfg, "command", "send", v, "disable_ignition", "--reason", "stolen", "--code", wrong)
	if r.code != ExitNeedsCode || !strings.Contains(r.stderr, "that is not the code issued for this vehicle") ||
		!strings.Contains(r.stderr, "a new code is being requested") || !strings.Contains(r.stdout, "In English: Warning") {
		t.Fatalf("wrong code: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	fields := strings.Fields(r.stdout[strings.Index(r.stdout, "--code "):])
	code = fields[1]

	r = run(t, "", "--config", cfg, "command", "send", v, "disable_ignition", "--reason", "stolen", "--code", code, "--wait", "--json")
	if r.code != 0 {
		t.Fatalf("step two: exit %d: %s", r.code, r.stderr)
	}
	var final map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &final); err != nil || final["status"] != "Success" || final["id"] == "" {
		t.Fatalf("step two --json = %s (err %v)", r.stdout, err)
	}

	// The same code twice: already used, and a new code is on its way.
	r = run(t, "", "--config", cfg, "command", "send", v, "disable_ignition", "--reason", "stolen", "--code", code)
	if r.code != ExitNeedsCode || !strings.Contains(r.stderr, "that code was already used") || !strings.Contains(r.stderr, "Confirmation already used") {
		t.Fatalf("reused code: exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, code) {
		t.Errorf("an error printed the confirmation code")
	}
}

func TestPlainCommandAndStatus(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "lock_door", "--json")
	if r.code != 0 {
		t.Fatalf("send: exit %d: %s", r.code, r.stderr)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &sent); err != nil || sent["status"] != "Pending" {
		t.Fatalf("send --json = %s", r.stdout)
	}
	id := sent["id"].(string)
	r = run(t, "", "--config", cfg, "command", "status", id, "--wait", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"Success"`) {
		t.Fatalf("status --wait: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--config", cfg, "command", "send", "WBA5R1C51KAJ00000", "lock_door")
	if r.code != ExitFailure {
		t.Errorf("unknown VIN: exit %d", r.code)
	}
	oneLine(t, r, "VIN not found")
}

func TestSandboxWhenUnconfigured(t *testing.T) {
	isolate(t)
	r := run(t, "", "vehicles", "list")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "SANDBOX") || !strings.Contains(r.stdout, "WBA5R1C51KAJ98123") {
		t.Errorf("no config: stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestPlatformCheck(t *testing.T) {
	isolate(t)
	sb, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "platform", "check", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"ok"`) {
		t.Fatalf("check: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	sb.Faults().Platform503Burst(100)
	r = run(t, "", "--config", cfg, "platform", "check")
	if r.code != ExitFailure || strings.Contains(strings.ToLower(r.stderr), "invalid") || !strings.Contains(r.stderr, "verif") {
		t.Fatalf("503: exit %d: stderr %q", r.code, r.stderr)
	}
}

func TestPlatformLogin(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	keyFile := filepath.Join(filepath.Dir(cfg), "platform.key")
	before, _ := os.ReadFile(keyFile)
	os.Chmod(keyFile, 0o600)
	pw, err := os.ReadFile(filepath.Join(filepath.Dir(cfg), "platform.password"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, strings.TrimSpace(string(pw))+"\n1\n", "--config", cfg, "platform", "login", "--email", sandbox.DemoEmail, "--password-stdin")
	if r.code != 0 {
		t.Fatalf("login: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	after, _ := os.ReadFile(keyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v (%v)", fi.Mode().Perm(), err)
	}
	if bytes.Equal(before, after) || len(bytes.TrimSpace(after)) == 0 {
		t.Fatal("login did not save a new key")
	}
	if strings.Contains(r.stdout+r.stderr, strings.TrimSpace(string(after))) {
		t.Error("login printed the key without --show")
	}
	if !strings.Contains(r.stdout, "verified") {
		t.Errorf("login did not verify the new key: %s", r.stdout)
	}
}

func TestMutationsAreJournaled(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	const v = "WBA5R1C51KAJ98123"
	if r := run(t, "", "--config", cfg, "vehicles", "add", "WBA5R1C51KAJ22222", "--brand", "bmw"); r.code != 0 {
		t.Fatalf("add: %d %s", r.code, r.stderr)
	}
	r := run(t, "", "--config", cfg, "command", "send", v, "enable_ignition", "--json")
	var conf map[string]any
	json.Unmarshal([]byte(r.stdout), &conf)
	code, _ := conf["code"].(string)
	if r.code != ExitNeedsCode || len(code) != 6 {
		t.Fatalf("step one: %d %s", r.code, r.stdout)
	}
	if r := run(t, "", "--config", cfg, "command", "send", v, "enable_ignition", "--code", code, "--wait"); r.code != 0 {
		t.Fatalf("step two: %d %s", r.code, r.stderr)
	}
	if r := run(t, "", "--config", cfg, "vehicles", "revoke", v); r.code != 0 {
		t.Fatalf("revoke: %d %s", r.code, r.stderr)
	}

	r = run(t, "", "--config", cfg, "audit", "--json")
	if r.code != 0 {
		t.Fatalf("audit: %d %s", r.code, r.stderr)
	}
	for _, want := range []string{"clearance.add", "command.confirmation", "command.confirm", "clearance.revoke", "Success", "WBA5R1C51KAJ22222"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("journal lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := run(t, "", "--config", cfg, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Errorf("verify: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// The journal is the sandbox's own, and no file of it holds the code.
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(cfg), "audit.db*"))
	if len(matches) == 0 {
		t.Fatal("no journal beside the sandbox's config")
	}
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		if bytes.Contains(b, []byte(code)) {
			t.Errorf("%s holds the confirmation code", filepath.Base(m))
		}
	}
}

func TestSandboxBrandTakesEmulatorVINs(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	// Document 000's own VIN holds an O: fine for brand sandbox, not for bmw.
	r := run(t, "", "--config", cfg, "vehicles", "eligibility", "1HMSJBPPO6X2VVVP5", "--brand", "sandbox")
	if r.code != 0 {
		t.Errorf("sandbox VIN with O: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, "", "--config", cfg, "vehicles", "eligibility", "1HMSJBPPO6X2VVVP5", "--brand", "bmw")
	if r.code != ExitFailure {
		t.Errorf("bmw VIN with O: exit %d", r.code)
	}
	oneLine(t, r, "invalid VIN")
}

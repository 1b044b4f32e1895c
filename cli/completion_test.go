package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// completion is what `fleetdeck __complete ARGS…` printed: the candidates
// (without their descriptions), the descriptions by candidate, and the
// directive.
type completion struct {
	values    []string
	desc      map[string]string
	directive cobra.ShellCompDirective
	stdout    string
}

// complete asks cobra's hidden __complete command, as the shell scripts do;
// the last arg is the word being completed.
func complete(t *testing.T, args ...string) completion {
	t.Helper()
	r := run(t, "", append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.stderr)
	}
	c := completion{desc: map[string]string{}, stdout: r.stdout}
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %q: no directive line:\n%s", args, r.stdout)
	}
	d, err := strconv.Atoi(last[1:])
	if err != nil {
		t.Fatal(err)
	}
	c.directive = cobra.ShellCompDirective(d)
	for _, l := range lines[:len(lines)-1] {
		v, desc, _ := strings.Cut(l, "\t")
		c.values = append(c.values, v)
		c.desc[v] = desc
	}
	return c
}

func (c completion) has(vs ...string) bool {
	for _, v := range vs {
		if !slices.Contains(c.values, v) {
			return false
		}
	}
	return true
}

func TestCompletionScripts(t *testing.T) {
	isolate(t)
	for shell, marker := range map[string]string{
		"bash": "complete -o default -F __start_fleetdeck fleetdeck",
		"zsh":  "#compdef fleetdeck",
		"fish": "complete -c fleetdeck",
	} {
		r := run(t, "", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, marker) || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s: exit %d, %d bytes, marker %q found: %v", shell, r.code, len(r.stdout), marker, strings.Contains(r.stdout, marker))
		}
	}
}

// VINs come from the cache the last `vehicles list` left, even with the API
// gone, filtered by what each command can act on.
func TestCompleteVINsFromTheLastList(t *testing.T) {
	isolate(t)
	sb, cfg := startSandbox(t)
	if r := run(t, "", "--config", cfg, "vehicles", "list"); r.code != 0 {
		t.Fatalf("list: %d %s", r.code, r.stderr)
	}
	sb.Close() // from here on, only the cache can answer

	path, err := vinCachePath(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file %s: %v, %v", path, fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache dir: %v, %v", fi, err)
	}

	c := complete(t, "--config", cfg, "vehicles", "show", "")
	if !c.has("WBA5R1C51KAJ98123", "1HMSJBPPO6X2VVVP5", "VF1RJA00X63123491") || c.directive != cobra.ShellCompDirectiveNoFileComp {
		t.Fatalf("show: %q directive %d", c.values, c.directive)
	}
	if d := c.desc["WBA5R1C51KAJ98123"]; d != "bmw · approved" {
		t.Errorf("description %q", d)
	}
	if c := complete(t, "--config", cfg, "vehicles", "show", "wba"); !slices.Equal(c.values, []string{"WBA5R1C51KAJ98123"}) {
		t.Errorf("show wba: %q", c.values)
	}
	if c := complete(t, "--config", cfg, "vehicles", "show", "WBA5R1C51KAJ98123", ""); len(c.values) != 0 {
		t.Errorf("show takes one VIN, offered %q", c.values)
	}
	for _, tc := range []struct {
		args   []string
		allow  []string // statuses offered
		forbid string   // a VIN that must not be offered
	}{
		{[]string{"vehicles", "revoke", ""}, []string{"approved", "pending"}, ""},
		{[]string{"command", "send", ""}, []string{"approved"}, "VF1RJA00X63123491"},
		{[]string{"telemetry", "tail", "--vehicle", ""}, []string{"approved"}, "VF1RJA00X63123491"},
		{[]string{"audit", "--vin", ""}, nil, ""},
		{[]string{"vehicles", "eligibility", ""}, nil, ""},
	} {
		c := complete(t, append([]string{"--config", cfg}, tc.args...)...)
		if len(c.values) == 0 || (tc.forbid != "" && c.has(tc.forbid)) {
			t.Errorf("%q: %q", tc.args, c.values)
		}
		for v, d := range c.desc {
			_, status, _ := strings.Cut(d, " · ")
			if tc.allow != nil && !slices.Contains(tc.allow, status) {
				t.Errorf("%q offers %s (%s)", tc.args, v, status)
			}
		}
	}
	c = complete(t, "--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "")
	if !slices.Equal(c.values, []string{"lock_door", "unlock_door", "location", "diagnostics", "enable_ignition", "disable_ignition"}) {
		t.Errorf("command names: %q", c.values)
	}
	if c := complete(t, "--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "di"); !slices.Equal(c.values, []string{"diagnostics", "disable_ignition"}) {
		t.Errorf("command names di: %q", c.values)
	}
}

// A stale cache is refreshed with one bounded call: an API that never
// answers costs completionFetchTimeout once, then the stale list is the
// answer without asking again for vinCacheRetry.
func TestCompletionFetchIsBounded(t *testing.T) {
	isolate(t)
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	cfg := writeConfig(t, t.TempDir(), srv.URL)
	path, err := vinCachePath(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := writeVINCache(path, vinCache{Config: cfg, Written: old, Tried: old,
		Vehicles: []cachedVehicle{{VIN: "WBA5R1C51KAJ98123", Brand: "bmw", Status: "approved"}}}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	c := complete(t, "--config", cfg, "vehicles", "show", "")
	took := time.Since(began)
	if !slices.Equal(c.values, []string{"WBA5R1C51KAJ98123"}) {
		t.Errorf("stale cache not offered: %q", c.values)
	}
	if calls.Load() == 0 {
		t.Error("a stale cache did not make the completion ask the API")
	}
	if took < completionFetchTimeout || took > completionFetchTimeout+5*time.Second {
		t.Errorf("completion took %s; want the %s bound", took, completionFetchTimeout)
	}
	n := calls.Load()
	began = time.Now()
	c = complete(t, "--config", cfg, "vehicles", "show", "")
	if calls.Load() != n || !slices.Equal(c.values, []string{"WBA5R1C51KAJ98123"}) {
		t.Errorf("second completion within %s asked again (%d calls) or lost the list: %q", vinCacheRetry, calls.Load()-n, c.values)
	}
	if took := time.Since(began); took >= completionFetchTimeout {
		t.Errorf("second completion waited %s", took)
	}
}

// No cache yet: the completion lists the fleet itself (bounded) and keeps it.
func TestCompletionFetchesWithoutACache(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	c := complete(t, "--config", cfg, "vehicles", "show", "")
	if !c.has("WBA5R1C51KAJ98123") {
		t.Fatalf("no VINs: %q", c.values)
	}
	path, _ := vinCachePath(cfg, "")
	cache, fresh, err := readVINCache(path, time.Now())
	if err != nil || !fresh || len(cache.Vehicles) != len(c.values) {
		t.Errorf("cache after the fetch: fresh %v, %d vehicles, %v", fresh, len(cache.Vehicles), err)
	}
}

// Without a config, a completion reads the embedded sandbox's cache and
// never starts the simulators.
func TestCompletionNeverStartsTheSandbox(t *testing.T) {
	isolate(t)
	var out, errb bytes.Buffer
	app := NewApp(strings.NewReader(""), &out, &errb)
	root := NewRootCmd(app)
	root.SetArgs([]string{"--log-file", filepath.Join(t.TempDir(), "log"), "__complete", "vehicles", "show", ""})
	if err := root.ExecuteContext(app.Context()); err != nil {
		t.Fatal(err)
	}
	if app.Sandbox() != nil {
		t.Error("a completion started the embedded sandbox")
	}
	app.Close()
	if strings.TrimSpace(out.String()) != ":4" {
		t.Errorf("offered %q without a cache", out.String())
	}

	if r := run(t, "", "vehicles", "list"); r.code != 0 { // the embedded sandbox's listing
		t.Fatal(r.stderr)
	}
	if c := complete(t, "vehicles", "show", "WBA"); !c.has("WBA5R1C51KAJ98123") {
		t.Errorf("embedded sandbox's cache not used: %q", c.values)
	}
}

// One cache per configuration: a profile's fleet never shows up for another.
func TestVINCacheIsKeyedByConfiguration(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "ops.toml"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--config", cfg}, {"--config", cfg, "--profile", "ops"}} {
		if r := run(t, "", append(args, "vehicles", "list")...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "fleetdeck", "vehicles-*.json"))
	var names []string
	for _, m := range matches {
		names = append(names, filepath.Base(m))
	}
	if len(names) != 2 || !strings.HasPrefix(names[0], "vehicles-default-") || !strings.HasPrefix(names[1], "vehicles-ops-") {
		t.Errorf("cache files %q", names)
	}
	a, _ := vinCachePath("/a/config.toml", "")
	b, _ := vinCachePath("/b/config.toml", "")
	e, _ := vinCachePath("", "")
	if a == b || a == e || filepath.Base(e) != "vehicles-sandbox.json" {
		t.Errorf("paths %s %s %s", a, b, e)
	}
}

func TestVINCacheFile(t *testing.T) {
	isolate(t)
	path := filepath.Join(t.TempDir(), "c", "v.json")
	now := time.Now()
	if err := writeVINCache(path, vinCache{Written: now.Add(-time.Minute), Vehicles: []cachedVehicle{
		{VIN: "WBA5R1C51KAJ98123", Brand: "bmw", Status: "approved"},
		{VIN: "WBA5R1C51KAJ\t9812", Brand: "bmw", Status: "approved"}, // would split a completion line
		{VIN: "1HMSJBPPO6X2VVVP5", Brand: "sand\x1b[31mbox", Status: "pending"},
	}}); err != nil {
		t.Fatal(err)
	}
	c, fresh, err := readVINCache(path, now)
	if err != nil || !fresh || len(c.Vehicles) != 2 || c.Vehicles[1].Brand != "sandbox" {
		t.Errorf("read: %+v fresh %v err %v", c, fresh, err)
	}
	if _, fresh, _ := readVINCache(path, now.Add(vinCacheTTL)); fresh {
		t.Error("a cache older than the TTL is fresh")
	}
	if _, fresh, _ := readVINCache(path, now.Add(-time.Hour)); fresh {
		t.Error("a cache from the future is fresh")
	}
	if c, fresh, err := readVINCache(filepath.Join(t.TempDir(), "none.json"), now); err != nil || fresh || len(c.Vehicles) != 0 {
		t.Error("a missing cache is not simply empty")
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, fresh, err := readVINCache(path, now); err == nil || fresh {
		t.Error("a broken cache was read")
	}
	// A planted symlink is replaced, not followed.
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := writeVINCache(path, vinCache{Written: now}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Error("the cache wrote through a symlink")
	}
}

func TestCompleteFlagValues(t *testing.T) {
	isolate(t)
	c := complete(t, "vehicles", "list", "--status", "")
	if len(c.values) != 7 || !c.has("approved", "pending", "revoking", "revoked", "rejected", "canceling", "canceled") || c.desc["approved"] == "" {
		t.Errorf("--status: %q", c.values)
	}
	if c := complete(t, "vehicles", "list", "--status", "cancel"); !slices.Equal(c.values, []string{"canceling", "canceled"}) {
		t.Errorf("--status cancel: %q", c.values)
	}
	c = complete(t, "vehicles", "list", "--brand", "")
	if !c.has("bmw", "mercedes-benz", "sandbox", "volvo-cars") || c.directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("--brand: %q %d", c.values, c.directive)
	}
	c = complete(t, "vehicles", "add", "W1KZF8DB1LA999874", "--brand", "")
	if len(c.values) < 2 || c.values[0] != "mercedes-benz" || c.desc["mercedes-benz"] != "from the VIN (W1K)" ||
		c.directive != cobra.ShellCompDirectiveNoFileComp|cobra.ShellCompDirectiveKeepOrder {
		t.Errorf("add --brand with a VIN: %q %d", c.values[:min(3, len(c.values))], c.directive)
	}
	if c := complete(t, "vehicles", "eligibility", "VSSZZZ5FZLR000001", "--brand", ""); !slices.Equal(c.values[:2], []string{"seat", "cupra"}) {
		t.Errorf("eligibility --brand: %q", c.values[:2])
	}
	if c := complete(t, "vehicles", "add", "--unit", ""); !slices.Equal(c.values, []string{"kilometers", "miles"}) {
		t.Errorf("--unit: %q", c.values)
	}
	if c := complete(t, "vehicles", "add", "--from", ""); c.directive != cobra.ShellCompDirectiveFilterFileExt || !c.has("csv", "txt") {
		t.Errorf("--from: %q %d", c.values, c.directive)
	}
	if c := complete(t, "--config", ""); c.directive != cobra.ShellCompDirectiveFilterFileExt || !c.has("toml") {
		t.Errorf("--config: %q %d", c.values, c.directive)
	}
	if c := complete(t, "help", "vehicles", "l"); !slices.Equal(c.values, []string{"list"}) {
		t.Errorf("help vehicles l: %q", c.values)
	}
	// Arguments are never files.
	for _, args := range [][]string{{"vehicles", "list", ""}, {"audit", "verify", ""}, {"command", "status", ""}, {"sandbox", ""}} {
		if c := complete(t, args...); len(c.values) != 0 || c.directive != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("%q: %q directive %d", args, c.values, c.directive)
		}
	}
}

func TestCompleteProfiles(t *testing.T) {
	isolate(t)
	dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "fleetdeck")
	for _, name := range []string{"config.toml", "prod.toml", "staging.toml", "bad name.toml", "notes.txt"} {
		writeFileT(t, filepath.Join(dir, name))
	}
	os.Mkdir(filepath.Join(dir, "dir.toml"), 0o700)
	if c := complete(t, "--profile", ""); !slices.Equal(c.values, []string{"prod", "staging"}) {
		t.Errorf("--profile: %q", c.values)
	}
	if c := complete(t, "vehicles", "list", "--profile", "st"); !slices.Equal(c.values, []string{"staging"}) {
		t.Errorf("--profile st: %q", c.values)
	}
	// No config.toml yet: the profiles in the default directory still count.
	os.Remove(filepath.Join(dir, "config.toml"))
	if c := complete(t, "--profile", ""); !slices.Equal(c.values, []string{"prod", "staging"}) {
		t.Errorf("--profile without config.toml: %q", c.values)
	}
	// Beside another config file: that directory, without the file itself.
	other := t.TempDir()
	for _, name := range []string{"main.toml", "lab.toml"} {
		writeFileT(t, filepath.Join(other, name))
	}
	if c := complete(t, "--config", filepath.Join(other, "main.toml"), "--profile", ""); !slices.Equal(c.values, []string{"lab"}) {
		t.Errorf("--profile beside --config: %q", c.values)
	}
}

func writeFileT(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

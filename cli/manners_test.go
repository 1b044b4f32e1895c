package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
)

// unreachableConfig is a config whose fleet and command APIs refuse every
// connection: a command that fails with "connection refused" went to the
// network, one that fails otherwise was stopped before it.
func unreachableConfig(t *testing.T) string {
	t.Helper()
	return writeConfig(t, t.TempDir(), "http://127.0.0.1:1")
}

// writeConfig writes dir/config.toml with the fleet API at base+"/v1" and
// the command API at base, and the credentials they need.
func writeConfig(t *testing.T, dir, base string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := json.Marshal(map[string]string{
		"id": "test", "inserted_at": "2024-01-01T00:00:00Z",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"sa.json": sa, "commands.token": []byte("t"), "commands.secret": []byte("s"),
		"config.toml": []byte(`[fleet]
base_url = "` + base + `/v1"
service_account = "sa.json"

[commands]
base_url = "` + base + `"
token_file = "commands.token"
sign_secret_file = "commands.secret"

[audit]
path = "audit.db"
`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "config.toml")
}

// Design.md §3: 0 ok, 1 failure, 2 usage, 3 a code is awaited. Every usage
// error is one line on stderr that names the mistake and, where one is
// near, what was meant.
func TestExitCodesAndSuggestions(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	down := unreachableConfig(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // on stderr (stdout for exit 0 and 3)
	}{
		{"list", []string{"--config", cfg, "vehicles", "list"}, ExitOK, []string{"WBA5R1C51KAJ98123"}},
		{"a group alone prints its help", []string{"vehicles"}, ExitOK, []string{"Available Commands:", "list"}},
		{"typo in a subcommand", []string{"vehicles", "lst"}, ExitUsage, []string{`unknown command "lst" for "fleetdeck vehicles"`, `did you mean "list"?`}},
		{"typo before a flag the group lacks", []string{"--config", cfg, "vehicles", "lst", "--status", "approved"}, ExitUsage, []string{`unknown command "lst"`, `did you mean "list"?`}},
		{"singular group", []string{"vehicle", "list"}, ExitUsage, []string{`unknown command "vehicle" for "fleetdeck"`, `did you mean "vehicles"?`}},
		{"synonym", []string{"journal"}, ExitUsage, []string{`did you mean "audit"?`}},
		{"help of a typo", []string{"help", "vehicles", "lst"}, ExitUsage, []string{`unknown command "lst" for "fleetdeck vehicles"`, `did you mean "list"?`}},
		{"help of a group", []string{"help", "vehicles"}, ExitOK, []string{"Available Commands:", "eligibility"}},
		{"unknown word, nothing near", []string{"command", "xyzzy"}, ExitUsage, []string{`unknown command "xyzzy" for "fleetdeck command"`}},
		{"completion typo", []string{"completion", "zhs"}, ExitUsage, []string{`did you mean "zsh"`}},
		{"status typo", []string{"--config", cfg, "vehicles", "list", "--status", "aproved"}, ExitUsage,
			[]string{`unknown --status "aproved"`, `did you mean "approved"?`, "valid: approved, canceled, canceling, pending, rejected, revoked, revoking)"}},
		{"brand prefix", []string{"--config", cfg, "vehicles", "list", "--brand", "mercedes"}, ExitUsage,
			[]string{`unknown --brand "mercedes"`, `did you mean "mercedes-benz"?`, "bmw", "volvo-cars"}},
		{"brand typo", []string{"--config", cfg, "vehicles", "list", "--brand", "porshe"}, ExitUsage, []string{`did you mean "porsche"?`}},
		{"command typo", []string{"--config", down, "command", "send", "WBA5R1C51KAJ98123", "lock_dor"}, ExitUsage,
			[]string{`unknown command "lock_dor"`, `did you mean "lock_door"?`, "--any-command"}},
		{"json and csv", []string{"--config", cfg, "vehicles", "list", "--json", "--csv"}, ExitUsage, []string{"[json csv]"}},
		{"audit json and csv", []string{"audit", "--json", "--csv"}, ExitUsage, []string{"[json csv]"}},
		{"add without a brand", []string{"--config", down, "vehicles", "add", "W1KZF8DB1LA999874"}, ExitUsage,
			[]string{"--brand is required", "the manufacturer code W1K suggests --brand mercedes-benz"}},
		{"eligibility without a brand", []string{"--config", down, "vehicles", "eligibility", "WBA5R1C51KAJ98123"}, ExitUsage,
			[]string{"suggests --brand bmw"}},
		{"show checks the VIN before the network", []string{"--config", down, "vehicles", "show", "WBA123"}, ExitFailure,
			[]string{`invalid VIN "WBA123": must be 17 characters`}},
		{"revoke checks the VIN before the network", []string{"--config", down, "vehicles", "revoke", "WBA5R1C51KAJ9812-"}, ExitFailure,
			[]string{"invalid VIN", "character 17"}},
		{"show of a VIN not in the fleet", []string{"--config", cfg, "vehicles", "show", "WBADT43452G296403"}, ExitFailure, []string{"404"}},
		{"ignition step one", []string{"--config", cfg, "command", "send", "WBA5R1C51KAJ98123", "enable_ignition"}, ExitNeedsCode,
			[]string{"Confirmation code: ", "To execute: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout %s\nstderr %s", r.code, tc.code, r.stdout, r.stderr)
			}
			out := r.stderr
			if tc.code == ExitOK || tc.code == ExitNeedsCode {
				out = r.stdout
			} else {
				oneLine(t, r, tc.want[0])
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(r.stderr, "connection refused") {
				t.Errorf("a local mistake reached the network: %s", r.stderr)
			}
		})
	}
}

// --status and --brand take what the fleet API documents or what some
// vehicle holds; a documented value nobody holds is an empty table, exit 0.
func TestListFiltersTakeDocumentedAndSeenValues(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "vehicles", "list", "--brand", "KIA", "--status", "Approved", "--json")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("documented but absent: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--config", cfg, "vehicles", "list", "--brand", " BMW ", "--status", "approved", "--json")
	var got []vehicleJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || len(got) == 0 {
		t.Fatalf("bmw approved: exit %d %v %s", r.code, err, r.stderr)
	}
	for _, v := range got {
		if v.Brand != "bmw" || v.Status != "approved" {
			t.Errorf("filter let %+v through", v)
		}
	}

	cmd := &cobra.Command{Use: "list"}
	vs := []fleet.Vehicle{{VIN: "WBA5R1C51KAJ98123", Brand: "Trabant", Status: "parked"}}
	field := func(v fleet.Vehicle) string { return v.Brand }
	if err := checkFilter(cmd, "--brand", "trabant", fleet.Brands(), vs, field); err != nil {
		t.Errorf("a brand the fleet holds was refused: %v", err)
	}
	if err := checkFilter(cmd, "--status", "parked", statusNames(), vs, func(v fleet.Vehicle) string { return string(v.Status) }); err != nil {
		t.Errorf("a status the fleet holds was refused: %v", err)
	}
	err := checkFilter(cmd, "--brand", "trabnt", fleet.Brands(), vs, field)
	if err == nil || !strings.Contains(err.Error(), `did you mean "trabant"?`) || !strings.Contains(err.Error(), "toyota, trabant, vauxhall") {
		t.Errorf("unknown brand: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		cand []string
		want string
	}{
		{"aproved", statusNames(), "approved"},
		{"CANCELLED", statusNames(), "canceled,canceling"},
		{"lock_dor", []string{"lock_door", "unlock_door", "location"}, "lock_door"},
		{"lock", []string{"lock_door", "unlock_door", "location"}, "lock_door,unlock_door"},
		{"benz", fleet.Brands(), "mercedes-benz"},
		{"alfa-romeo", fleet.Brands(), "alfaromeo"},
		{"volvo", fleet.Brands(), "volvo-cars"},
		{"xyzzy", fleet.Brands(), ""},
		{"bmw", fleet.Brands(), ""}, // exact: nothing to suggest
		{"", fleet.Brands(), ""},
	} {
		if got := strings.Join(suggest(tc.in, tc.cand), ","); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := len(suggest("a", []string{"ab", "ac", "ad", "ae", "af"})); n != maxSuggestions {
		t.Errorf("%d suggestions, want at most %d", n, maxSuggestions)
	}
}

// An unknown command name never reaches the API unless --any-command says
// so; then it is sent as typed and journaled.
func TestAnyCommand(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	const v = "WBA5R1C51KAJ98123"
	if r := run(t, "", "--config", cfg, "command", "send", v, "open_trunk"); r.code != ExitUsage {
		t.Fatalf("unknown name: exit %d %s", r.code, r.stderr)
	}
	r := run(t, "", "--config", cfg, "audit", "--json")
	if strings.Contains(r.stdout, "open_trunk") {
		t.Errorf("a refused command was journaled (so it was about to be sent):\n%s", r.stdout)
	}
	// The sandbox, like mobway, answers a command it does not offer with a 404.
	r = run(t, "", "--config", cfg, "command", "send", v, "open_trunk", "--any-command")
	if r.code != ExitFailure || !strings.Contains(r.stderr, "send open_trunk to "+v) || !strings.Contains(r.stderr, "HTTP 404") {
		t.Fatalf("--any-command: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--config", cfg, "audit", "--json")
	if !strings.Contains(r.stdout, "open_trunk") {
		t.Errorf("the command sent with --any-command is not in the journal:\n%s", r.stdout)
	}
}

// A pending clearance is cancelled: the CLI and the journal say so. An
// approved one is revoked.
func TestCancelIsNotRevoke(t *testing.T) {
	isolate(t)
	_, cfg := startSandboxStepping(t, time.Minute)
	list := run(t, "", "--config", cfg, "vehicles", "list", "--status", "pending", "--json")
	var all, pending []vehicleJSON
	if err := json.Unmarshal([]byte(list.stdout), &all); err != nil {
		t.Fatalf("%v %s", err, list.stdout)
	}
	// High Mobility cancels pending activations of some brands only.
	for _, v := range all {
		if fleetsim.CanCancel(v.Brand) {
			pending = append(pending, v)
		}
	}
	if len(pending) < 2 {
		t.Fatalf("the sandbox has no two pending vehicles of brands that can be canceled: %s", list.stdout)
	}
	r := run(t, "", "--config", cfg, "vehicles", "revoke", pending[0].VIN)
	if r.code != 0 || !strings.Contains(r.stdout, pending[0].VIN+": cancellation requested; status now cancel") || strings.Contains(r.stdout, "revo") {
		t.Fatalf("cancel: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "", "--config", cfg, "vehicles", "revoke", pending[1].VIN, "--json")
	var out map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out["action"] != "cancel" {
		t.Fatalf("cancel --json: %s (%v)", r.stdout, err)
	}
	r = run(t, "", "--config", cfg, "vehicles", "revoke", "WBA5R1C51KAJ98123")
	if r.code != 0 || !strings.Contains(r.stdout, "revocation requested") {
		t.Fatalf("revoke: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	// Cancelling again: the API refuses, and the error says cancel.
	r = run(t, "", "--config", cfg, "vehicles", "revoke", pending[0].VIN)
	if r.code != ExitFailure {
		t.Errorf("second cancel: exit %d", r.code)
	}

	r = run(t, "", "--config", cfg, "audit", "--json")
	var recs []auditRecordJSON
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatal(err)
	}
	actions := map[string]string{}
	for _, rec := range recs {
		actions[rec.VIN+" "+string(rec.Action)] = rec.Result
	}
	if got := actions[pending[0].VIN+" clearance.cancel"]; got != "cancellation requested" {
		t.Errorf("journal: cancel of %s recorded as %q (%v)", pending[0].VIN, got, actions)
	}
	if got := actions["WBA5R1C51KAJ98123 clearance.revoke"]; got != "revocation requested" {
		t.Errorf("journal: revoke recorded as %q", got)
	}
	if r := run(t, "", "--config", cfg, "audit", "verify"); r.code != 0 {
		t.Errorf("verify: %d %s", r.code, r.stderr)
	}
}

// A config the sandbox wrote (sandbox = true) is a sandbox, but it was named:
// no "no config found" notice.
func TestSandboxConfigIsNotTheEmbeddedOne(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "vehicles", "list")
	if r.code != 0 || strings.Contains(r.stderr, "no config found") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// Every brand the VIN's manufacturer code contradicts, or the API does not
// document, is a warning; the request still goes out.
func TestAddWarnsAboutBrands(t *testing.T) {
	isolate(t)
	_, cfg := startSandbox(t)
	r := run(t, "", "--config", cfg, "vehicles", "add", "WBA5R1C51KAJ22222", "--brand", "audi", "--json")
	if r.code != 0 || !strings.Contains(r.stderr, "its manufacturer code WBA is bmw's, not audi's") {
		t.Errorf("mismatch: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, `its manufacturer code WBA is bmw's, not audi's"`) {
		t.Errorf("--json lacks the warning: %s", r.stdout)
	}
	if w := brandWarning("WBA5R1C51KAJ22222", "bmv"); !strings.Contains(w, `not one the fleet API documents; did you mean "bmw"?`) {
		t.Errorf("unknown brand: %q", w)
	}
	for _, ok := range [][2]string{{"WBA5R1C51KAJ22222", "bmw"}, {"1HMSJBPPO6X2VVVP5", "sandbox"}, {"WBA5R1C51KAJ22222", "sandbox"}, {"11111111111111111", "kia"}} {
		if w := brandWarning(ok[0], ok[1]); w != "" {
			t.Errorf("brandWarning(%s, %s) = %q", ok[0], ok[1], w)
		}
	}
}

package commandsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/testlog"
	"github.com/fleetdeck/fleetdeck/sandbox/internal/simclock"
)

const (
	testToken  = "company-bearer-token"
	testSecret = "YOUR_SIGN_SECRET_PROVIDED_BY_MOBWAY"
	testVIN    = "6AHFT68CKAF501652"
)

type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *simclock.Clock
}

// newEnv starts a Server behind a loopback httptest server. Zero fields of o
// get test defaults: the test token and secret, a 20 ms delay, a fake clock.
func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	c := simclock.New(time.Date(2023, 2, 14, 12, 51, 48, 0, time.UTC))
	if o.Token == "" {
		o.Token = testToken
	}
	if o.SignSecret == "" {
		o.SignSecret = testSecret
	}
	if o.Delay == 0 {
		o.Delay = 20 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = c.Now
	}
	s := New(o)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, srv: s, ts: ts, clock: c}
}

// testSign is the test's own signer: for plain ASCII values Go's %q and
// Python's json.dumps agree, so the body can be written out literally.
func testSign(secret, vin, command string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, `{"command":%q,"vin":%q}`, command, vin)
	return hex.EncodeToString(mac.Sum(nil))
}

func (e *env) do(method, path, body string, header map[string]string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("%s %s: body is not a JSON object: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func (e *env) post(body, signature string) (int, map[string]any) {
	e.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + testToken}
	if signature != "" {
		h["X-Signature"] = signature
	}
	return e.do(http.MethodPost, "/vehicle-command", body, h)
}

// send posts a correctly signed command; code "" leaves the field out.
func (e *env) send(vin, command, code string) (int, map[string]any) {
	e.t.Helper()
	fields := map[string]string{"vin": vin, "command": command}
	if code != "" {
		fields["code"] = code
	}
	body, err := json.Marshal(fields)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(string(body), testSign(testSecret, vin, command))
}

func (e *env) status(id string) (int, map[string]any) {
	e.t.Helper()
	return e.do(http.MethodGet, "/vehicle-command/"+id, "", map[string]string{"Authorization": "Bearer " + testToken})
}

// waitTerminal polls GET /vehicle-command/{id} until Success or Error.
func (e *env) waitTerminal(id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		code, body := e.status(id)
		if code != http.StatusOK {
			e.t.Fatalf("status %s: HTTP %d %v", id, code, body)
		}
		if s := body["status"]; s == StatusSuccess || s == StatusError {
			return body
		}
		if s := body["status"]; s != StatusPending {
			e.t.Fatalf("status %s: %q, want Pending before the end", id, s)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("command %s still Pending after 3s", id)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantDetail(t *testing.T, gotStatus int, body map[string]any, wantStatus int, detail string) {
	t.Helper()
	if gotStatus != wantStatus || body["detail"] != detail {
		t.Fatalf("got HTTP %d %v, want HTTP %d detail %q", gotStatus, body, wantStatus, detail)
	}
}

type vector struct {
	Secret        string `json:"secret"`
	VIN           string `json:"vin"`
	Command       string `json:"command"`
	CanonicalBody string `json:"canonical_body"`
	Signature     string `json:"signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	// The same Python-made vectors the client's signer is tested against
	// (clients/commands/testdata/README.md says where they come from).
	raw, err := os.ReadFile("../../clients/commands/testdata/command_signature_vectors.json")
	if err != nil {
		t.Fatalf("signature vectors: %v", err)
	}
	var f struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	return f.Vectors
}

func TestCanonicalMatchesPythonVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		rawVIN, _ := json.Marshal(v.VIN) // Go escapes <>& and U+2028 differently: decoding must not care
		rawCmd, _ := json.Marshal(v.Command)
		vinUnits, ok1 := decodeJSONString(rawVIN)
		cmdUnits, ok2 := decodeJSONString(rawCmd)
		if !ok1 || !ok2 {
			t.Fatalf("decode %q / %q failed", rawVIN, rawCmd)
		}
		if got := string(canonical(vinUnits, cmdUnits)); got != v.CanonicalBody {
			t.Errorf("canonical(%q, %q) = %s, want %s", v.VIN, v.Command, got, v.CanonicalBody)
		}
	}
}

func TestCanonicalEdgeCases(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`"\ud800x"`, `"\ud800x"`},           // a lone surrogate survives, as in Python
		{"\"\x7f\"", `"\u007f"`},             // DEL is outside ' '..'~'
		{`"\/"`, `"/"`},                      // solidus is never escaped on output
		{`"\u00E9é"`, `"\u00e9\u00e9"`},      // lower-case hex, escaped or not on input
		{"\"\U0001F697\"", `"\ud83d\ude97"`}, // surrogate pair above U+FFFF
		{`"\b\f\r"`, `"\b\f\r"`},
	}
	for _, c := range cases {
		units, ok := decodeJSONString([]byte(c.raw))
		if !ok {
			t.Fatalf("decode %s failed", c.raw)
		}
		if got := string(appendPyString(nil, units)); got != c.want {
			t.Errorf("%s → %s, want %s", c.raw, got, c.want)
		}
	}
	for _, bad := range []string{`123`, `null`, `"abc`, "\"a\x01b\"", `"\x"`, `"\u12"`, "\"\xff\""} {
		if _, ok := decodeJSONString([]byte(bad)); ok {
			t.Errorf("decode %q succeeded, want refusal", bad)
		}
	}
}

func TestSignatureVectorsAccepted(t *testing.T) {
	for _, v := range loadVectors(t) {
		e := newEnv(t, Options{SignSecret: v.Secret, Commands: append(DefaultCommands(), "lock_doors")})
		if v.Secret == "" { // the empty secret vector: the server must accept an empty key too
			e.srv.secret = nil
		}
		code, body := e.post(v.CanonicalBody, v.Signature)
		switch {
		case v.VIN == "":
			wantDetail(t, code, body, http.StatusBadRequest, "Invalid VIN. VIN must be a string. At least one VIN is required.")
		case slices.Contains(append(DefaultCommands(), "lock_doors"), v.Command):
			if code != http.StatusOK || (body["status"] != "Pending" && body["status"] != "Confirmation") {
				t.Errorf("vector %q/%q: HTTP %d %v, want accepted", v.VIN, v.Command, code, body)
			}
		default: // the signature passed; the command is simply not offered
			wantDetail(t, code, body, http.StatusNotFound, "Command not found or unauthorized access.")
		}
	}
}

func TestSignatureOverParsedValuesNotRawBytes(t *testing.T) {
	e := newEnv(t, Options{})
	sig := "4077e5ef4f457df8905be26389d8a29bcba490bae29f232ca1706160cdc8b406" // vector: diagnostics
	body := ` { "vin" : "6AHFT68CKAF501652" , "command" : "\u0064iagnostics" } `
	code, resp := e.post(body, sig)
	if code != http.StatusOK || resp["status"] != "Pending" || resp["command"] != "diagnostics" {
		t.Fatalf("HTTP %d %v, want Pending", code, resp)
	}
}

func TestSignatureRefused(t *testing.T) {
	e := newEnv(t, Options{})
	body := `{"command":"diagnostics","vin":"6AHFT68CKAF501652"}`
	good := "4077e5ef4f457df8905be26389d8a29bcba490bae29f232ca1706160cdc8b406"

	code, resp := e.post(body, "")
	wantDetail(t, code, resp, http.StatusForbidden, "Sign-secret not found.")

	flipped := []byte(good)
	flipped[10] ^= 1
	code, resp = e.post(body, string(flipped))
	wantDetail(t, code, resp, http.StatusForbidden, "X-Signature invalid.")

	code, resp = e.post(body, strings.ToUpper(good)) // hexdigest is lower case; compared byte for byte
	wantDetail(t, code, resp, http.StatusForbidden, "X-Signature invalid.")

	// the signature of another command does not carry over
	code, resp = e.post(`{"command":"lock_door","vin":"6AHFT68CKAF501652"}`, good)
	wantDetail(t, code, resp, http.StatusForbidden, "X-Signature invalid.")

	// the code is not signed: adding it does not break a valid signature
	code, resp = e.post(`{"command":"diagnostics","vin":"6AHFT68CKAF501652","code":"123456"}`, good)
	if code != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("HTTP %d %v, want Pending", code, resp)
	}
}

func TestBearerToken(t *testing.T) {
	e := newEnv(t, Options{})
	body := `{"command":"diagnostics","vin":"6AHFT68CKAF501652"}`
	sig := testSign(testSecret, testVIN, "diagnostics")
	for name, h := range map[string]map[string]string{
		"missing": {"X-Signature": sig},
		"wrong":   {"X-Signature": sig, "Authorization": "Bearer not-the-token"},
		"basic":   {"X-Signature": sig, "Authorization": "Basic " + testToken},
	} {
		code, resp := e.do(http.MethodPost, "/vehicle-command", body, h)
		if code != http.StatusUnauthorized || resp["detail"] == "" || resp["detail"] == nil {
			t.Errorf("%s: HTTP %d %v, want 401 with a detail", name, code, resp)
		}
	}
	code, resp := e.do(http.MethodPost, "/vehicle-command", body, map[string]string{"X-Signature": sig, "Authorization": "bearer " + testToken})
	if code != http.StatusOK {
		t.Errorf("lower-case scheme: HTTP %d %v, want 200", code, resp)
	}
	code, resp = e.do(http.MethodGet, "/vehicle-command/"+fmt.Sprint(resp["id"]), "", nil)
	if code != http.StatusUnauthorized {
		t.Errorf("GET without token: HTTP %d %v, want 401", code, resp)
	}
}

func TestDocumentedDetails(t *testing.T) {
	e := newEnv(t, Options{Known: func(vin string) bool { return vin != "WDD2130041A000404" }})
	const (
		invalidVIN = "Invalid VIN. VIN must be a string. At least one VIN is required."
		invalidCmd = "Invalid command. Command must be a string. At least one command is required."
	)
	sig := testSign(testSecret, testVIN, "diagnostics")
	for _, c := range []struct {
		body, detail string
	}{
		{`{"command":"diagnostics"}`, invalidVIN},
		{`{"vin":17,"command":"diagnostics"}`, invalidVIN},
		{`{"vin":["6AHFT68CKAF501652"],"command":"diagnostics"}`, invalidVIN},
		{`{"vin":"","command":"diagnostics"}`, invalidVIN},
		{`{"VIN":"6AHFT68CKAF501652","command":"diagnostics"}`, invalidVIN}, // keys are case-sensitive
		{`{"vin":"6AHFT68CKAF501652"}`, invalidCmd},
		{`{"vin":"6AHFT68CKAF501652","command":null}`, invalidCmd},
		{`{"vin":"6AHFT68CKAF501652","command":{}}`, invalidCmd},
	} {
		code, resp := e.post(c.body, sig)
		wantDetail(t, code, resp, http.StatusBadRequest, c.detail)
	}

	code, resp := e.send("WDD2130041A000404", "lock_door", "")
	wantDetail(t, code, resp, http.StatusNotFound, "VIN not found or unauthorized access.")
	code, resp = e.send(testVIN, "open_trunk", "")
	wantDetail(t, code, resp, http.StatusNotFound, "Command not found or unauthorized access.")

	code, resp = e.send("WDD213004120"+FailSendSuffix, "lock_door", "")
	wantDetail(t, code, resp, http.StatusBadGateway, "Failed to send command to the OEM.")
	code, resp = e.send("WDD213004120"+FailInitiateSuffix, "diagnostics", "")
	wantDetail(t, code, resp, http.StatusBadGateway, "Failed to initiate command with the OEM or retrieve status URL.")

	// ignition on a failing VIN: the first step still asks for confirmation,
	// the OEM fails on the second, and the spent code restarts the flow
	failing := "WDD213004120" + FailSendSuffix
	code, resp = e.send(failing, "disable_ignition", "")
	if code != http.StatusOK || resp["status"] != "Confirmation" {
		t.Fatalf("HTTP %d %v, want Confirmation", code, resp)
	}
	c := resp["code"].(string)
	code, resp = e.send(failing, "disable_ignition", c)
	wantDetail(t, code, resp, http.StatusBadGateway, "Failed to send command to the OEM.")
	code, resp = e.send(failing, "disable_ignition", c)
	wantDetail(t, code, resp, http.StatusConflict, "Confirmation already used")

	code, resp = e.post(`not json`, sig)
	if code != http.StatusBadRequest || resp["detail"] == nil {
		t.Errorf("malformed body: HTTP %d %v, want 400 with a detail", code, resp)
	}
}

func TestRandomOEMFailures(t *testing.T) {
	e := newEnv(t, Options{FailureRate: 1})
	code, resp := e.send(testVIN, "location", "")
	if code != http.StatusBadGateway || (resp["detail"] != "Failed to send command to the OEM." &&
		resp["detail"] != "Failed to initiate command with the OEM or retrieve status URL.") {
		t.Fatalf("HTTP %d %v, want an OEM failure", code, resp)
	}
	e.srv.SetFailureRate(0)
	if code, resp := e.send(testVIN, "location", ""); code != http.StatusOK {
		t.Fatalf("after SetFailureRate(0): HTTP %d %v", code, resp)
	}
}

func TestTwoStepIgnition(t *testing.T) {
	var mu sync.Mutex
	var applied []string
	e := newEnv(t, Options{Apply: func(vin, command string) (map[string]any, error) {
		mu.Lock()
		applied = append(applied, vin+" "+command)
		mu.Unlock()
		return map[string]any{"ignition": map[string]any{"state": "off"}}, nil
	}})

	code, first := e.send(testVIN, "disable_ignition", "")
	if code != http.StatusOK || first["status"] != "Confirmation" || first["vin"] != testVIN || first["command"] != "disable_ignition" {
		t.Fatalf("first step: HTTP %d %v", code, first)
	}
	confirmation, _ := first["code"].(string)
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(confirmation) {
		t.Fatal("first step: code is not six digits")
	}
	if msg, _ := first["message"].(string); !strings.Contains(msg, "desligar a ignição") {
		t.Fatalf("first step: message %q is not the Portuguese alert", msg)
	}
	if _, ok := first["id"]; ok {
		t.Error("first step registered a command id although nothing runs yet")
	}
	if first["created"] != "2023-02-14 09:51:48" {
		t.Errorf("created = %v, want UTC-3 2023-02-14 09:51:48", first["created"])
	}
	mu.Lock()
	n := len(applied)
	mu.Unlock()
	if n != 0 {
		t.Fatal("the first step applied the command")
	}

	wrong := fmt.Sprintf("%06d", (atoi(confirmation)+1)%1_000_000)
	code, resp := e.send(testVIN, "disable_ignition", wrong)
	wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")
	code, resp = e.send(testVIN, "enable_ignition", confirmation) // bound to the command too
	wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")

	code, pending := e.send(testVIN, "disable_ignition", confirmation)
	if code != http.StatusOK || pending["status"] != "Pending" {
		t.Fatalf("second step: HTTP %d %v, want Pending", code, pending)
	}
	id, _ := pending["id"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Fatalf("id %q is not a UUIDv4", id)
	}
	code, st := e.status(id)
	if d, ok := st["detail"].(map[string]any); code != http.StatusOK || st["status"] != "Pending" || !ok || len(d) != 0 {
		t.Fatalf("right after: HTTP %d %v, want Pending with detail {} (mobway's empty object)", code, st)
	}
	e.clock.Add(90 * time.Second)
	done := e.waitTerminal(id)
	if done["status"] != "Success" || done["vin"] != testVIN || done["command"] != "disable_ignition" {
		t.Fatalf("outcome %v, want Success", done)
	}
	if d, _ := done["detail"].(map[string]any); d == nil || d["ignition"].(map[string]any)["state"] != "off" {
		t.Fatalf("detail %v, want the data Apply returned", done["detail"])
	} else if d["date_time"] != "2023-02-14 09:53:18" {
		t.Errorf("detail date_time %v, want when the vehicle executed it, UTC-3", d["date_time"])
	}
	if done["created"] != "2023-02-14 09:51:48" || done["updated"] != "2023-02-14 09:53:18" {
		t.Errorf("created/updated = %v/%v, want UTC-3 times of acceptance and completion", done["created"], done["updated"])
	}
	mu.Lock()
	if !slices.Equal(applied, []string{testVIN + " disable_ignition"}) {
		t.Errorf("applied %v", applied)
	}
	mu.Unlock()

	code, resp = e.send(testVIN, "disable_ignition", confirmation)
	wantDetail(t, code, resp, http.StatusConflict, "Confirmation already used")
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestConfirmationExpires(t *testing.T) {
	e := newEnv(t, Options{})
	_, first := e.send(testVIN, "enable_ignition", "")
	c, _ := first["code"].(string)
	e.clock.Add(2*time.Minute + time.Second)
	code, resp := e.send(testVIN, "enable_ignition", c)
	wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")

	_, first = e.send(testVIN, "enable_ignition", "")
	c, _ = first["code"].(string)
	e.clock.Add(2*time.Minute - time.Second)
	if code, resp := e.send(testVIN, "enable_ignition", c); code != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("just inside two minutes: HTTP %d %v, want Pending", code, resp)
	}
}

func TestNewFirstStepReplacesOldCode(t *testing.T) {
	e := newEnv(t, Options{})
	_, a := e.send(testVIN, "enable_ignition", "")
	_, b := e.send(testVIN, "enable_ignition", "")
	older, newer := a["code"].(string), b["code"].(string)
	if older != newer {
		code, resp := e.send(testVIN, "enable_ignition", older)
		wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")
	}
	if code, resp := e.send(testVIN, "enable_ignition", newer); code != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("newer code: HTTP %d %v, want Pending", code, resp)
	}
}

func TestWrongAttemptsBurnTheCode(t *testing.T) {
	e := newEnv(t, Options{})
	_, first := e.send(testVIN, "disable_ignition", "")
	c := first["code"].(string)
	for i := 1; i <= maxAttempts; i++ {
		wrong := fmt.Sprintf("%06d", (atoi(c)+i)%1_000_000)
		code, resp := e.send(testVIN, "disable_ignition", wrong)
		wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")
	}
	code, resp := e.send(testVIN, "disable_ignition", c)
	wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")

	// a code that is not a string can never match
	_, first = e.send(testVIN, "disable_ignition", "")
	// (as a JSON number: a code with a leading zero has to lose it to be one)
	body := fmt.Sprintf(`{"vin":%q,"command":"disable_ignition","code":%d}`, testVIN, atoi(first["code"].(string)))
	code, resp = e.post(body, testSign(testSecret, testVIN, "disable_ignition"))
	wantDetail(t, code, resp, http.StatusBadRequest, "Confirmation invalid")
}

func TestCodeRedeemedOnceUnderRace(t *testing.T) {
	e := newEnv(t, Options{})
	_, first := e.send(testVIN, "disable_ignition", "")
	c := first["code"].(string)
	const n = 8
	results := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			code, _ := e.send(testVIN, "disable_ignition", c)
			results <- code
		})
	}
	wg.Wait()
	close(results)
	counts := map[int]int{}
	for code := range results {
		counts[code]++
	}
	if counts[http.StatusOK] != 1 || counts[http.StatusConflict] != n-1 {
		t.Fatalf("statuses %v, want one 200 and %d × 409", counts, n-1)
	}
}

func TestApplyErrorEndsInError(t *testing.T) {
	e := newEnv(t, Options{Apply: func(vin, command string) (map[string]any, error) {
		return nil, errors.New("door lock actuator not responding")
	}})
	code, resp := e.send(testVIN, "lock_door", "123456") // a code on other commands is ignored
	if code != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("HTTP %d %v", code, resp)
	}
	done := e.waitTerminal(resp["id"].(string))
	if done["status"] != "Error" || done["detail"] != "door lock actuator not responding" {
		t.Fatalf("outcome %v, want Error with the text", done)
	}
}

func TestStatusUnknownID(t *testing.T) {
	e := newEnv(t, Options{})
	code, resp := e.status("8619b2df-1d68-40e1-8760-cf36f06d00b5")
	wantDetail(t, code, resp, http.StatusNotFound, "Command not found.")
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e := newEnv(t, Options{})
	code, resp := e.do(http.MethodGet, "/vehicle-command", "", map[string]string{"Authorization": "Bearer " + testToken})
	if code != http.StatusMethodNotAllowed || resp["detail"] == nil {
		t.Errorf("GET /vehicle-command: HTTP %d %v", code, resp)
	}
	code, resp = e.do(http.MethodGet, "/nothing-here", "", nil)
	if code != http.StatusNotFound || resp["detail"] == nil {
		t.Errorf("unknown path: HTTP %d %v", code, resp)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	s := New(Options{Token: testToken, SignSecret: testSecret, Delay: time.Millisecond})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/mobway/", http.StripPrefix("/mobway", s.Handler()))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/mobway/vehicle-command",
		strings.NewReader(`{"vin":"6AHFT68CKAF501652","command":"diagnostics"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("X-Signature", "4077e5ef4f457df8905be26389d8a29bcba490bae29f232ca1706160cdc8b406")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d under /mobway", resp.StatusCode)
	}
}

func TestCloseEndsPendingCommands(t *testing.T) {
	s := New(Options{Token: testToken, SignSecret: testSecret, Delay: time.Hour})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	e := &env{t: t, srv: s, ts: ts}
	code, resp := e.send(testVIN, "diagnostics", "")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %v", code, resp)
	}
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v with a command pending an hour", d)
	}
	if _, st := e.status(resp["id"].(string)); st["status"] != "Pending" {
		t.Errorf("after Close: %v, want still Pending", st)
	}
	code, resp = e.send(testVIN, "diagnostics", "")
	if code != http.StatusServiceUnavailable {
		t.Errorf("send after Close: HTTP %d %v, want 503", code, resp)
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var buf testlog.Buffer
	e := newEnv(t, Options{Logger: buf.Logger()})
	sig := testSign(testSecret, testVIN, "disable_ignition")
	_, first := e.send(testVIN, "disable_ignition", "")
	c := first["code"].(string)
	e.send(testVIN, "disable_ignition", "000000x")
	_, resp := e.send(testVIN, "disable_ignition", c)
	e.waitTerminal(resp["id"].(string))
	e.post(`{"vin":"6AHFT68CKAF501652","command":"lock_door"}`, sig) // wrong signature
	logged := buf.String()
	if !strings.Contains(logged, "command accepted") {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for name, secret := range map[string]string{"token": testToken, "sign secret": testSecret, "code": c, "signature": sig} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

func TestFixedCodeForDemos(t *testing.T) {
	e := newEnv(t, Options{FixedCode: "123456"})
	_, resp := e.send(testVIN, "disable_ignition", "")
	if resp["code"] != "123456" {
		t.Fatalf("code = %v, want the fixed 123456", resp["code"])
	}
	if code, resp := e.send(testVIN, "disable_ignition", "123456"); code != http.StatusOK || resp["status"] != "Pending" {
		t.Fatalf("fixed code: HTTP %d %v, want Pending", code, resp)
	}
	// Still single use.
	code, resp := e.send(testVIN, "disable_ignition", "123456")
	wantDetail(t, code, resp, http.StatusConflict, "Confirmation already used")

	// Anything but six digits is ignored: codes stay random.
	e2 := newEnv(t, Options{FixedCode: "12345x"})
	_, resp = e2.send(testVIN, "disable_ignition", "")
	if c, _ := resp["code"].(string); len(c) != 6 || c == "12345x" {
		t.Fatalf("code = %q", c)
	}
}

// A command whose vehicle returns nothing still tells when it ran: the
// doors' documented detail is {"date_time": "..."}.
func TestSuccessDetailDateTime(t *testing.T) {
	e := newEnv(t, Options{})
	code, resp := e.send(testVIN, "lock_door", "")
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %v", code, resp)
	}
	e.clock.Add(90 * time.Second)
	done := e.waitTerminal(resp["id"].(string))
	d, _ := done["detail"].(map[string]any)
	if done["status"] != "Success" || len(d) != 1 || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`).MatchString(fmt.Sprint(d["date_time"])) {
		t.Fatalf("detail %v, want exactly {date_time}", done["detail"])
	}
}

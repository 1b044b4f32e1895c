package platformsim

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/internal/simclock"
)

const (
	megacorp   = "98401465-c03f-42ba-a1f3-e300674523f2"
	fishIsland = "2db4edf3-5a74-4ef6-aa51-74f80c94c429"
)

type env struct {
	t     *testing.T
	srv   *Server
	login *httptest.Server
	mrv   *httptest.Server
	clock *simclock.Clock
}

func newEnv(t *testing.T, o Options) *env {
	t.Helper()
	c := simclock.New(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
	if o.Now == nil {
		o.Now = c.Now
	}
	s := New(o)
	e := &env{t: t, srv: s, login: httptest.NewServer(s.LoginHandler()), mrv: httptest.NewServer(s.MRVHandler()), clock: c}
	t.Cleanup(func() {
		e.login.Close()
		e.mrv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// do sends a raw request and decodes the JSON answer into out (if not nil).
func (e *env) do(method, url, body string, header map[string]string, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Fatalf("%s %s: Content-Type %q", method, url, ct)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

func (e *env) signIn() string {
	e.t.Helper()
	var out map[string]string
	code := e.do(http.MethodPost, e.login.URL+"/login", `{"email":"user@example.com","password":"SeCrEt"}`, nil, &out)
	if code != http.StatusOK || out["idToken"] == "" {
		e.t.Fatalf("login: HTTP %d", code)
	}
	return out["idToken"]
}

func (e *env) createToken(idToken, uid string) string {
	e.t.Helper()
	var out map[string]string
	code := e.do(http.MethodGet, e.login.URL+"/clients/"+uid+"/api-token", "", map[string]string{"Authorization": "Bearer " + idToken}, &out)
	if code != http.StatusOK {
		e.t.Fatalf("api-token: HTTP %d", code)
	}
	if out["client_uid"] != uid {
		e.t.Fatalf("api-token: client_uid %q, want %q", out["client_uid"], uid)
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(out["token"]) {
		e.t.Fatal("api-token: token is not 40 hex digits")
	}
	return out["token"]
}

// fields calls GET /fields with key ("" sends no header) and returns the
// status and the decoded body (a list on 200, a detail object otherwise).
func (e *env) fields(key string) (int, []Field, string) {
	e.t.Helper()
	h := map[string]string{}
	if key != "" {
		h["ApiKey"] = key
	}
	var raw json.RawMessage
	code := e.do(http.MethodGet, e.mrv.URL+"/fields", "", h, &raw)
	if code == http.StatusOK {
		var list []Field
		if err := json.Unmarshal(raw, &list); err != nil {
			e.t.Fatalf("fields: not a list: %v", err)
		}
		return code, list, ""
	}
	var d map[string]string
	if err := json.Unmarshal(raw, &d); err != nil || d["detail"] == "" {
		e.t.Fatalf("fields: HTTP %d without a detail", code)
	}
	return code, nil, d["detail"]
}

func TestLogin(t *testing.T) {
	e := newEnv(t, Options{})
	a, b := e.signIn(), e.signIn()
	if a == b {
		t.Error("two logins returned the same idToken")
	}
	var d map[string]string
	for _, body := range []string{
		`{"email":"user@example.com","password":"secret"}`,
		`{"email":"other@example.com","password":"SeCrEt"}`,
	} {
		if code := e.do(http.MethodPost, e.login.URL+"/login", body, nil, &d); code != http.StatusUnauthorized || d["detail"] == "" {
			t.Errorf("wrong credentials: HTTP %d %v, want 401", code, d)
		}
	}
	if code := e.do(http.MethodPost, e.login.URL+"/login", `{"email":"user@example.com"}`, nil, &d); code != http.StatusBadRequest {
		t.Errorf("no password: HTTP %d, want 400", code)
	}
	if code := e.do(http.MethodGet, e.login.URL+"/login", "", nil, &d); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /login: HTTP %d, want 405", code)
	}
}

func TestClients(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.signIn()
	var list []ClientInfo
	if code := e.do(http.MethodGet, e.login.URL+"/clients", "", map[string]string{"Authorization": "Bearer " + id}, &list); code != http.StatusOK {
		t.Fatalf("clients: HTTP %d", code)
	}
	want := []ClientInfo{{"Megacorp Ltd.", megacorp}, {"Fish Island Tech.", fishIsland}}
	if len(list) != 2 || list[0] != want[0] || list[1] != want[1] {
		t.Fatalf("clients %v, want %v", list, want)
	}
	var d map[string]string
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer nope"}} {
		if code := e.do(http.MethodGet, e.login.URL+"/clients", "", h, &d); code != http.StatusUnauthorized {
			t.Errorf("clients with %v: HTTP %d, want 401", h, code)
		}
	}
	e.clock.Add(time.Hour)
	if code := e.do(http.MethodGet, e.login.URL+"/clients", "", map[string]string{"Authorization": "Bearer " + id}, &d); code != http.StatusUnauthorized {
		t.Errorf("expired idToken: HTTP %d, want 401", code)
	}
}

func TestAPITokenRotation(t *testing.T) {
	e := newEnv(t, Options{})
	initial := e.srv.Token()
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(initial) {
		t.Fatal("the default client has no 40-hex token at start")
	}
	if code, list, _ := e.fields(initial); code != http.StatusOK || len(list) == 0 {
		t.Fatalf("initial token: HTTP %d %v", code, list)
	}

	id := e.signIn()
	first := e.createToken(id, fishIsland)
	if e.srv.TokenFor(fishIsland) != first {
		t.Error("TokenFor does not return the created token")
	}
	code, fishFields, _ := e.fields(first)
	if code != http.StatusOK || len(fishFields) == 0 {
		t.Fatalf("new token: HTTP %d", code)
	}
	second := e.createToken(id, fishIsland)
	if second == first {
		t.Fatal("a new token equals the old one")
	}
	if code, _, detail := e.fields(first); code != http.StatusUnauthorized {
		t.Fatalf("old token after rotation: HTTP %d %q, want 401", code, detail)
	}
	if code, list, _ := e.fields(second); code != http.StatusOK || len(list) != len(fishFields) || list[0] != fishFields[0] {
		t.Fatalf("rotated token: HTTP %d %v", code, list)
	}
	// rotation is per client: Megacorp's key still works and sees its own fields
	code, megaFields, _ := e.fields(initial)
	if code != http.StatusOK || megaFields[0] == fishFields[0] {
		t.Fatalf("other client's key: HTTP %d %v", code, megaFields)
	}
	if e.srv.Token() != initial {
		t.Error("Token() changed although only Fish Island rotated")
	}

	newMega := e.createToken(id, megacorp)
	if e.srv.Token() != newMega {
		t.Error("Token() does not follow the default client's rotation")
	}
	var d map[string]string
	if code := e.do(http.MethodGet, e.login.URL+"/clients/00000000-0000-4000-8000-000000000000/api-token", "", map[string]string{"Authorization": "Bearer " + id}, &d); code != http.StatusNotFound {
		t.Errorf("unknown client: HTTP %d, want 404", code)
	}
	if code := e.do(http.MethodGet, e.login.URL+"/clients/"+megacorp+"/api-token", "", nil, &d); code != http.StatusUnauthorized {
		t.Errorf("api-token without idToken: HTTP %d, want 401", code)
	}
	if e.srv.Token() != newMega {
		t.Error("a refused request rotated the token")
	}
}

func TestFieldsAuth(t *testing.T) {
	e := newEnv(t, Options{})
	code, list, _ := e.fields(e.srv.Token())
	if code != http.StatusOK || len(list) < 2 {
		t.Fatalf("fields: HTTP %d %v", code, list)
	}
	for _, f := range list {
		if f.ID == "" || f.Name == "" || f.AreaHa <= 0 || f.Crop == "" {
			t.Errorf("implausible field %+v", f)
		}
	}
	if code, _, _ := e.fields(""); code != http.StatusUnauthorized {
		t.Errorf("no key: HTTP %d, want 401", code)
	}
	if code, _, _ := e.fields("176633e96d0c2f0346c3eb4d0227d0fce64db20a"); code != http.StatusUnauthorized {
		t.Errorf("the document's example key: HTTP %d, want 401", code)
	}
}

func TestAPIKeyHeaderSpellings(t *testing.T) {
	s := New(Options{})
	h := s.MRVHandler()
	for _, name := range []string{"ApiKey", "Apikey", "APIKEY", "apikey"} {
		req := httptest.NewRequest(http.MethodGet, "/fields", nil)
		req.Header[name] = []string{s.Token()} // set raw, bypassing canonicalization
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("header %q: HTTP %d, want 200", name, rec.Code)
		}
	}
}

func TestBurst503(t *testing.T) {
	e := newEnv(t, Options{})
	key := e.srv.Token()
	e.srv.Burst503(2)
	for i, k := range []string{key, "not-a-key"} { // 503 whatever the key: it was not checked
		code, _, detail := e.fields(k)
		if code != http.StatusServiceUnavailable || detail != "could not verify the API key right now" {
			t.Fatalf("request %d of the burst: HTTP %d %q, want 503", i+1, code, detail)
		}
	}
	if code, _, _ := e.fields(key); code != http.StatusOK {
		t.Fatalf("after the burst: HTTP %d, want 200", code)
	}
	if code, _, _ := e.fields("not-a-key"); code != http.StatusUnauthorized {
		t.Fatalf("after the burst, bad key: HTTP %d, want 401", code)
	}
	e.srv.Burst503(5)
	e.srv.Burst503(0)
	if code, _, _ := e.fields(key); code != http.StatusOK {
		t.Fatalf("Burst503(0) did not end the burst: HTTP %d", code)
	}
	// the burst belongs to the MRV API; login keeps working
	e.srv.Burst503(1)
	e.signIn()
	if code, _, _ := e.fields(key); code != http.StatusServiceUnavailable {
		t.Fatalf("the login consumed the MRV burst: HTTP %d", code)
	}
}

func TestPresetToken(t *testing.T) {
	preset := "0123456789abcdef0123456789abcdef01234567"
	e := newEnv(t, Options{
		Email: "ops@example.com", Password: "pw",
		Tokens: map[string]string{fishIsland: preset, "no-such-client": "ffff"},
		Fields: map[string][]Field{fishIsland: {{ID: "f1", Name: "Home", AreaHa: 3.5, Crop: "rye"}}},
	})
	if e.srv.TokenFor(fishIsland) != preset {
		t.Fatal("TokenFor does not return the preset")
	}
	if e.srv.Token() == "" || e.srv.Token() == preset {
		t.Fatal("the default client should get its own token")
	}
	code, list, _ := e.fields(preset)
	if code != http.StatusOK || len(list) != 1 || list[0].Name != "Home" {
		t.Fatalf("preset key: HTTP %d %v", code, list)
	}
	if code, _, _ := e.fields("ffff"); code != http.StatusUnauthorized {
		t.Fatalf("preset for an unknown client must not work: HTTP %d", code)
	}
	var out map[string]string
	if code := e.do(http.MethodPost, e.login.URL+"/login", `{"email":"ops@example.com","password":"pw"}`, nil, &out); code != http.StatusOK {
		t.Fatalf("custom credentials: HTTP %d", code)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e := newEnv(t, Options{})
	var d map[string]string
	if code := e.do(http.MethodGet, e.mrv.URL+"/nothing", "", nil, &d); code != http.StatusNotFound || d["detail"] == "" {
		t.Errorf("MRV unknown path: HTTP %d %v", code, d)
	}
	if code := e.do(http.MethodGet, e.login.URL+"/nothing", "", nil, &d); code != http.StatusNotFound || d["detail"] == "" {
		t.Errorf("login unknown path: HTTP %d %v", code, d)
	}
}

func TestLogsCarryNoSecrets(t *testing.T) {
	var buf strings.Builder // handlers run synchronously on the test's requests
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, Options{Logger: logger})
	id := e.signIn()
	old := e.srv.Token()
	token := e.createToken(id, megacorp)
	e.fields(old)
	e.do(http.MethodPost, e.login.URL+"/login", `{"email":"user@example.com","password":"wrong-password"}`, nil, nil)
	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	if !strings.Contains(logged, "token created") {
		t.Fatal("nothing was logged: the test would prove nothing")
	}
	for name, secret := range map[string]string{"idToken": id, "old key": old, "new key": token, "password": "SeCrEt", "wrong password": "wrong-password"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

package platform_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/config"
)

const (
	email    = "user@example.com"
	password = "SeCrEt-pa55word"
	idToken  = "id-token-eyJhbGciOi-secret"
	apiKey   = "176633e96d0c2f0346c3eb4d0227d0fce64db20a"
	uid      = "2db4edf3-5a74-4ef6-aa51-74f80c94c429"
)

type request struct {
	Method, Path string
	Header       http.Header
	Body         string
}

func newServer(t *testing.T, h func(w http.ResponseWriter, r request)) (*httptest.Server, func() []request) {
	t.Helper()
	var mu sync.Mutex
	var seen []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: string(b)}
		mu.Lock()
		seen = append(seen, req)
		mu.Unlock()
		h(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []request {
		mu.Lock()
		defer mu.Unlock()
		return append([]request(nil), seen...)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func hc() *httpapi.Client { return httpapi.New(httpapi.Options{}) }

// noSecrets fails when err's text holds any credential of these tests.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{password, idToken, apiKey} {
		if strings.Contains(err.Error(), s) {
			t.Error("error text holds a secret")
		}
	}
}

func TestLoginListClientsCreateToken(t *testing.T) {
	srv, seen := newServer(t, func(w http.ResponseWriter, r request) {
		switch r.Method + " " + r.Path {
		case "POST /platform/api/v1/login":
			writeJSON(w, 200, `{"idToken":"`+idToken+`","refreshToken":"x"}`)
		case "GET /platform/api/v1/clients":
			writeJSON(w, 200, `[{"name":"Megacorp Ltd.","uid":"98401465-c03f-42ba-a1f3-e300674523f2"},{"name":"Fish Island Tech.\u001b]0;pwn\u0007","uid":"`+uid+`"}]`)
		case "GET /platform/api/v1/clients/" + uid + "/api-token":
			writeJSON(w, 200, `{"token":"`+apiKey+`","client_uid":"`+uid+`"}`)
		default:
			writeJSON(w, 404, `{"detail":"Not Found"}`)
		}
	})
	ctx := context.Background()
	loginURL := srv.URL + "/platform/api/v1/"
	tok, err := platform.Login(ctx, hc(), loginURL, email, password)
	if err != nil {
		t.Fatal(err)
	}
	if tok != idToken {
		t.Error("Login returned the wrong idToken")
	}
	clients, err := platform.ListClients(ctx, hc(), loginURL, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(clients) != 2 || clients[0].Name != "Megacorp Ltd." || clients[1].Name != "Fish Island Tech." || clients[1].UID != uid {
		t.Errorf("clients %+v", clients)
	}
	key, err := platform.CreateAPIToken(ctx, hc(), loginURL, tok, clients[1].UID)
	if err != nil {
		t.Fatal(err)
	}
	if key != apiKey {
		t.Error("CreateAPIToken returned the wrong token")
	}

	reqs := seen()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	if want := `{"email":"` + email + `","password":"` + password + `"}`; reqs[0].Body != want {
		t.Error("login body is not exactly the documented JSON")
	}
	for i, r := range reqs {
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: Content-Type %q", i, r.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(r.Header.Get("User-Agent"), "fleetdeck/") {
			t.Errorf("request %d: User-Agent %q", i, r.Header.Get("User-Agent"))
		}
		if i == 0 && r.Header.Get("Authorization") != "" {
			t.Error("login sent an Authorization header")
		}
		if i > 0 && (r.Header.Get("Authorization") != "Bearer "+idToken || r.Body != "") {
			t.Errorf("request %d: not a bodiless GET with the idToken as bearer", i)
		}
	}
}

func TestLoginAndSessionFailures(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r request) {
		switch {
		case strings.HasSuffix(r.Path, "/bad/login"):
			writeJSON(w, 401, `{"message":"wrong password"}`)
		case strings.HasSuffix(r.Path, "/echo/login"):
			writeJSON(w, 500, `{"message":"crash while checking `+password+`"}`)
		case strings.HasSuffix(r.Path, "/html/login"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
		case strings.HasSuffix(r.Path, "/empty/login"):
			writeJSON(w, 200, `{}`)
		default:
			writeJSON(w, 403, `{"detail":"token expired"}`)
		}
	})
	ctx := context.Background()
	_, err := platform.Login(ctx, hc(), srv.URL+"/bad", email, password)
	if !errors.Is(err, platform.ErrLoginRefused) {
		t.Errorf("401: %v", err)
	}
	noSecrets(t, err)
	_, err = platform.Login(ctx, hc(), srv.URL+"/echo", email, password)
	if err == nil || !strings.Contains(err.Error(), "crash while checking "+httpapi.Redacted) {
		t.Errorf("500: %v", err)
	}
	noSecrets(t, err)
	_, err = platform.Login(ctx, hc(), srv.URL+"/html", email, password)
	var ue *httpapi.UnexpectedError
	if !errors.As(err, &ue) || ue.Status != 502 {
		t.Errorf("502: %v", err)
	}
	if _, err = platform.Login(ctx, hc(), srv.URL+"/empty", email, password); err == nil {
		t.Error("an answer without idToken was accepted")
	}
	_, err = platform.ListClients(ctx, hc(), srv.URL, idToken)
	if !errors.Is(err, platform.ErrSessionRefused) {
		t.Errorf("clients 403: %v", err)
	}
	noSecrets(t, err)
	_, err = platform.CreateAPIToken(ctx, hc(), srv.URL, idToken, uid)
	if !errors.Is(err, platform.ErrSessionRefused) {
		t.Errorf("api-token 403: %v", err)
	}
	noSecrets(t, err)
}

func TestSaveNewTokenTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "platform.key")
	if err := os.WriteFile(path, []byte("old-key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := platform.SaveNewToken(path, apiKey); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	got, err := config.ReadSecretFile(path)
	if err != nil || got != apiKey {
		t.Errorf("read back: match=%v err=%v", got == apiKey, err)
	}
	for _, bad := range []string{"", "two\nlines", "with space"} {
		if err := platform.SaveNewToken(path, bad); err == nil {
			t.Errorf("token %q accepted", bad)
		}
	}
}

// recorder collects OnState calls and sleeps.
type recorder struct {
	mu     sync.Mutex
	states []platform.AuthState
	waits  []time.Duration
}

func (r *recorder) onState(s platform.AuthState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, s)
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) stateList() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.states)
}

func newClient(url string, rec *recorder, opts ...platform.Option) *platform.Client {
	return platform.New(url, apiKey, hc(), append([]platform.Option{platform.WithOnState(rec.onState), platform.WithSleep(rec.sleep)}, opts...)...)
}

func TestFields503ThenOK(t *testing.T) {
	var n atomic.Int32
	srv, seen := newServer(t, func(w http.ResponseWriter, r request) {
		if n.Add(1) <= 2 {
			writeJSON(w, 503, `{"message":"Service Unavailable"}`)
			return
		}
		writeJSON(w, 200, `[{"id":1,"name":"North field"},{"id":2,"name":"South"}]`)
	})
	rec := &recorder{}
	c := newClient(srv.URL+"/mrv/v1", rec)
	fields, err := c.Fields(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || string(fields[1]) != `{"id":2,"name":"South"}` {
		t.Errorf("fields %s", fields)
	}
	if got := rec.stateList(); got != "[unverified: retrying ok]" {
		t.Errorf("states %s, want [unverified: retrying ok]", got)
	}
	if c.State() != platform.AuthOK {
		t.Errorf("State %v", c.State())
	}
	if len(rec.waits) != 2 || rec.waits[0] < 800*time.Millisecond || rec.waits[0] > 1200*time.Millisecond ||
		rec.waits[1] < 1600*time.Millisecond || rec.waits[1] > 2400*time.Millisecond {
		t.Errorf("waits %v, want about 1s then 2s", rec.waits)
	}
	for _, r := range seen() {
		if r.Method != http.MethodGet || r.Path != "/mrv/v1/fields" || r.Header.Get("ApiKey") != apiKey ||
			r.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "fleetdeck/") {
			t.Errorf("request %s %s: wrong method, path or headers", r.Method, r.Path)
		}
	}
}

func TestFields401IsInvalid(t *testing.T) {
	for _, status := range []int{401, 403} {
		srv, seen := newServer(t, func(w http.ResponseWriter, r request) { writeJSON(w, status, `{"detail":"Invalid API key"}`) })
		rec := &recorder{}
		c := newClient(srv.URL, rec)
		_, err := c.Fields(context.Background())
		if !errors.Is(err, platform.ErrInvalidKey) || !strings.Contains(err.Error(), "fleetdeck platform login") {
			t.Errorf("%d: %v", status, err)
		}
		noSecrets(t, err)
		if c.State() != platform.AuthInvalid || rec.stateList() != "[invalid]" || len(seen()) != 1 {
			t.Errorf("%d: state %v, changes %s, %d requests", status, c.State(), rec.stateList(), len(seen()))
		}
	}
}

func TestFields503ForeverIsUnverifiedNeverInvalid(t *testing.T) {
	srv, seen := newServer(t, func(w http.ResponseWriter, r request) {
		w.Header().Set("Retry-After", "3600") // capped, and our sleep is instant anyway
		writeJSON(w, 503, `{"message":"token verification failed"}`)
	})
	rec := &recorder{}
	c := newClient(srv.URL, rec)
	_, err := c.Fields(context.Background())
	if !errors.Is(err, platform.ErrUnverified) {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(strings.ToLower(err.Error()), "invalid") {
		t.Errorf("a 503 was reported as invalid: %q", err)
	}
	noSecrets(t, err)
	if c.State() != platform.AuthUnverified || rec.stateList() != "[unverified: retrying]" {
		t.Errorf("state %v, changes %s", c.State(), rec.stateList())
	}
	if n := len(seen()); n != 4 {
		t.Errorf("%d requests, want 4 (bounded)", n)
	}
	for _, w := range rec.waits {
		if w != 30*time.Second {
			t.Errorf("wait %v, want Retry-After capped at 30s", w)
		}
	}
}

func TestFieldsBackoffEndsWithContext(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r request) { w.WriteHeader(503) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c := platform.New(srv.URL, apiKey, hc(), platform.WithRetry(10, time.Hour))
	start := time.Now()
	_, err := c.Fields(ctx)
	if !errors.Is(err, platform.ErrUnverified) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Error("backoff ignored the context")
	}
}

func TestFieldsOtherFailures(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r request) {
		if strings.HasPrefix(r.Path, "/obj") {
			writeJSON(w, 200, `{"results":[]}`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		io.WriteString(w, "<html>oops</html>")
	})
	rec := &recorder{}
	c := newClient(srv.URL, rec)
	_, err := c.Fields(context.Background())
	var ue *httpapi.UnexpectedError
	if !errors.As(err, &ue) || ue.Status != 500 {
		t.Errorf("err %v", err)
	}
	if c.State() != platform.AuthUnknown {
		t.Errorf("a 500 changed the auth state to %v", c.State())
	}
	if _, err := newClient(srv.URL+"/obj", rec).Fields(context.Background()); err == nil {
		t.Error("an object was accepted as the field list")
	}
	if _, err := platform.New(srv.URL, "", hc()).Fields(context.Background()); err == nil {
		t.Error("no key, yet a request")
	}
}

func TestAuthStateStringsAndClientFormatting(t *testing.T) {
	want := map[platform.AuthState]string{
		platform.AuthUnknown: "unknown", platform.AuthOK: "ok",
		platform.AuthUnverified: "unverified: retrying", platform.AuthInvalid: "invalid",
	}
	for s, w := range want {
		if s.String() != w {
			t.Errorf("%d: %q, want %q", s, s.String(), w)
		}
	}
	c := platform.New("http://127.0.0.1:1", apiKey, hc())
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(out, apiKey) {
			t.Error("client formatting shows the key")
		}
	}
}

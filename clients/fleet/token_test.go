package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

func TestServiceAccountTokenIsCached(t *testing.T) {
	f := newFakeHM(t)
	c := f.client()
	if !c.TokenValidUntil().IsZero() {
		t.Fatal("TokenValidUntil before any call is not zero")
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.List(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.authCalls.Load(); n != 1 {
		t.Errorf("auth_tokens called %d times for 3 calls within the token's life, want 1", n)
	}
	left := time.Until(c.TokenValidUntil())
	if left < 4*time.Minute || left > 5*time.Minute {
		t.Errorf("TokenValidUntil is %v away, want about 5m", left)
	}
}

func TestServiceAccountAudienceAndVersion(t *testing.T) {
	f := newFakeHM(t)
	f.aud = "https://sandbox.api.high-mobility.com/v1"
	f.ver = 2
	ts := NewServiceAccountSource(f.sa(), f.srv.URL+"/", f.aud, 2, nil)
	if _, err := ts.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.authCalls.Load() != 1 {
		t.Fatalf("auth calls = %d", f.authCalls.Load())
	}
}

// With a fake clock: the token is reused while more than a fifth of its
// life remains and refreshed once less does; iat is the clock truncated.
func TestTokenRefreshesInLastFifth(t *testing.T) {
	f := newFakeHM(t)
	f.fakeIAT = true
	clock := &fakeClock{now: time.Unix(1_700_000_000, 999_000_000)}
	ts := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil, WithClock(clock.Now))
	ctx := context.Background()

	t1, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := t1.ValidUntil, clock.Now().Add(5*time.Minute); !got.Equal(want) {
		t.Errorf("ValidUntil = %v, want %v (sent + server's window)", got, want)
	}
	clock.Advance(239 * time.Second) // 61 s left of 300: more than a fifth
	t2, _ := ts.Token(ctx)
	if t2.Value != t1.Value || f.authCalls.Load() != 1 {
		t.Fatalf("refreshed with 61 s of 300 left (calls %d)", f.authCalls.Load())
	}
	clock.Advance(2 * time.Second) // 59 s left: less than a fifth
	t3, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if t3.Value == t1.Value || f.authCalls.Load() != 2 {
		t.Fatalf("not refreshed with 59 s of 300 left (calls %d)", f.authCalls.Load())
	}

	ts.Invalidate("some other token")
	if t4, _ := ts.Token(ctx); t4.Value != t3.Value {
		t.Error("Invalidate with a value that is not the cached token dropped it")
	}
	ts.Invalidate(t3.Value)
	if t5, _ := ts.Token(ctx); t5.Value == t3.Value || f.authCalls.Load() != 3 {
		t.Error("Invalidate(current) did not force a new token")
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	want := []int64{1_700_000_000, 1_700_000_241, 1_700_000_241}
	if len(f.iats) != len(want) {
		t.Fatalf("iats = %v, want %v", f.iats, want)
	}
	for i := range want {
		if f.iats[i] != want[i] {
			t.Errorf("iat[%d] = %d, want %d (the clock truncated, never rounded up)", i, f.iats[i], want[i])
		}
	}
}

// 100 callers for 5 seconds against 2-second tokens: no request carries an
// expired token, and refreshes happen once per 1.6 s, not once per caller.
func TestTokenShortLivedConcurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("5-second load test")
	}
	f := newFakeHM(t)
	f.ttl = 2 * time.Second
	c := f.client()
	const callers, run = 100, 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()

	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for i := range callers {
		wg.Go(func() {
			pause := time.Duration(20+i%60) * time.Millisecond
			for ctx.Err() == nil {
				_, err := c.List(ctx, nil)
				switch {
				case err == nil:
					ok.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				_ = c.TokenValidUntil()
				_ = httpapi.Sleep(ctx, pause)
			}
		})
	}
	wg.Wait()

	if n := f.expiredUse.Load(); n != 0 {
		t.Errorf("%d requests reached the server with an expired token", n)
	}
	if n := f.unknownUse.Load(); n != 0 {
		t.Errorf("%d requests carried an unknown token", n)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d calls failed, first: %v", n, firstErr.Load())
	}
	// Fetches at 0, 1.6, 3.2, 4.8 s: 4, give or take scheduling.
	auth := f.authCalls.Load()
	if auth < 3 || auth > 5 {
		t.Errorf("auth_tokens called %d times in %v with 2 s tokens, want 3..5 (one refresh per 1.6 s)", auth, run)
	}
	if ok.Load() < callers {
		t.Errorf("only %d successful calls", ok.Load())
	}
	t.Logf("%d calls, %d token fetches", ok.Load(), auth)
}

// A refresh that fails fails every caller waiting on it, once; the next
// call tries again.
func TestTokenFailedRefreshReachesAllWaiters(t *testing.T) {
	f := newFakeHM(t)
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	var failing atomic.Bool
	failing.Store(true)
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		if !failing.Load() {
			return false
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-gate
		writeJSON(w, 503, `{"errors":[{"title":"Service unavailable","detail":"try later"}]}`)
		return true
	}
	ts := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil)
	ctx := context.Background()

	const waiters = 10
	errs := make([]error, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() { _, errs[i] = ts.Token(ctx) })
	}
	<-entered
	time.Sleep(200 * time.Millisecond) // let every caller join the flight
	close(gate)
	wg.Wait()

	for i, err := range errs {
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 503 {
			t.Errorf("waiter %d: err = %v, want the 503", i, err)
		}
		noSecrets(t, err, f.secrets()...)
	}
	if n := f.authCalls.Load(); n != 1 {
		t.Errorf("auth_tokens called %d times by %d waiters, want 1", n, waiters)
	}
	failing.Store(false)
	if _, err := ts.Token(ctx); err != nil {
		t.Fatalf("the call after a failed refresh: %v", err)
	}
	if n := f.authCalls.Load(); n != 2 {
		t.Errorf("auth calls = %d, want 2", n)
	}
}

// A caller whose context ends stops waiting at once; the fetch it started
// still serves the others.
func TestTokenRespectsCallerContext(t *testing.T) {
	f := newFakeHM(t)
	gate := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(gate) }) })
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		if n > 1 {
			return false
		}
		<-gate
		return false // then issue the token
	}
	ts := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	var patient Token
	var patientErr error
	var wg sync.WaitGroup
	wg.Go(func() { patient, patientErr = ts.Token(context.Background()) })
	start := time.Now()
	go func() { _, err := ts.Token(ctx); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Token ignored its caller's context")
	}
	once.Do(func() { close(gate) })
	wg.Wait()
	if patientErr != nil || patient.Value == "" {
		t.Errorf("the other caller: %v", patientErr)
	}
	if n := f.authCalls.Load(); n != 1 {
		t.Errorf("auth calls = %d, want 1", n)
	}
}

func TestTokenExpiredOnArrival(t *testing.T) {
	f := newFakeHM(t)
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		writeJSON(w, 201, `{"auth_token":"t","valid_from":"2022-12-01T09:08:14","valid_until":"2022-12-01T09:08:14"}`)
		return true
	}
	ts := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil)
	_, err := ts.Token(context.Background())
	if !errors.Is(err, errExpiredOnArrival) {
		t.Fatalf("err = %v", err)
	}
}

func TestTokenBadResponses(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		ctype  string
		body   string
		want   string
	}{
		"html":        {502, "text/html", "<html><body>Bad gateway</body></html>", "unexpected response (HTTP 502, text/html)"},
		"no token":    {201, "application/json", `{"valid_until":"2022-12-01T09:13:14"}`, "unexpected response (HTTP 201"},
		"bad time":    {201, "application/json", `{"auth_token":"x","valid_until":"soon\u001b[2J"}`, `valid_until "soon`},
		"jwt refused": {401, "application/json", `{"errors":[{"title":"Unauthorized","detail":"JWT is invalid"}]}`, "HTTP 401: Unauthorized: JWT is invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeHM(t)
			f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
				return true
			}
			_, err := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil).Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "<html") || strings.Contains(err.Error(), "\x1b") {
				t.Errorf("raw body or escape sequence in the error: %q", err)
			}
			noSecrets(t, err, f.secrets()...)
		})
	}
}

// A server that echoes the assertion in its error must not get it into
// our error text.
func TestAssertionNeverInErrors(t *testing.T) {
	f := newFakeHM(t)
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		f.mu.Lock()
		a := f.assertions[len(f.assertions)-1]
		f.mu.Unlock()
		writeJSON(w, 422, `{"errors":[{"title":"Invalid","source":"assertion","detail":"cannot use `+a+`"}]}`)
		return true
	}
	_, err := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, nil).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot use "+httpapi.Redacted) {
		t.Fatalf("err = %v", err)
	}
	noSecrets(t, err, f.secrets()...)
}

func TestServiceAccountKeyMustBeP256(t *testing.T) {
	f := newFakeHM(t)
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := NewServiceAccountSource(&config.ServiceAccount{ID: "x", PrivateKey: key}, f.srv.URL, "", 0, nil)
	if _, err := ts.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewServiceAccountSource(nil, f.srv.URL, "", 0, nil).Token(context.Background()); err == nil {
		t.Fatal("nil service account: no error")
	}
	if n := f.authCalls.Load(); n != 0 {
		t.Errorf("%d requests sent with an unusable key", n)
	}
}

func TestClientCredentials(t *testing.T) {
	const id, secret = "client-1", "s3cr&t=x y"
	var tokenCalls, apiCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if ua := r.UserAgent(); !strings.HasPrefix(ua, "fleetdeck/") {
			t.Errorf("User-Agent %q", ua)
		}
		switch r.URL.Path {
		case "/v1/access_tokens":
			tokenCalls.Add(1)
			if r.Method != http.MethodPost {
				t.Errorf("method %s", r.Method)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			if want := "grant_type=client_credentials&client_id=client-1&client_secret=s3cr%26t%3Dx+y"; string(body) != want {
				t.Errorf("form body %d bytes, not the expected %d", len(body), len(want))
			}
			if r.Header.Get("X-Wrong") != "" {
				writeJSON(w, 401, `{"error":"invalid_client","error_description":"secret s3cr&t=x y is wrong"}`)
				return
			}
			writeJSON(w, 200, `{"access_token":"cc-token-1","expires_in":300,"token_type":"bearer","scope":"fleet:clearance"}`)
		case "/v1/fleets/vehicles":
			apiCalls.Add(1)
			if got := r.Header.Get("Authorization"); got != "Bearer cc-token-1" {
				t.Errorf("Authorization %q", got)
			}
			writeJSON(w, 200, `[]`)
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}))
	defer srv.Close()
	clock := &fakeClock{now: time.Now()}
	ts := NewClientCredentialsSource(id, secret, srv.URL+"/v1", nil, WithClock(clock.Now))
	c := New(srv.URL+"/v1", ts, nil)
	if _, err := c.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if tokenCalls.Load() != 1 || apiCalls.Load() != 2 {
		t.Errorf("token calls %d, api calls %d", tokenCalls.Load(), apiCalls.Load())
	}
	if got, want := c.TokenValidUntil(), clock.Now().Add(300*time.Second); !got.Equal(want) {
		t.Errorf("TokenValidUntil = %v, want %v", got, want)
	}

	// A refused secret: the OAuth2 error shape becomes an *APIError, without the secret.
	hc := httpapi.New(httpapi.Options{HTTPClient: &http.Client{Transport: headerTransport{"X-Wrong", "1"}}})
	_, err := NewClientCredentialsSource(id, secret, srv.URL+"/v1", hc).Token(context.Background())
	if !IsUnauthorized(err) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v", err)
	}
	noSecrets(t, err, secret, "cc-token-1")
}

type headerTransport struct{ k, v string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.k, h.v)
	return http.DefaultTransport.RoundTrip(r)
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2022-12-01T09:08:14":         time.Date(2022, 12, 1, 9, 8, 14, 0, time.UTC),
		"2022-12-01T09:08:14.250":     time.Date(2022, 12, 1, 9, 8, 14, 250e6, time.UTC),
		"2018-11-06T10:20:37.094533Z": time.Date(2018, 11, 6, 10, 20, 37, 94533e3, time.UTC),
		"2022-12-01T10:08:14+01:00":   time.Date(2022, 12, 1, 9, 8, 14, 0, time.UTC),
	} {
		got, err := parseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v UTC", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2022-13-01T00:00:00"} {
		if _, err := parseTime(in); err == nil {
			t.Errorf("parseTime(%q): no error", in)
		}
	}
}

func TestTokenStringHidesValue(t *testing.T) {
	tok := Token{Value: "very-secret", ValidUntil: time.Now()}
	if strings.Contains(tok.String(), "very-secret") {
		t.Error("Token.String prints the token")
	}
}

package fleet

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
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

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

// fakeHM is a stand-in for High Mobility's API. Its token endpoint checks
// every assertion the way the brief asks (public key, ES256 only, header,
// raw r‖s signature, claim types, fresh UUIDv4 jti); its API endpoints check
// that the bearer token exists and has not expired, then hand the request
// to api.
type fakeHM struct {
	t      *testing.T
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	saID   string
	aud    string // expected aud; set after the server starts
	ver    int
	ttl    time.Duration
	format string // time layout for valid_from/valid_until
	// fakeIAT: the client runs on a fake clock, so iat is checked by the
	// test against that clock instead of against real time.
	fakeIAT bool
	iats    []int64

	authCalls  atomic.Int32
	apiCalls   atomic.Int32
	expiredUse atomic.Int32
	unknownUse atomic.Int32

	// authHook, if set, may answer a token request itself (returns true).
	authHook func(w http.ResponseWriter, r *http.Request, n int32) bool
	// api answers authorized API requests.
	api func(w http.ResponseWriter, r *http.Request, body []byte)

	mu         sync.Mutex
	tokens     map[string]time.Time // token → server-side expiry
	jtis       map[string]bool
	assertions []string
}

const testSAID = "f6c331c4-9271-4e3b-a8c4-6a2cacac6451"

func newFakeHM(t *testing.T) *fakeHM {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeHM{
		t: t, key: key, saID: testSAID, ver: 1, ttl: 5 * time.Minute,
		format: "2006-01-02T15:04:05.000",
		tokens: map[string]time.Time{}, jtis: map[string]bool{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.aud = f.srv.URL
	return f
}

func (f *fakeHM) sa() *config.ServiceAccount {
	return &config.ServiceAccount{ID: f.saID, PrivateKey: f.key, InsertedAt: "2020-06-22T09:38:09"}
}

// client returns a service-account client against the fake, with short
// rate-limit waits.
func (f *fakeHM) client(opts ...Option) *Client {
	hc := httpapi.New(httpapi.Options{})
	ts := NewServiceAccountSource(f.sa(), f.srv.URL, "", 0, hc)
	return New(f.srv.URL, ts, hc, append([]Option{WithBackoff(20 * time.Millisecond)}, opts...)...)
}

// secrets returns every secret the fake has seen or issued, plus the key.
func (f *fakeHM) secrets() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	der, _ := x509.MarshalPKCS8PrivateKey(f.key)
	out := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		base64.StdEncoding.EncodeToString(der),
		f.key.D.String(),
		fmt.Sprintf("%x", f.key.D),
		"PRIVATE KEY",
	}
	for tok := range f.tokens {
		out = append(out, tok)
	}
	for _, a := range f.assertions {
		out = append(out, a, strings.Split(a, ".")[2])
	}
	return out
}

func (f *fakeHM) issued() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.tokens) }

func (f *fakeHM) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "fleetdeck/") {
		t.Errorf("%s %s: User-Agent %q", r.Method, r.URL.Path, ua)
	}
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/auth_tokens":
		f.serveAuth(w, r, body)
		return
	case "/access_tokens":
		f.serveClientAssertion(w, r, body)
		return
	}
	f.apiCalls.Add(1)
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	f.mu.Lock()
	exp, known := f.tokens[tok]
	f.mu.Unlock()
	switch {
	case !ok || !known:
		f.unknownUse.Add(1)
		writeJSON(w, 401, `{"errors":[{"title":"Not authorized","source":"Authorization","detail":"Missing or invalid authorization header"}]}`)
		return
	case !time.Now().Before(exp):
		f.expiredUse.Add(1)
		writeJSON(w, 401, `{"errors":[{"title":"Not authorized","source":"Authorization","detail":"token expired"}]}`)
		return
	}
	if len(body) > 0 && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: Content-Type %q with a body", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if f.api == nil {
		writeJSON(w, 200, `[]`)
		return
	}
	f.api(w, r, body)
}

func (f *fakeHM) serveAuth(w http.ResponseWriter, r *http.Request, body []byte) {
	t := f.t
	n := f.authCalls.Add(1)
	if r.Method != http.MethodPost {
		t.Errorf("auth_tokens: method %s", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("auth_tokens: Content-Type %q", ct)
	}
	if r.Header.Get("Authorization") != "" {
		t.Errorf("auth_tokens: sent an Authorization header")
	}
	var req struct {
		Assertion string `json:"assertion"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		t.Errorf("auth_tokens: body %q: %v", body, err)
	}
	if want, _ := json.Marshal(map[string]string{"assertion": req.Assertion}); !bytes.Equal(body, want) {
		t.Errorf("auth_tokens: body is not exactly {\"assertion\":...}: %d bytes", len(body))
	}
	f.mu.Lock()
	f.assertions = append(f.assertions, req.Assertion)
	f.mu.Unlock()
	f.verifyAssertion(req.Assertion)
	if f.authHook != nil && f.authHook(w, r, n) {
		return
	}
	now := time.Now()
	tok := fmt.Sprintf("hm-token-%d-%s", n, uuid.NewString())
	f.mu.Lock()
	f.tokens[tok] = now.Add(f.ttl)
	f.mu.Unlock()
	writeJSON(w, 201, fmt.Sprintf(`{"auth_token":%q,"valid_from":%q,"valid_until":%q}`,
		tok, now.UTC().Format(f.format), now.Add(f.ttl).UTC().Format(f.format)))
}

// testClientID is the OAuth2 client whose private key is the fake's key.
const testClientID = "40568550-5ace-4d72-b45b-f46679b620aa"

// serveClientAssertion is POST /access_tokens with a client_assertion, as
// High Mobility's OpenAPI file and fleet SDK send it: a JSON body of exactly
// client_id, client_assertion, grant_type and client_assertion_type.
func (f *fakeHM) serveClientAssertion(w http.ResponseWriter, r *http.Request, body []byte) {
	t := f.t
	n := f.authCalls.Add(1)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("access_tokens: %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
	}
	var req map[string]string
	if err := json.Unmarshal(body, &req); err != nil || len(req) != 4 {
		t.Errorf("access_tokens: body %d bytes, want exactly 4 string fields: %v", len(body), err)
	}
	if req["client_id"] != testClientID || req["grant_type"] != "client_credentials" ||
		req["client_assertion_type"] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Errorf("access_tokens: client_id %q grant_type %q client_assertion_type %q", req["client_id"], req["grant_type"], req["client_assertion_type"])
	}
	f.mu.Lock()
	f.assertions = append(f.assertions, req["client_assertion"])
	f.mu.Unlock()
	f.verifyAssertion(req["client_assertion"])
	if f.authHook != nil && f.authHook(w, r, n) {
		return
	}
	tok := fmt.Sprintf("hm-access-%d-%s", n, uuid.NewString())
	f.mu.Lock()
	f.tokens[tok] = time.Now().Add(f.ttl)
	f.mu.Unlock()
	writeJSON(w, 200, fmt.Sprintf(`{"access_token":%q,"expires_in":%d,"token_type":"bearer","scope":"fleet:clearance"}`, tok, int(f.ttl.Seconds())))
}

// keyFile writes the fake's key as the console hands it out ({"id",
// "private_key"} and extra fields), 0600, and returns its path.
func (f *fakeHM) keyFile(name string, extra map[string]string) string {
	f.t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		f.t.Fatal(err)
	}
	fields := map[string]string{"id": f.saID, "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))}
	for k, v := range extra {
		fields[k] = v
	}
	data, _ := json.Marshal(fields)
	path := filepath.Join(f.t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		f.t.Fatal(err)
	}
	return path
}

// oauthKey is the fake's key as the OAuth2 private key of testClientID.
func (f *fakeHM) oauthKey() *config.OAuthKey {
	return &config.OAuthKey{ID: f.saID, PrivateKey: f.key}
}

// verifyAssertion checks one assertion JWT as a strict server would.
func (f *fakeHM) verifyAssertion(a string) {
	t := f.t
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		t.Errorf("assertion has %d segments", len(parts))
		return
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Errorf("assertion header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(hdr, &h); err != nil || len(h) != 2 || h["alg"] != "ES256" || h["typ"] != "JWT" {
		t.Errorf("assertion header = %s, want exactly alg ES256, typ JWT", hdr)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Errorf("signature is %d bytes (err %v), want raw 64-byte r||s", len(sig), err)
	}
	parsed, err := jwt.Parse(a, func(*jwt.Token) (any, error) { return &f.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}))
	if err != nil || !parsed.Valid {
		t.Errorf("assertion does not verify with the public key: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Errorf("assertion payload: %v", err)
		return
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Errorf("claims: %v", err)
		return
	}
	if len(raw) != 5 {
		t.Errorf("claims %s: want exactly iss, aud, iat, jti, ver", payload)
	}
	var iss, aud, jti string
	if err := json.Unmarshal(raw["iss"], &iss); err != nil || iss != f.saID {
		t.Errorf("iss = %s, want %q", raw["iss"], f.saID)
	}
	if len(raw["aud"]) == 0 || raw["aud"][0] != '"' {
		t.Errorf("aud = %s, want a JSON string (not an array)", raw["aud"])
	}
	if err := json.Unmarshal(raw["aud"], &aud); err != nil || aud != f.aud {
		t.Errorf("aud = %s, want %q", raw["aud"], f.aud)
	}
	var iat int64
	if s := string(raw["iat"]); strings.ContainsAny(s, ".eE\"") {
		t.Errorf("iat = %s, want an integer", s)
	} else if err := json.Unmarshal(raw["iat"], &iat); err != nil {
		t.Errorf("iat = %s: %v", s, err)
	} else if f.fakeIAT {
		f.mu.Lock()
		f.iats = append(f.iats, iat)
		f.mu.Unlock()
	} else if now := time.Now().Unix(); iat > now {
		t.Errorf("iat %d is in the future (now %d)", iat, now)
	} else if now-iat > 30 {
		t.Errorf("iat %d is more than 30 s old (now %d)", iat, now)
	}
	if err := json.Unmarshal(raw["jti"], &jti); err != nil {
		t.Errorf("jti = %s", raw["jti"])
	} else if u, err := uuid.Parse(jti); err != nil || u.Version() != 4 || u.Variant() != uuid.RFC4122 || len(jti) != 36 {
		t.Errorf("jti %q is not a canonical UUIDv4", jti)
	}
	if s := string(raw["ver"]); s != fmt.Sprint(f.ver) {
		t.Errorf("ver = %s, want %d", s, f.ver)
	}
	f.mu.Lock()
	dup := f.jtis[jti]
	f.jtis[jti] = true
	f.mu.Unlock()
	if dup {
		t.Errorf("jti %s reused", jti)
	}
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// noSecrets fails when err's text holds any of the secrets.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			// Do not print the secret itself.
			t.Errorf("error text holds a secret (%d chars) : %.40q…", len(s), redactFor(msg, s))
		}
	}
}

func redactFor(msg, secret string) string { return strings.ReplaceAll(msg, secret, "<SECRET>") }

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

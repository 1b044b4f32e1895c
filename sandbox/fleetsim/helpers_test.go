package fleetsim_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
	"github.com/fleetdeck/fleetdeck/sandbox/internal/simclock"
)

const (
	saID        = "f6c331c4-9271-4e3b-a8c4-6a2cacac6451"
	clientKeyID = "5e3cc349-1c6f-4975-aeaa-9d319086190b" // the OAuth2 private key's id
)

// env is a simulator mounted under /hm/v1 on a loopback test server, driven
// as an independent HTTP client would drive it.
type env struct {
	t     *testing.T
	sim   *fleetsim.Server
	base  string            // .../hm/v1
	key   *ecdsa.PrivateKey // the service account's
	cKey  *ecdsa.PrivateKey // fleet-client's OAuth2 private key
	clock *simclock.Clock
}

type envOpt func(*fleetsim.Options)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String() + "/hm/v1"
	c := simclock.New(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	o := fleetsim.Options{
		BaseURL:         base,
		PublicKeys:      map[string]*ecdsa.PublicKey{saID: &key.PublicKey},
		ClientID:        "fleet-client",
		ClientSecret:    "s3cret-client",
		ClientKeys:      map[string]*ecdsa.PublicKey{clientKeyID: &cKey.PublicKey},
		TransitionDelay: 50 * time.Millisecond,
		Now:             c.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	sim := fleetsim.New(o)
	mux := http.NewServeMux()
	mux.Handle("/hm/v1/", http.StripPrefix("/hm/v1", sim.Handler()))
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return &env{t: t, sim: sim, base: base, key: key, cKey: cKey, clock: c}
}

// claims are a valid assertion's claims at the env's current time.
func (e *env) claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": saID,
		"aud": e.base,
		"iat": e.clock.Now().Unix(),
		"jti": uuid.NewString(),
		"ver": 1,
	}
}

func (e *env) sign(c jwt.MapClaims, key *ecdsa.PrivateKey) string {
	e.t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(key)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// oauthError returns an OAuth2 error body's code and description.
func (r response) oauthError() (string, string) {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error, e.Description
}

func (r response) errorDetail() string {
	var e struct {
		Errors []struct{ Title, Source, Detail string } `json:"errors"`
	}
	if json.Unmarshal(r.body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Detail
}

func (e *env) do(method, path, token, contentType string, body []byte) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) doJSON(method, path, token string, v any) response {
	e.t.Helper()
	var b []byte
	if v != nil {
		var err error
		if b, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.do(method, path, token, "application/json", b)
}

func (e *env) exchange(assertion string) response {
	e.t.Helper()
	return e.doJSON(http.MethodPost, "/auth_tokens", "", map[string]string{"assertion": assertion})
}

// token gets a fresh auth token.
func (e *env) token() string {
	e.t.Helper()
	r := e.exchange(e.sign(e.claims(), e.key))
	if r.status != http.StatusCreated {
		e.t.Fatalf("auth_tokens: HTTP %d %s", r.status, r.body)
	}
	var out struct {
		AuthToken string `json:"auth_token"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.AuthToken == "" {
		e.t.Fatalf("auth_tokens body: %v", err)
	}
	return out.AuthToken
}

type vehicle struct {
	VIN       string `json:"vin"`
	Brand     string `json:"brand"`
	Status    string `json:"status"`
	Changelog []struct {
		Timestamp string `json:"timestamp"`
		Status    string `json:"status"`
		Reason    string `json:"reason"`
	} `json:"changelog"`
	Tags map[string]string `json:"tags"`
}

func (e *env) list(token, filter string) []vehicle {
	e.t.Helper()
	path := "/fleets/vehicles"
	if filter != "" {
		path += "?filter=" + urlQueryEscape(filter)
	}
	r := e.do(http.MethodGet, path, token, "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("list: HTTP %d %s", r.status, r.body)
	}
	var vs []vehicle
	if err := json.Unmarshal(r.body, &vs); err != nil {
		e.t.Fatal(err)
	}
	return vs
}

func (e *env) vehicle(token, vin string) vehicle {
	e.t.Helper()
	r := e.do(http.MethodGet, "/fleets/vehicles/"+vin, token, "", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("get %s: HTTP %d %s", vin, r.status, r.body)
	}
	var v vehicle
	if err := json.Unmarshal(r.body, &v); err != nil {
		e.t.Fatal(err)
	}
	return v
}

type addResult struct {
	VIN         string `json:"vin"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

func (e *env) add(token string, rows ...map[string]any) []addResult {
	e.t.Helper()
	r := e.doJSON(http.MethodPost, "/fleets/vehicles", token, map[string]any{"vehicles": rows})
	if r.status != http.StatusOK {
		e.t.Fatalf("add: HTTP %d %s", r.status, r.body)
	}
	var out struct {
		Vehicles []addResult `json:"vehicles"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatal(err)
	}
	if len(out.Vehicles) != len(rows) {
		e.t.Fatalf("add: %d results for %d rows", len(out.Vehicles), len(rows))
	}
	return out.Vehicles
}

func statuses(v vehicle) string {
	var s []string
	for _, c := range v.Changelog {
		s = append(s, c.Status)
	}
	return strings.Join(s, ",")
}

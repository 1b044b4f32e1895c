package fleet

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

// OAuth2 with a private key: the client_assertion is the same ES256 JWT as
// a service account's, with ver 2, sent as JSON to /access_tokens.
func TestClientAssertion(t *testing.T) {
	f := newFakeHM(t)
	f.ver = 2
	hc := httpapi.New(httpapi.Options{})
	ts := NewClientAssertionSource(testClientID, f.oauthKey(), f.srv.URL, "", hc)
	c := New(f.srv.URL, ts, hc)
	for range 3 {
		if _, err := c.List(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.authCalls.Load(); n != 1 {
		t.Errorf("%d token requests for three calls, want 1 (cached)", n)
	}
	if c.TokenValidUntil().IsZero() {
		t.Error("no validity")
	}

	// A refusal in OAuth2's shape, echoing the assertion: an *APIError
	// without it.
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		f.mu.Lock()
		a := f.assertions[len(f.assertions)-1]
		f.mu.Unlock()
		writeJSON(w, 400, `{"error":"invalid_request","error_description":"client_assertion `+a+` is signed with an expired key"}`)
		return true
	}
	_, err := NewClientAssertionSource(testClientID, f.oauthKey(), f.srv.URL, "", nil).Token(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Errors[0].Title != "invalid_request" ||
		ae.Errors[0].Detail != "client_assertion "+httpapi.Redacted+" is signed with an expired key" {
		t.Fatalf("err = %v", err)
	}
	noSecrets(t, err, f.secrets()...)

	if _, err := NewClientAssertionSource(testClientID, nil, f.srv.URL, "", nil).Token(context.Background()); err == nil {
		t.Error("no key: no error")
	}
}

// NewFromConfig picks the flow from the keys the section sets.
func TestNewFromConfigClientAssertion(t *testing.T) {
	f := newFakeHM(t)
	f.ver = 2
	path := f.keyFile("oauth-key.json", nil)
	cfg := &config.Fleet{BaseURL: f.srv.URL, ClientID: testClientID, PrivateKeyFile: path, Audience: f.srv.URL}
	c, err := NewFromConfig(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if f.authCalls.Load() != 1 {
		t.Errorf("auth calls %d", f.authCalls.Load())
	}
	// Like every secret file, the key must be 0600.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	_, err = NewFromConfig(cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0640 key: %v", err)
	}
	noSecrets(t, err, f.secrets()...)
}

// High Mobility answers errors in three shapes; each becomes an *APIError.
func TestErrorBodyShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
		want   []ErrorItem
		text   string
	}{
		"errors object": {409, `{"errors":[{"title":"Conflict","source":"vin","detail":"Clearance is already removed"}]}`,
			[]ErrorItem{{"Conflict", "vin", "Clearance is already removed"}}, "HTTP 409: Conflict: Clearance is already removed (vin)"},
		"bare array (422 on /auth_tokens)": {422, `[{"title":"Invalid input","source":"assertion","detail":"ver must be 1 or 2"},{"title":"Invalid input","source":"iat","detail":"too old"}]`,
			[]ErrorItem{{"Invalid input", "assertion", "ver must be 1 or 2"}, {"Invalid input", "iat", "too old"}},
			"HTTP 422: Invalid input: ver must be 1 or 2 (assertion); Invalid input: too old (iat)"},
		"OAuth2": {400, `{"error":"invalid_request","error_description":"client_secret is invalid"}`,
			[]ErrorItem{{Title: "invalid_request", Detail: "client_secret is invalid"}}, "HTTP 400: invalid_request: client_secret is invalid"},
		"OAuth2 without description": {401, `{"error":"invalid_client"}`,
			[]ErrorItem{{Title: "invalid_client"}}, "HTTP 401: invalid_client"},
		"both (the errors array wins)": {401, `{"error":"invalid_client","error_description":"x","errors":[{"title":"Not authorized","detail":"y"}]}`,
			[]ErrorItem{{Title: "Not authorized", Detail: "y"}}, "HTTP 401: Not authorized: y"},
	} {
		t.Run(name, func(t *testing.T) {
			resp := &httpapi.Response{Status: tc.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)}
			err := responseError(resp)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("%v is not an *APIError", err)
			}
			if ae.Status != tc.status || len(ae.Errors) != len(tc.want) {
				t.Fatalf("%+v", ae)
			}
			for i := range tc.want {
				if ae.Errors[i] != tc.want[i] {
					t.Errorf("item %d: %+v, want %+v", i, ae.Errors[i], tc.want[i])
				}
			}
			if err.Error() != tc.text {
				t.Errorf("text %q, want %q", err, tc.text)
			}
		})
	}
	// What is none of them stays "unexpected response".
	for _, body := range []string{`[]`, `[1,2]`, `{"message":"nope"}`, `{"errors":[]}`, `[{}]`, `"x"`} {
		resp := &httpapi.Response{Status: 500, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
		var ue *httpapi.UnexpectedError
		if err := responseError(resp); !errors.As(err, &ue) {
			t.Errorf("%s: %v, want unexpected response", body, err)
		}
	}
}

// A 422 on /auth_tokens in the bare-array shape reaches the caller readable
// (it used to read "unexpected response").
func TestAuthTokens422BareArray(t *testing.T) {
	f := newFakeHM(t)
	f.authHook = func(w http.ResponseWriter, r *http.Request, n int32) bool {
		writeJSON(w, 422, `[{"title":"Unprocessable","source":"assertion","detail":"The JWT has expired"}]`)
		return true
	}
	_, err := f.client().List(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 422: Unprocessable: The JWT has expired (assertion)") {
		t.Fatalf("err = %v", err)
	}
}

// An OAuth2 refusal of the client is "unauthorized" even on a 400.
func TestIsUnauthorizedOAuth(t *testing.T) {
	for body, want := range map[string]bool{
		`{"error":"invalid_client","error_description":"x"}`:      true,
		`{"error":"invalid_grant"}`:                               true,
		`{"error":"invalid_request","error_description":"blank"}`: false,
		`{"errors":[{"title":"Bad request","detail":"nope"}]}`:    false,
	} {
		resp := &httpapi.Response{Status: 400, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
		if got := IsUnauthorized(responseError(resp)); got != want {
			t.Errorf("%s: IsUnauthorized %v, want %v", body, got, want)
		}
	}
}

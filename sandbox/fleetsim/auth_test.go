package fleetsim_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func TestAuthTokenIssuedForValidAssertion(t *testing.T) {
	e := newEnv(t, func(o *fleetsim.Options) { o.TokenTTL = 7 * time.Minute })
	r := e.exchange(e.sign(e.claims(), e.key))
	if r.status != http.StatusCreated {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	var out struct {
		AuthToken  string `json:"auth_token"`
		ValidFrom  string `json:"valid_from"`
		ValidUntil string `json:"valid_until"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	from, err1 := time.Parse(fleetsim.TimeFormat, out.ValidFrom)
	until, err2 := time.Parse(fleetsim.TimeFormat, out.ValidUntil)
	if err1 != nil || err2 != nil {
		t.Fatalf("timestamps %q %q: %v %v", out.ValidFrom, out.ValidUntil, err1, err2)
	}
	if !from.Equal(e.clock.Now()) || until.Sub(from) != 7*time.Minute {
		t.Errorf("validity %s..%s, want %s + 7m", from, until, e.clock.Now())
	}
	if !e.sim.ValidToken(out.AuthToken) || !e.sim.ValidToken("Bearer "+out.AuthToken) {
		t.Error("ValidToken refuses the issued token")
	}
	if got := e.do(http.MethodGet, "/fleets/vehicles", out.AuthToken, "", nil).status; got != http.StatusOK {
		t.Errorf("list with the token: HTTP %d", got)
	}
}

func TestAuthTokenAcceptsFormAndMultipart(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"assertion": {e.sign(e.claims(), e.key)}}.Encode()
	if r := e.do(http.MethodPost, "/auth_tokens", "", "application/x-www-form-urlencoded", []byte(form)); r.status != http.StatusCreated {
		t.Errorf("form: HTTP %d %s", r.status, r.body)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("assertion", e.sign(e.claims(), e.key))
	_ = mw.Close()
	if r := e.do(http.MethodPost, "/auth_tokens", "", mw.FormDataContentType(), buf.Bytes()); r.status != http.StatusCreated {
		t.Errorf("multipart (document 000's node example): HTTP %d %s", r.status, r.body)
	}
}

func TestAssertionRefusals(t *testing.T) {
	e := newEnv(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	with := func(k string, v any) jwt.MapClaims {
		c := e.claims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	now := e.clock.Now().Unix()
	cases := []struct {
		name      string
		assertion string
		detail    string
	}{
		{"wrong signature", e.sign(e.claims(), other), "signature"},
		{"unknown iss", e.sign(with("iss", "00000000-0000-0000-0000-000000000000"), e.key), "unknown service account"},
		{"aud array", e.sign(with("aud", []string{e.base}), e.key), "not an array"},
		{"aud other", e.sign(with("aud", "https://api.high-mobility.com/v1"), e.key), "base URL"},
		{"aud missing", e.sign(with("aud", nil), e.key), "aud"},
		{"iat 60s old", e.sign(with("iat", now-60), e.key), "old"},
		{"iat 60s ahead", e.sign(with("iat", now+60), e.key), "future"},
		{"iat string", e.sign(with("iat", "1502121268"), e.key), "integer"},
		{"iat fraction", e.sign(with("iat", float64(now)+0.5), e.key), "integer"},
		{"jti not uuid", e.sign(with("jti", "nonce-1"), e.key), "jti"},
		{"ver 3", e.sign(with("ver", 3), e.key), "ver"},
		{"ver missing", e.sign(with("ver", nil), e.key), "ver"},
		{"HS256", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, e.claims()).SignedString([]byte("k"))
			return s
		}(), "signing method"},
		{"alg none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, e.claims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}(), "signing method"},
		{"typ JWS", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodES256, e.claims())
			tok.Header["typ"] = "JWS"
			s, _ := tok.SignedString(e.key)
			return s
		}(), "typ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.exchange(c.assertion)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("HTTP %d %s, want 401", r.status, r.body)
			}
			if d := r.errorDetail(); !strings.Contains(d, c.detail) {
				t.Errorf("detail %q does not mention %q", d, c.detail)
			}
			if strings.Contains(string(r.body), c.assertion) {
				t.Error("the error echoes the assertion")
			}
		})
	}
}

func TestAssertionAcceptedVariants(t *testing.T) {
	e := newEnv(t)
	for name, mod := range map[string]func(jwt.MapClaims){
		"ver 2 (document 000's code example)": func(c jwt.MapClaims) { c["ver"] = 2 },
		"iat 20s old":                         func(c jwt.MapClaims) { c["iat"] = e.clock.Now().Unix() - 20 },
		"iat 20s ahead":                       func(c jwt.MapClaims) { c["iat"] = e.clock.Now().Unix() + 20 },
		"aud with trailing slash":             func(c jwt.MapClaims) { c["aud"] = e.base + "/" },
	} {
		c := e.claims()
		mod(c)
		if r := e.exchange(e.sign(c, e.key)); r.status != http.StatusCreated {
			t.Errorf("%s: HTTP %d %s", name, r.status, r.body)
		}
	}
}

func TestReusedJTIRefused(t *testing.T) {
	e := newEnv(t)
	c := e.claims()
	if r := e.exchange(e.sign(c, e.key)); r.status != http.StatusCreated {
		t.Fatalf("first use: HTTP %d", r.status)
	}
	// Same jti, freshly signed (a different signature) a few seconds later.
	e.clock.Add(5 * time.Second)
	c["iat"] = e.clock.Now().Unix()
	r := e.exchange(e.sign(c, e.key))
	if r.status != http.StatusUnauthorized || !strings.Contains(r.errorDetail(), "already been used") {
		t.Fatalf("reuse: HTTP %d %q", r.status, r.errorDetail())
	}
}

func TestMalformedAuthRequests(t *testing.T) {
	e := newEnv(t)
	for name, body := range map[string]string{
		"not json":          "{",
		"missing assertion": `{}`,
		"assertion number":  `{"assertion": 5}`,
	} {
		if r := e.do(http.MethodPost, "/auth_tokens", "", "application/json", []byte(body)); r.status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", name, r.status)
		}
	}
	if r := e.exchange("not.a.jwt"); r.status != http.StatusUnauthorized {
		t.Errorf("garbage assertion: HTTP %d, want 401", r.status)
	}
	if r := e.do(http.MethodGet, "/auth_tokens", "", "", nil); r.status != http.StatusMethodNotAllowed || r.errorDetail() == "" {
		t.Errorf("GET /auth_tokens: HTTP %d %s", r.status, r.body)
	}
}

func TestBearerRequired(t *testing.T) {
	e := newEnv(t, func(o *fleetsim.Options) { o.TokenTTL = time.Minute })
	for _, tok := range []string{"", "made-up"} {
		r := e.do(http.MethodGet, "/fleets/vehicles", tok, "", nil)
		if r.status != http.StatusUnauthorized || !strings.Contains(r.errorDetail(), "Authorization: Bearer") {
			t.Errorf("token %q: HTTP %d %s", tok, r.status, r.body)
		}
	}
	tok := e.token()
	e.clock.Add(59 * time.Second)
	if r := e.do(http.MethodGet, "/fleets/vehicles", tok, "", nil); r.status != http.StatusOK {
		t.Fatalf("before expiry: HTTP %d", r.status)
	}
	e.clock.Add(time.Second)
	if r := e.do(http.MethodGet, "/fleets/vehicles", tok, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("after expiry: HTTP %d, want 401", r.status)
	}
	if e.sim.ValidToken(tok) {
		t.Error("ValidToken accepts an expired token")
	}
}

func TestSetTokenTTL(t *testing.T) {
	e := newEnv(t)
	e.sim.SetTokenTTL(time.Second)
	tok := e.token()
	e.clock.Add(time.Second)
	if r := e.do(http.MethodGet, "/fleets/vehicles", tok, "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("HTTP %d, want 401 after a 1s TTL", r.status)
	}
}

func TestAccessTokensClientCredentials(t *testing.T) {
	e := newEnv(t, func(o *fleetsim.Options) { o.TokenTTL = 10 * time.Minute })
	post := func(form url.Values) response {
		return e.do(http.MethodPost, "/access_tokens", "", "application/x-www-form-urlencoded", []byte(form.Encode()))
	}
	r := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fleet-client"}, "client_secret": {"s3cret-client"}})
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d %s", r.status, r.body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	if out.ExpiresIn != 600 || out.TokenType != "Bearer" || out.AccessToken == "" {
		t.Errorf("got expires_in %d token_type %q", out.ExpiresIn, out.TokenType)
	}
	if got := e.do(http.MethodGet, "/fleets/vehicles", out.AccessToken, "", nil).status; got != http.StatusOK {
		t.Errorf("list with the access token: HTTP %d", got)
	}

	// The same as JSON, the body HM's OpenAPI file documents.
	r = e.doJSON(http.MethodPost, "/access_tokens", "", map[string]string{"grant_type": "client_credentials", "client_id": "fleet-client", "client_secret": "s3cret-client"})
	if r.status != http.StatusOK {
		t.Errorf("JSON body: HTTP %d %s", r.status, r.body)
	}

	// Errors in OAuth2's shape only.
	r = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fleet-client"}, "client_secret": {"wrong"}})
	if code, desc := r.oauthError(); r.status != http.StatusUnauthorized || code != "invalid_client" || desc == "" || strings.Contains(string(r.body), `"errors"`) {
		t.Errorf("wrong secret: HTTP %d %s", r.status, r.body)
	}
	if r = post(url.Values{"grant_type": {"password"}}); r.status != http.StatusBadRequest {
		t.Errorf("wrong grant: HTTP %d", r.status)
	}
	if r = e.doJSON(http.MethodPost, "/access_tokens", "", map[string]any{"grant_type": "client_credentials", "client_id": 5}); r.status != http.StatusBadRequest {
		t.Errorf("client_id not a string: HTTP %d", r.status)
	}
	if r = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fleet-client"}}); r.status != http.StatusBadRequest {
		t.Errorf("no secret: HTTP %d", r.status)
	}
}

// client_assertion (RFC 7523) signed with the client's OAuth2 private key,
// as HM's fleet SDK sends it: JSON with client_id, ver 2, aud the base URL.
func TestAccessTokensClientAssertion(t *testing.T) {
	e := newEnv(t)
	assertion := func(key *ecdsa.PrivateKey, iss string) string {
		c := e.claims()
		c["iss"], c["ver"] = iss, 2
		return e.sign(c, key)
	}
	body := func(clientID, a string) map[string]string {
		return map[string]string{"grant_type": "client_credentials", "client_id": clientID,
			"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": a}
	}
	r := e.doJSON(http.MethodPost, "/access_tokens", "", body("fleet-client", assertion(e.cKey, clientKeyID)))
	if r.status != http.StatusOK {
		t.Fatalf("client_assertion: HTTP %d %s", r.status, r.body)
	}
	// The same as a form, aud the token endpoint.
	c := e.claims()
	c["iss"], c["aud"] = clientKeyID, e.base+"/access_tokens"
	r = e.do(http.MethodPost, "/access_tokens", "", "application/x-www-form-urlencoded", []byte(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"fleet-client"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {e.sign(c, e.cKey)},
	}.Encode()))
	if r.status != http.StatusOK {
		t.Errorf("form client_assertion: HTTP %d %s", r.status, r.body)
	}
	for name, tc := range map[string]struct {
		body   map[string]string
		status int
		desc   string
	}{
		"service account key is not the client's": {body("fleet-client", assertion(e.key, saID)), 401, "unknown OAuth2 key"},
		"signed by another key":                   {body("fleet-client", assertion(e.key, clientKeyID)), 401, "invalid assertion"},
		"another client":                          {body("other", assertion(e.cKey, clientKeyID)), 401, "unknown client_id"},
		"no client_id":                            {body("", assertion(e.cKey, clientKeyID)), 400, "client_id can't be blank"},
		"wrong type": {map[string]string{"grant_type": "client_credentials", "client_id": "fleet-client",
			"client_assertion_type": "jwt", "client_assertion": assertion(e.cKey, clientKeyID)}, 400, "client_assertion_type must be"},
	} {
		r := e.doJSON(http.MethodPost, "/access_tokens", "", tc.body)
		if _, desc := r.oauthError(); r.status != tc.status || !strings.Contains(desc, tc.desc) {
			t.Errorf("%s: HTTP %d %s, want %d %q", name, r.status, r.body, tc.status, tc.desc)
		}
	}
}

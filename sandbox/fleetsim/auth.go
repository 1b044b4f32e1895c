package fleetsim

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

const (
	maxTokens     = 10_000  // live tokens kept; beyond this the oldest-expiring go first
	maxJTIs       = 100_000 // jtis remembered (each only while its iat is acceptable)
	maxAuthBody   = 64 << 10
	maxAssertion  = 16 << 10
	clientCredsID = "client:" // prefix of OAuth2 client identities in the rate limiter
)

type tokenInfo struct {
	client string
	until  time.Time
}

// authState holds issued tokens, used jtis and the rate limiter.
type authState struct {
	mu     sync.Mutex
	tokens map[string]tokenInfo
	jtis   map[string]time.Time // jti → when it may be forgotten
	rate   map[string]*window   // client identity → recent request times
}

func newAuthState() authState {
	return authState{
		tokens: make(map[string]tokenInfo),
		jtis:   make(map[string]time.Time),
		rate:   make(map[string]*window),
	}
}

// ValidToken reports whether bearer (with or without the "Bearer " prefix) is
// a token this server issued and that has not expired.
func (s *Server) ValidToken(bearer string) bool {
	_, ok := s.tokenClient(bearerValue(bearer), s.opts.Now())
	return ok
}

func bearerValue(h string) string {
	h = strings.TrimSpace(h)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return h
}

// tokenClient returns the client a live token was issued to.
func (s *Server) tokenClient(tok string, now time.Time) (string, bool) {
	if tok == "" {
		return "", false
	}
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	info, ok := a.tokens[tok]
	if !ok {
		return "", false
	}
	if !now.Before(info.until) {
		delete(a.tokens, tok)
		return "", false
	}
	return info.client, true
}

// issue creates a token for client.
func (s *Server) issue(client string, now time.Time) (string, time.Time) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	until := now.Add(s.ttl())
	a := &s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tokens) >= maxTokens {
		a.pruneTokens(now)
	}
	a.tokens[tok] = tokenInfo{client: client, until: until}
	return tok, until
}

// pruneTokens drops expired tokens, then the soonest-expiring ones until
// there is room again. Callers hold a.mu.
func (a *authState) pruneTokens(now time.Time) {
	for t, info := range a.tokens {
		if !now.Before(info.until) {
			delete(a.tokens, t)
		}
	}
	for len(a.tokens) >= maxTokens {
		var oldest string
		var at time.Time
		for t, info := range a.tokens {
			if oldest == "" || info.until.Before(at) {
				oldest, at = t, info.until
			}
		}
		delete(a.tokens, oldest)
	}
}

var errJTIFull = errors.New("too many assertions in the last minute")

// useJTI records jti as used until forget; false when it was used already.
func (a *authState) useJTI(jti string, now, forget time.Time) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if until, ok := a.jtis[jti]; ok && now.Before(until) {
		return false, nil
	}
	if len(a.jtis) >= maxJTIs {
		for j, until := range a.jtis {
			if !now.Before(until) {
				delete(a.jtis, j)
			}
		}
		if len(a.jtis) >= maxJTIs {
			return false, errJTIFull
		}
	}
	a.jtis[jti] = forget
	return true, nil
}

// authTokens serves POST /auth_tokens.
func (s *Server) authTokens(w http.ResponseWriter, r *http.Request) {
	assertion, err := readField(w, r, "assertion")
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad request", Source: "assertion", Detail: err.Error()})
		return
	}
	if assertion == "" {
		writeErrors(w, http.StatusBadRequest, apiError{Title: "Bad request", Source: "assertion",
			Detail: "Missing or invalid assertion. It must be a JWT signed with the service account key"})
		return
	}
	now := s.opts.Now()
	iss, err := s.verifyAssertion(assertion, s.opts.PublicKeys, "service account", now, s.opts.BaseURL)
	if err != nil {
		s.log.Info("fleetsim: assertion refused", "reason", err.Error())
		status := http.StatusUnauthorized
		if errors.Is(err, errJTIFull) {
			status = http.StatusTooManyRequests
		}
		writeErrors(w, status, apiError{Title: "Not authorized", Source: "assertion", Detail: err.Error()})
		return
	}
	tok, until := s.issue(iss, now)
	s.log.Debug("fleetsim: auth token issued", "iss", iss)
	writeJSON(w, http.StatusCreated, map[string]string{
		"auth_token":  tok,
		"valid_from":  now.UTC().Format(TimeFormat),
		"valid_until": until.UTC().Format(TimeFormat),
	})
}

// verifyAssertion checks a service-account JWT and returns its issuer. The
// errors it returns are safe to show: they never contain the assertion.
// keys maps a key id (iss) to its public key; what names such a key in
// errors ("service account", "OAuth2 key").
func (s *Server) verifyAssertion(assertion string, keys map[string]*ecdsa.PublicKey, what string, now time.Time, audiences ...string) (string, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithJSONNumber(),
		jwt.WithoutClaimsValidation(), // iat/aud/jti are checked below, the way High Mobility documents them
	)
	claims := jwt.MapClaims{}
	tok, err := parser.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.(jwt.MapClaims)["iss"].(string)
		key, ok := keys[iss]
		if !ok || key == nil {
			return nil, fmt.Errorf("unknown %s (iss %q)", what, clip(iss))
		}
		return key, nil
	})
	if err != nil {
		return "", fmt.Errorf("invalid assertion: %w", err)
	}
	if typ, ok := tok.Header["typ"]; ok {
		if ts, _ := typ.(string); !strings.EqualFold(ts, "JWT") {
			return "", errors.New("invalid assertion: typ header must be \"JWT\"")
		}
	}
	iss, _ := claims["iss"].(string)

	switch aud := claims["aud"].(type) {
	case string:
		if !audienceMatches(aud, audiences) {
			return "", fmt.Errorf("invalid assertion: aud %q is not this API's base URL", clip(aud))
		}
	case nil:
		return "", errors.New("invalid assertion: aud is missing")
	case []any:
		return "", errors.New("invalid assertion: aud must be a string, not an array")
	default:
		return "", errors.New("invalid assertion: aud must be a string")
	}

	iatNum, ok := claims["iat"].(json.Number)
	if !ok {
		return "", errors.New("invalid assertion: iat must be an integer Unix timestamp")
	}
	iat, err := strconv.ParseInt(string(iatNum), 10, 64)
	if err != nil {
		return "", errors.New("invalid assertion: iat must be an integer Unix timestamp")
	}
	skew := now.Unix() - iat
	if skew > int64(IATSkew/time.Second) {
		return "", fmt.Errorf("invalid assertion: iat is %ds old (tolerance %s)", skew, IATSkew)
	}
	if -skew > int64(IATSkew/time.Second) {
		return "", fmt.Errorf("invalid assertion: iat is %ds in the future (tolerance %s)", -skew, IATSkew)
	}

	ver, ok := claims["ver"].(json.Number)
	if !ok || (ver != "1" && ver != "2") {
		return "", errors.New("invalid assertion: ver must be 1 or 2")
	}

	jti, _ := claims["jti"].(string)
	if _, err := uuid.Parse(jti); err != nil || len(jti) != 36 {
		return "", errors.New("invalid assertion: jti must be a UUID")
	}
	// Remember the jti for as long as its iat would still be accepted.
	forget := time.Unix(iat, 0).Add(IATSkew + time.Second)
	fresh, err := s.auth.useJTI(strings.ToLower(jti), now, forget)
	if err != nil {
		return "", err
	}
	if !fresh {
		return "", errors.New("invalid assertion: jti has already been used")
	}
	return iss, nil
}

func audienceMatches(aud string, want []string) bool {
	for _, w := range want {
		if w != "" && strings.TrimSuffix(aud, "/") == strings.TrimSuffix(w, "/") {
			return true
		}
	}
	return false
}

// writeOAuthError answers in OAuth2's shape, {"error", "error_description"},
// as High Mobility's /access_tokens does (hm-oauth-rest-v1.yml).
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// ClientAssertionType is RFC 7523's client_assertion_type for a JWT.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// accessTokens serves POST /access_tokens: the client credentials grant, as
// JSON (what the OpenAPI file and HM's fleet SDK send) or form-encoded (RFC
// 6749), the client authenticated by client_id + client_secret (or HTTP
// Basic), or by client_id + a client_assertion signed with one of the
// client's OAuth2 private keys.
func (s *Server) accessTokens(w http.ResponseWriter, r *http.Request) {
	req, err := readTokenRequest(w, r)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if gt := req["grant_type"]; gt != "client_credentials" {
		if gt == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type can't be blank")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	now := s.opts.Now()
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = req["client_id"], req["client_secret"]
	}
	var client string
	switch a := req["client_assertion"]; {
	case a != "":
		if req["client_assertion_type"] != ClientAssertionType {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+ClientAssertionType)
			return
		}
		if id == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_id can't be blank")
			return
		}
		if s.opts.ClientID == "" || id != s.opts.ClientID {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id")
			return
		}
		base := strings.TrimSuffix(s.opts.BaseURL, "/")
		if _, err := s.verifyAssertion(a, s.opts.ClientKeys, "OAuth2 key", now, base, base+"/access_tokens"); err != nil {
			s.log.Info("fleetsim: client assertion refused", "reason", err.Error())
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
			return
		}
	case id == "" || secret == "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_id can't be blank, client_secret can't be blank")
		return
	case s.opts.ClientID == "" || id != s.opts.ClientID ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1:
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id or wrong client_secret")
		return
	}
	client = clientCredsID + id
	tok, until := s.issue(client, now)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int64(math.Round(until.Sub(now).Seconds())),
		"token_type":   "Bearer",
		"scope":        "fleet:clearance vehicle:eligibility-check",
	})
}

// tokenFields are the string fields a token request may carry.
var tokenFields = []string{"grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type"}

// readTokenRequest reads the token request's fields from a JSON or a
// form-encoded body.
func readTokenRequest(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	out := make(map[string]string, len(tokenFields))
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			return nil, errors.New("the form body could not be read")
		}
		for _, f := range tokenFields {
			out[f] = r.PostForm.Get(f)
		}
	} else {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, errors.New("the body must be a JSON object or a form")
		}
		for _, f := range tokenFields {
			switch v := body[f].(type) {
			case nil:
			case string:
				out[f] = v
			default:
				return nil, fmt.Errorf("%s must be a string", f)
			}
		}
	}
	if len(out["client_assertion"]) > maxAssertion {
		return nil, errors.New("client_assertion is too long")
	}
	return out, nil
}

// readField reads one string field from a JSON, form or multipart body.
func readField(w http.ResponseWriter, r *http.Request, name string) (string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return "", errors.New("the form body could not be read")
		}
		return boundField(r.PostForm.Get(name))
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxAuthBody); err != nil {
			return "", errors.New("the multipart body could not be read")
		}
		return boundField(r.FormValue(name))
	default: // JSON, also when the client sent no content type
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return "", errors.New("the body must be a JSON object")
		}
		v, ok := body[name]
		if !ok {
			return "", nil
		}
		sv, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s must be a string", name)
		}
		return boundField(sv)
	}
}

func boundField(v string) (string, error) {
	if len(v) > maxAssertion {
		return "", errors.New("the assertion is too long")
	}
	return v, nil
}

// clip bounds and sanitizes client-supplied text echoed in an error.
func clip(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return termsafe.String(s)
}

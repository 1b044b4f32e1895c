package fleetsim

import (
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
	iss, err := s.verifyAssertion(assertion, now, s.opts.BaseURL)
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
func (s *Server) verifyAssertion(assertion string, now time.Time, audiences ...string) (string, error) {
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"ES256"}),
		jwt.WithJSONNumber(),
		jwt.WithoutClaimsValidation(), // iat/aud/jti are checked below, the way High Mobility documents them
	)
	claims := jwt.MapClaims{}
	tok, err := parser.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) {
		iss, _ := t.Claims.(jwt.MapClaims)["iss"].(string)
		key, ok := s.opts.PublicKeys[iss]
		if !ok || key == nil {
			return nil, fmt.Errorf("unknown service account (iss %q)", clip(iss))
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

// oauthError is an OAuth2 error that also carries the API's errors array, so
// a client reading either shape understands it.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": desc,
		"errors":            []apiError{{Title: code, Source: "client", Detail: desc}},
	})
}

// accessTokens serves POST /access_tokens (OAuth2 client credentials).
func (s *Server) accessTokens(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAuthBody)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be form-encoded")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	now := s.opts.Now()
	var client string
	if a := r.PostForm.Get("client_assertion"); a != "" {
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			return
		}
		base := strings.TrimSuffix(s.opts.BaseURL, "/")
		iss, err := s.verifyAssertion(a, now, base, base+"/access_tokens")
		if err != nil {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
			return
		}
		client = iss
	} else {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if s.opts.ClientID == "" || id != s.opts.ClientID ||
			subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "unknown client_id or wrong client_secret")
			return
		}
		client = clientCredsID + id
	}
	tok, until := s.issue(client, now)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_in":   int64(math.Round(until.Sub(now).Seconds())),
		"token_type":   "Bearer",
	})
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

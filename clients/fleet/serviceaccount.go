package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

// NewServiceAccountSource exchanges ES256-signed assertions for auth tokens
// (POST {baseURL}/auth_tokens): High Mobility's service-account flow, which
// its documents call deprecated in favour of OAuth2 client credentials.
// audience defaults to baseURL and ver to 1.
func NewServiceAccountSource(sa *config.ServiceAccount, baseURL, audience string, ver int, hc *httpapi.Client, opts ...SourceOption) TokenSource {
	baseURL = strings.TrimRight(baseURL, "/")
	if audience == "" {
		audience = baseURL
	}
	if ver == 0 {
		ver = 1
	}
	if hc == nil {
		hc = httpapi.New(httpapi.Options{})
	}
	s := &serviceAccount{sa: sa, url: baseURL + "/auth_tokens", aud: audience, ver: ver, hc: hc}
	s.cache = newCache("fleet auth token", s.fetch, opts)
	return s
}

type serviceAccount struct {
	*cache
	sa  *config.ServiceAccount
	url string
	aud string
	ver int
	hc  *httpapi.Client
}

// assertion builds and signs one JWT. Every call gets a new jti: the server
// accepts each assertion once.
func (s *serviceAccount) assertion(now time.Time) (string, error) {
	if s.sa == nil || s.sa.PrivateKey == nil {
		return "", errors.New("no service account key")
	}
	return signAssertion(s.sa.PrivateKey, s.sa.ID, s.aud, s.ver, now)
}

// signAssertion signs the JWT both of High Mobility's key flows send (the
// service account's assertion and OAuth2's client_assertion): header
// {"alg":"ES256","typ":"JWT"}, claims iss, aud (a plain string), iat
// (integer seconds), a fresh UUIDv4 jti and ver.
func signAssertion(key *ecdsa.PrivateKey, iss, aud string, ver int, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("no key")
	}
	if key.Curve != elliptic.P256() {
		return "", errors.New("the key is not a P-256 key (ES256 needs one)")
	}
	jti, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("assertion id: %w", err)
	}
	// MapClaims, not RegisteredClaims: the latter writes aud as an array.
	claims := jwt.MapClaims{
		"iss": iss,
		"aud": aud,
		// Truncated, never rounded up: the server rejects an iat in its future.
		"iat": now.Unix(),
		"jti": jti.String(),
		"ver": ver,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(key)
	if err != nil {
		// Say only what failed: nothing about the key reaches an error.
		return "", errors.New("sign assertion: ES256 signing failed")
	}
	return signed, nil
}

type authTokenResponse struct {
	AuthToken  string `json:"auth_token"`
	ValidFrom  string `json:"valid_from"`
	ValidUntil string `json:"valid_until"`
}

func (s *serviceAccount) fetch(ctx context.Context, sent time.Time) (Token, error) {
	const op = "get fleet auth token"
	assertion, err := s.assertion(sent)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	body, err := json.Marshal(map[string]string{"assertion": assertion})
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	resp, err := postToken(ctx, s.hc, s.url, body, "application/json", assertion)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	var r authTokenResponse
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.AuthToken == "" {
		return Token{}, fmt.Errorf("%s: %w", op, httpapi.Unexpected(resp))
	}
	until, err := parseTime(r.ValidUntil)
	if err != nil {
		return Token{}, fmt.Errorf("%s: valid_until %q: %w", op, safe(r.ValidUntil), err)
	}
	from, _ := parseTime(r.ValidFrom) // optional: without it the server's end is used as is
	f, u := anchor(sent, from, until)
	return Token{Value: r.AuthToken, ValidFrom: f, ValidUntil: u}, nil
}

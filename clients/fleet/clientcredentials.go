package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
)

// NewClientCredentialsSource gets OAuth2 access tokens with the client
// credentials grant (POST {baseURL}/access_tokens, form encoded), the flow
// High Mobility recommends over service accounts.
func NewClientCredentialsSource(clientID, clientSecret, baseURL string, hc *httpapi.Client, opts ...SourceOption) TokenSource {
	if hc == nil {
		hc = httpapi.New(httpapi.Options{})
	}
	s := &clientCredentials{
		id:     clientID,
		secret: clientSecret,
		url:    strings.TrimRight(baseURL, "/") + "/access_tokens",
		hc:     hc,
	}
	s.cache = newCache("fleet access token", s.fetch, opts)
	return s
}

type clientCredentials struct {
	*cache
	id, secret string
	url        string
	hc         *httpapi.Client
}

type accessTokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// form is written by hand, not with url.Values.Encode, so the fields go in
// the order RFC 6749's examples use (Encode sorts them).
func (s *clientCredentials) form() []byte {
	return []byte("grant_type=client_credentials&client_id=" + url.QueryEscape(s.id) +
		"&client_secret=" + url.QueryEscape(s.secret))
}

func (s *clientCredentials) fetch(ctx context.Context, sent time.Time) (Token, error) {
	const op = "get fleet access token"
	if s.id == "" || s.secret == "" {
		return Token{}, fmt.Errorf("%s: client id or secret is empty", op)
	}
	resp, err := s.hc.Do(ctx, httpapi.Request{
		Method: http.MethodPost, URL: s.url, Body: s.form(),
		ContentType: "application/x-www-form-urlencoded",
	})
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		return Token{}, fmt.Errorf("%s: %w", op, responseError(resp, s.secret))
	}
	var r accessTokenResponse
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.AccessToken == "" {
		return Token{}, fmt.Errorf("%s: %w", op, httpapi.Unexpected(resp))
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return Token{}, fmt.Errorf("%s: token type %q is not bearer", op, safe(r.TokenType))
	}
	if r.ExpiresIn <= 0 {
		return Token{}, fmt.Errorf("%s: %w", op, errExpiredOnArrival)
	}
	return Token{Value: r.AccessToken, ValidFrom: sent, ValidUntil: sent.Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}

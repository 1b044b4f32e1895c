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
	"github.com/fleetdeck/fleetdeck/config"
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
	t, err := requestAccessToken(ctx, s.hc, s.url, s.form(), "application/x-www-form-urlencoded", s.secret, sent)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

// postToken sends a token request and turns any answer but 200/201 into
// an error with secret scrubbed from it.
func postToken(ctx context.Context, hc *httpapi.Client, url string, body []byte, contentType, secret string) (*httpapi.Response, error) {
	resp, err := hc.Do(ctx, httpapi.Request{Method: http.MethodPost, URL: url, Body: body, ContentType: contentType})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		return nil, responseError(resp, secret)
	}
	return resp, nil
}

// requestAccessToken posts a request to /access_tokens and reads the answer:
// {access_token, expires_in, token_type}, anchored at sent.
func requestAccessToken(ctx context.Context, hc *httpapi.Client, url string, body []byte, contentType, secret string, sent time.Time) (Token, error) {
	resp, err := postToken(ctx, hc, url, body, contentType, secret)
	if err != nil {
		return Token{}, err
	}
	var r accessTokenResponse
	if err := json.Unmarshal(resp.Body, &r); err != nil || r.AccessToken == "" {
		return Token{}, httpapi.Unexpected(resp)
	}
	if r.TokenType != "" && !strings.EqualFold(r.TokenType, "bearer") {
		return Token{}, fmt.Errorf("token type %q is not bearer", safe(r.TokenType))
	}
	if r.ExpiresIn <= 0 {
		return Token{}, errExpiredOnArrival
	}
	return Token{Value: r.AccessToken, ValidFrom: sent, ValidUntil: sent.Add(time.Duration(r.ExpiresIn) * time.Second)}, nil
}

// ClientAssertionType is the OAuth2 client_assertion_type of a JWT signed
// with the client's private key (RFC 7523).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// NewClientAssertionSource gets OAuth2 access tokens with the client
// credentials grant, the client authenticating with a client_assertion: an
// ES256 JWT signed with the OAuth2 private key from High Mobility's console
// (iss its id, aud the base URL unless audience says otherwise, ver 2), as
// High Mobility's fleet SDK does. POST {baseURL}/access_tokens with JSON
// {client_id, client_assertion, grant_type, client_assertion_type}.
func NewClientAssertionSource(clientID string, key *config.OAuthKey, baseURL, audience string, hc *httpapi.Client, opts ...SourceOption) TokenSource {
	baseURL = strings.TrimRight(baseURL, "/")
	if audience == "" {
		audience = baseURL
	}
	if hc == nil {
		hc = httpapi.New(httpapi.Options{})
	}
	s := &clientAssertion{id: clientID, key: key, aud: audience, url: baseURL + "/access_tokens", hc: hc}
	s.cache = newCache("fleet access token", s.fetch, opts)
	return s
}

// clientAssertionVersion is the ver claim High Mobility's SDK signs client
// assertions with.
const clientAssertionVersion = 2

type clientAssertion struct {
	*cache
	id  string
	key *config.OAuthKey
	aud string
	url string
	hc  *httpapi.Client
}

func (s *clientAssertion) fetch(ctx context.Context, sent time.Time) (Token, error) {
	const op = "get fleet access token"
	if s.id == "" || s.key == nil {
		return Token{}, fmt.Errorf("%s: client id or private key is missing", op)
	}
	assertion, err := signAssertion(s.key.PrivateKey, s.key.ID, s.aud, clientAssertionVersion, sent)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	body, err := json.Marshal(struct {
		ClientID            string `json:"client_id"`
		ClientAssertion     string `json:"client_assertion"`
		GrantType           string `json:"grant_type"`
		ClientAssertionType string `json:"client_assertion_type"`
	}{s.id, assertion, "client_credentials", ClientAssertionType})
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	t, err := requestAccessToken(ctx, s.hc, s.url, body, "application/json", assertion, sent)
	if err != nil {
		return Token{}, fmt.Errorf("%s: %w", op, err)
	}
	return t, nil
}

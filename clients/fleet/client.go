// Package fleet is the client of High Mobility's fleet clearance API:
// bearer tokens from a service account (ES256 assertion → auth token) or
// OAuth2 client credentials (client secret, or a client_assertion signed
// with the OAuth2 private key), clearance list/add/revoke, and eligibility.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/config"
)

// Defaults for rate-limit handling. The documented limit is 60 calls a
// minute, so a 429 usually clears within seconds.
const (
	DefaultBackoff     = 5 * time.Second
	DefaultMaxWait     = 60 * time.Second
	DefaultMaxAttempts = 3
)

// Client calls the fleet API. It is safe for concurrent use.
type Client struct {
	base string
	ts   TokenSource
	hc   *httpapi.Client

	backoff     time.Duration
	maxWait     time.Duration
	maxAttempts int
	now         func() time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithBackoff sets the wait after a 429 that names no delay.
func WithBackoff(d time.Duration) Option { return func(c *Client) { c.backoff = d } }

// WithMaxWait bounds one wait after a 429; a longer demand is returned as
// the error instead of being waited out.
func WithMaxWait(d time.Duration) Option { return func(c *Client) { c.maxWait = d } }

// WithMaxAttempts bounds the tries of one call that keeps getting 429.
func WithMaxAttempts(n int) Option { return func(c *Client) { c.maxAttempts = n } }

// New returns a client for baseURL (e.g. https://sandbox.api.high-mobility.com/v1).
func New(baseURL string, ts TokenSource, hc *httpapi.Client, opts ...Option) *Client {
	if hc == nil {
		hc = httpapi.New(httpapi.Options{})
	}
	c := &Client{
		base: strings.TrimRight(baseURL, "/"), ts: ts, hc: hc,
		backoff: DefaultBackoff, maxWait: DefaultMaxWait, maxAttempts: DefaultMaxAttempts,
		now: time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = 1
	}
	return c
}

// NewFromConfig builds the client the [fleet] section describes: a service
// account, or OAuth2 client credentials with a client secret or with a
// client_assertion signed by the OAuth2 private key (config.Fleet.Auth).
func NewFromConfig(cfg *config.Fleet, log *slog.Logger) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("fleet: no [fleet] section in the config")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("fleet: base_url is empty")
	}
	hc := httpapi.New(httpapi.Options{Logger: log})
	var ts TokenSource
	switch cfg.Auth() {
	case config.FleetAuthServiceAccount:
		sa, err := config.LoadServiceAccount(cfg.ServiceAccount)
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		ts = NewServiceAccountSource(sa, cfg.BaseURL, cfg.Audience, cfg.JWTVersion, hc)
	case config.FleetAuthClientAssertion:
		key, err := config.LoadOAuthKey(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		ts = NewClientAssertionSource(cfg.ClientID, key, cfg.BaseURL, cfg.Audience, hc)
	case config.FleetAuthClientSecret:
		secret, err := cfg.ClientSecret()
		if err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
		ts = NewClientCredentialsSource(cfg.ClientID, secret, cfg.BaseURL, hc)
	default:
		return nil, errors.New("fleet: set service_account, or client_id with client_secret_file or private_key_file")
	}
	return New(cfg.BaseURL, ts, hc), nil
}

// TokenValidUntil returns when the current token stops being valid, or zero
// when there is none yet (for the status bar).
func (c *Client) TokenValidUntil() time.Time {
	if c.ts == nil {
		return time.Time{}
	}
	return c.ts.ValidUntil()
}

// call sends one request with a bearer token. A 401 invalidates the token
// and retries once with a new one; a 429 waits (Retry-After, else a delay
// named in the error detail, else the backoff) and retries, up to
// maxAttempts. Any other response is returned for the caller to judge,
// with the bearer token it was sent with (to keep it out of error text).
func (c *Client) call(ctx context.Context, method, path string, body any) (*httpapi.Response, string, error) {
	if c.ts == nil {
		return nil, "", errors.New("no token source")
	}
	var payload []byte
	var ctype string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, "", err
		}
		payload, ctype = b, "application/json"
	}
	reauthorized := false
	for attempt := 1; ; attempt++ {
		tok, err := c.ts.Token(ctx)
		if err != nil {
			// The token endpoint is rate limited too.
			if d, ok := c.retryWait(err, nil, attempt); ok {
				if err := httpapi.Sleep(ctx, d); err != nil {
					return nil, "", err
				}
				continue
			}
			return nil, "", err
		}
		resp, err := c.hc.Do(ctx, httpapi.Request{
			Method: method, URL: c.base + path, Body: payload, ContentType: ctype,
			Header: http.Header{"Authorization": {"Bearer " + tok.Value}},
		})
		if err != nil {
			return nil, "", err
		}
		switch resp.Status {
		case http.StatusUnauthorized:
			c.ts.Invalidate(tok.Value)
			if !reauthorized {
				reauthorized = true
				attempt-- // a re-authorization is not a rate-limit attempt
				continue
			}
		case http.StatusTooManyRequests:
			if d, ok := c.retryWait(responseError(resp, tok.Value), resp, attempt); ok {
				if err := httpapi.Sleep(ctx, d); err != nil {
					return nil, "", err
				}
				continue
			}
		}
		return resp, tok.Value, nil
	}
}

// retryWait decides whether a rate-limited attempt is retried and after how
// long. err is the 429 as an error (its detail may name a delay); resp is
// nil when the 429 came from the token endpoint.
func (c *Client) retryWait(err error, resp *httpapi.Response, attempt int) (time.Duration, bool) {
	if attempt >= c.maxAttempts {
		return 0, false
	}
	var d time.Duration
	if resp != nil {
		if resp.Status != http.StatusTooManyRequests {
			return 0, false
		}
		d = httpapi.RetryAfter(resp.Header, c.now())
	} else if !IsRateLimited(err) {
		return 0, false
	}
	if d == 0 {
		var ae *APIError
		if errors.As(err, &ae) {
			d = delayIn(ae)
		}
	}
	if d == 0 {
		d = c.backoff
	}
	if d > c.maxWait {
		return 0, false
	}
	return d, true
}

var secondsIn = regexp.MustCompile(`(?i)(\d{1,5})\s*(?:s|sec|secs|second|seconds)\b`)

// delayIn finds a delay the error text names ("try again in 12 seconds").
func delayIn(ae *APIError) time.Duration {
	for _, it := range ae.Errors {
		for _, s := range []string{it.Detail, it.Title} {
			if m := secondsIn.FindStringSubmatch(s); m != nil {
				if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	return 0
}

// decode reads a 2xx JSON body into out, or turns the response into an
// error with bearer scrubbed from its text.
func decode(resp *httpapi.Response, bearer string, out any, ok ...int) error {
	for _, s := range ok {
		if resp.Status == s {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(resp.Body, out); err != nil {
				return httpapi.Unexpected(resp)
			}
			return nil
		}
	}
	return responseError(resp, bearer)
}

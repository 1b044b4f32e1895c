package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
)

// AuthState is what the MRV API last said about the API key, for the
// status bar.
type AuthState int

const (
	AuthUnknown    AuthState = iota // not checked yet
	AuthOK                          // the last request was accepted
	AuthUnverified                  // 503: the service could not check the key; it is kept and retried
	AuthInvalid                     // 401/403: the key is refused
)

func (s AuthState) String() string {
	switch s {
	case AuthOK:
		return "ok"
	case AuthUnverified:
		return "unverified: retrying"
	case AuthInvalid:
		return "invalid"
	}
	return "unknown"
}

// ErrInvalidKey is a key the MRV API refused (401/403).
var ErrInvalidKey = errors.New("API key invalid: create a new key with `fleetdeck platform login`")

// ErrUnverified is a key the MRV API could not check (503) even after
// retrying. The key may well be fine: it is kept.
var ErrUnverified = errors.New("API key could not be verified right now (HTTP 503): the key is kept; try again later")

// Client calls the MRV API with an API key. It is safe for concurrent use.
type Client struct {
	baseURL string
	apiKey  string
	hc      *httpapi.Client
	log     *slog.Logger

	attempts int           // requests per call while the answer is 503
	backoff  time.Duration // first wait after a 503, doubled each time
	sleep    func(ctx context.Context, d time.Duration) error
	onState  func(AuthState)

	notify sync.Mutex // orders onState calls
	mu     sync.Mutex
	state  AuthState
}

// Option adjusts a Client.
type Option func(*Client)

// WithOnState calls f whenever the auth state changes (from the goroutine
// that made the request; f must not block).
func WithOnState(f func(AuthState)) Option {
	return func(c *Client) { c.onState = f }
}

// WithRetry sets how many requests one call makes while the answer is 503
// (at least 1) and the first wait between them, doubled each time.
// Defaults: 4 requests, waits of about 1s, 2s, 4s.
func WithRetry(attempts int, first time.Duration) Option {
	return func(c *Client) {
		if attempts >= 1 {
			c.attempts = attempts
		}
		if first > 0 {
			c.backoff = first
		}
	}
}

// WithSleep replaces the wait between retries (tests make it instant).
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) {
		if sleep != nil {
			c.sleep = sleep
		}
	}
}

// WithLogger logs retries (never the key).
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.log = l
		}
	}
}

// New returns a client for the MRV API at baseURL using apiKey.
func New(baseURL, apiKey string, hc *httpapi.Client, opts ...Option) *Client {
	c := &Client{
		baseURL:  strings.TrimRight(baseURL, "/"),
		apiKey:   apiKey,
		hc:       client(hc),
		log:      slog.New(slog.DiscardHandler),
		attempts: 4,
		backoff:  time.Second,
		sleep:    httpapi.Sleep,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// String keeps the key out of %v.
func (c *Client) String() string { return "platform.Client{" + c.baseURL + "}" }

// GoString keeps the key out of %#v.
func (c *Client) GoString() string { return c.String() }

// State is the key's last known state.
func (c *Client) State() AuthState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *Client) setState(s AuthState) {
	c.notify.Lock()
	defer c.notify.Unlock()
	c.mu.Lock()
	changed := c.state != s
	c.state = s
	c.mu.Unlock()
	if changed && c.onState != nil {
		c.onState(s)
	}
}

// maxRetryAfter caps how long a Retry-After may hold a call.
const maxRetryAfter = 30 * time.Second

// Fields lists the fields registered to the client (GET /fields).
func (c *Client) Fields(ctx context.Context) ([]json.RawMessage, error) {
	resp, err := c.get(ctx, "fields")
	if err != nil {
		return nil, fmt.Errorf("list fields: %w", err)
	}
	var out []json.RawMessage
	if !resp.JSON() || json.Unmarshal(resp.Body, &out) != nil {
		return nil, fmt.Errorf("list fields: %w", httpapi.Unexpected(resp))
	}
	return out, nil
}

// get performs an authenticated GET, retrying while the service cannot
// verify the key, and keeps the auth state current.
func (c *Client) get(ctx context.Context, path string) (*httpapi.Response, error) {
	if c.apiKey == "" {
		return nil, errors.New("no API key: create one with `fleetdeck platform login`")
	}
	h := http.Header{}
	h["ApiKey"] = []string{c.apiKey} // the document's spelling (see wireCasing)
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		resp, err := c.hc.Do(ctx, httpapi.Request{
			Method: http.MethodGet, URL: c.baseURL + "/" + path, Header: h, ContentType: "application/json",
		})
		if err != nil {
			return nil, err
		}
		switch {
		case ok(resp):
			c.setState(AuthOK)
			return resp, nil
		case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
			c.setState(AuthInvalid)
			return nil, fmt.Errorf("HTTP %d: %w", resp.Status, ErrInvalidKey)
		case resp.Status != http.StatusServiceUnavailable:
			return nil, apiError(resp, c.apiKey)
		}
		c.setState(AuthUnverified)
		if attempt >= c.attempts {
			return nil, ErrUnverified
		}
		d := httpapi.Jitter(wait)
		if ra := httpapi.RetryAfter(resp.Header, time.Now()); ra > d {
			d = min(ra, maxRetryAfter)
		}
		c.log.Debug("API key unverified (503), retrying", "attempt", attempt, "wait", d)
		if err := c.sleep(ctx, d); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
		}
		wait *= 2
	}
}

// wireCasing sends ApiKey spelled as document 003 writes it. net/http
// canonicalizes header names to "Apikey"; HTTP says names are
// case-insensitive, but a gateway that compares them literally would then
// refuse every request.
type wireCasing struct{ next http.RoundTripper }

func (w wireCasing) RoundTrip(r *http.Request) (*http.Response, error) {
	v, found := r.Header["Apikey"]
	if !found {
		return w.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	delete(r2.Header, "Apikey")
	r2.Header["ApiKey"] = v
	return w.next.RoundTrip(r2)
}

// HTTPClient returns the httpapi client NewFromConfig uses: its requests
// carry the ApiKey header spelled as the document writes it. Login,
// ListClients and CreateAPIToken accept any client.
func HTTPClient(log *slog.Logger) *httpapi.Client {
	return httpapi.New(httpapi.Options{
		HTTPClient: &http.Client{Transport: wireCasing{next: http.DefaultTransport}},
		Logger:     log,
	})
}

// Package httpapi is the HTTP behaviour the three API clients share: timeouts
// and contexts, the User-Agent, bounded bodies, redacted debug logging, and a
// readable error for responses that are not the API's own JSON (an HTML page
// from a proxy becomes "unexpected response (HTTP 502, text/html)").
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/config"
)

// UserAgent is sent with every request.
const UserAgent = "fleetdeck/" + config.Version

// DefaultTimeout bounds one request when the caller's context has no deadline.
const DefaultTimeout = 30 * time.Second

// MaxBody bounds how much of a response body is read (a 10,000-vehicle
// clearance list is about 3 MB).
const MaxBody = 32 << 20

// Client sends requests. The zero value is not usable: use New.
type Client struct {
	hc      *http.Client
	log     *slog.Logger
	timeout time.Duration
}

// Options configure a Client. Every field is optional.
type Options struct {
	HTTPClient *http.Client  // default: a client with DefaultTimeout
	Logger     *slog.Logger  // default: discard
	Timeout    time.Duration // per request; default DefaultTimeout
}

// New returns a Client.
func New(o Options) *Client {
	c := &Client{hc: o.HTTPClient, log: o.Logger, timeout: o.Timeout}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	return c
}

// Request is one call. Body is sent as is with ContentType.
type Request struct {
	Method      string
	URL         string
	Header      http.Header // extra headers (Authorization, X-Signature, ApiKey, …)
	Body        []byte
	ContentType string
}

// Response is a completed call with its whole (bounded) body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON reports whether the response declares a JSON body.
func (r *Response) JSON() bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		// Some servers send no content type for JSON: accept a body that looks like it.
		b := bytes.TrimSpace(r.Body)
		return len(b) > 0 && (b[0] == '{' || b[0] == '[')
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Do sends req and reads the whole response. Transport failures are wrapped
// with the method and URL (never headers or body, which may hold secrets).
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return nil, fmt.Errorf("build request %s %s: %w", req.Method, safeURL(req.URL), err)
	}
	// Keys are copied as given, not canonicalized: some APIs document a
	// header's exact spelling (the platform's "ApiKey").
	for k, vs := range req.Header {
		hr.Header[k] = append(hr.Header[k], vs...)
	}
	hr.Header.Set("User-Agent", UserAgent)
	hr.Header.Set("Accept", "application/json")
	if req.ContentType != "" {
		hr.Header.Set("Content-Type", req.ContentType)
	}
	start := time.Now()
	resp, err := c.hc.Do(hr)
	if err != nil {
		// *url.Error's text quotes the whole URL, query string included:
		// log and return only what it wraps.
		inner := unwrapURLError(err)
		c.log.Debug("http", "method", req.Method, "url", safeURL(req.URL), "err", inner, "elapsed", time.Since(start))
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, &TransportError{Method: req.Method, URL: safeURL(req.URL), Err: ErrTimeout}
		}
		return nil, &TransportError{Method: req.Method, URL: safeURL(req.URL), Err: inner}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, &TransportError{Method: req.Method, URL: safeURL(req.URL), Err: fmt.Errorf("read response: %w", err)}
	}
	if len(b) > MaxBody {
		return nil, &TransportError{Method: req.Method, URL: safeURL(req.URL), Err: fmt.Errorf("response larger than %d bytes", MaxBody)}
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		// A server may echo what it was sent, in any field or header: every
		// secret of the request is scrubbed wherever it shows up.
		secrets := Secrets(req)
		c.log.Debug("http", "method", req.Method, "url", safeURL(req.URL), "status", resp.StatusCode,
			"elapsed", time.Since(start), "request_headers", ScrubHeader(hr.Header, secrets...),
			"request_body", string(RedactJSON(req.Body, secrets...)),
			"response_headers", ScrubHeader(resp.Header, secrets...),
			"response_body", string(clip(RedactJSON(b, secrets...), 2048)))
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// ErrTimeout is wrapped when a request ran out of time.
var ErrTimeout = errors.New("timed out")

// TransportError is a request that got no HTTP response.
type TransportError struct {
	Method, URL string
	Err         error
}

func (e *TransportError) Error() string { return fmt.Sprintf("%s %s: %v", e.Method, e.URL, e.Err) }
func (e *TransportError) Unwrap() error { return e.Err }

// UnexpectedError is a response whose body is not the API's JSON: an HTML
// error page from a proxy, an empty 502, plain text. The body is kept for
// callers but never printed.
type UnexpectedError struct {
	Status      int
	ContentType string
	Body        []byte
}

func (e *UnexpectedError) Error() string {
	ct := e.ContentType
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("unexpected response (HTTP %d, %s)", e.Status, ct)
}

// Unexpected builds an UnexpectedError for r.
func Unexpected(r *Response) *UnexpectedError {
	return &UnexpectedError{Status: r.Status, ContentType: r.Header.Get("Content-Type"), Body: r.Body}
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date). It returns
// 0 when there is none or it cannot be read.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// Sleep waits d or until ctx ends, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Jitter spreads d over ±20%, so that many consoles polling or retrying the
// same API do not do it in step.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + rand.N(d*2/5+1)
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// safeURL drops user info and the query string, which are the places a URL
// could carry a credential.
func safeURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		host := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			host = rest[:j]
		}
		if at := strings.LastIndexByte(host, '@'); at >= 0 {
			raw = raw[:i+3] + rest[at+1:]
		}
	}
	return raw
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

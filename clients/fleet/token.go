package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Token is a bearer token for the fleet API. ValidFrom and ValidUntil are on
// the local clock: the server's validity window is re-anchored at the moment
// the token request was sent, so a skew between our clock and the server's
// cannot make a token look valid for longer than it is.
type Token struct {
	Value      string
	ValidFrom  time.Time
	ValidUntil time.Time
}

// String never prints the token itself.
func (t Token) String() string {
	if t.Value == "" {
		return "no token"
	}
	return "token valid until " + t.ValidUntil.Format(time.RFC3339)
}

// TokenSource hands out bearer tokens for the fleet API.
type TokenSource interface {
	// Token returns the cached token, refreshing it first when less than a
	// fifth of its life remains. However many callers ask at once, one
	// refresh is in flight.
	Token(ctx context.Context) (Token, error)
	// Invalidate drops the cached token if it is still stale (the value a
	// request was rejected with), so the next Token call fetches a new one.
	Invalidate(stale string)
	// ValidUntil is the cached token's end of validity, zero without one
	// (for the status bar).
	ValidUntil() time.Time
}

// SourceOption configures a token source.
type SourceOption func(*cache)

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) SourceOption {
	return func(c *cache) {
		if now != nil {
			c.now = now
		}
	}
}

// fetchTimeout bounds one token request. The request runs detached from the
// caller that started it (others may be waiting on it), so it needs its own
// bound.
const fetchTimeout = 30 * time.Second

// errExpiredOnArrival is returned when the server hands out a token whose
// validity window is empty: using it would only earn a 401, and refreshing
// again at once would hammer the token endpoint.
var errExpiredOnArrival = errors.New("token has no validity left")

// cache is the caching and single-flight half shared by both token sources;
// fetch is the half that talks to the server.
type cache struct {
	fetch func(ctx context.Context, sent time.Time) (Token, error)
	now   func() time.Time
	what  string // "auth token" or "access token", for errors

	mu  sync.Mutex
	tok Token

	flight singleflight.Group
}

func newCache(what string, fetch func(context.Context, time.Time) (Token, error), opts []SourceOption) *cache {
	c := &cache{fetch: fetch, now: time.Now, what: what}
	for _, o := range opts {
		o(c)
	}
	return c
}

// fresh reports whether t can be used at now without a refresh: more than a
// fifth of its life remains.
func fresh(t Token, now time.Time) bool {
	if t.Value == "" {
		return false
	}
	life := t.ValidUntil.Sub(t.ValidFrom)
	return t.ValidUntil.Sub(now) > life/5
}

func (c *cache) cached() Token {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tok
}

// Token implements TokenSource.
func (c *cache) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	if t := c.cached(); fresh(t, c.now()) {
		return t, nil
	}
	ch := c.flight.DoChan("token", func() (any, error) {
		// A caller that found the cache stale may arrive just after the
		// previous flight stored a fresh token: use it instead of fetching
		// again.
		if t := c.cached(); fresh(t, c.now()) {
			return t, nil
		}
		// Detached from the caller: if the caller that started the flight
		// gives up, the others waiting on it still get their token.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		sent := c.now()
		t, err := c.fetch(fctx, sent)
		if err != nil {
			return Token{}, err
		}
		if !t.ValidUntil.After(c.now()) {
			return Token{}, fmt.Errorf("get %s: %w", c.what, errExpiredOnArrival)
		}
		c.mu.Lock()
		c.tok = t
		c.mu.Unlock()
		return t, nil
	})
	select {
	case <-ctx.Done():
		return Token{}, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	}
}

// Invalidate implements TokenSource.
func (c *cache) Invalidate(stale string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stale != "" && c.tok.Value == stale {
		c.tok = Token{}
	}
}

// ValidUntil implements TokenSource.
func (c *cache) ValidUntil() time.Time {
	return c.cached().ValidUntil
}

// anchor re-bases a server validity window [from, until] on the local
// clock at sent. When the server gave no usable start, until is taken as is.
func anchor(sent, from, until time.Time) (time.Time, time.Time) {
	if from.IsZero() || !until.After(from) {
		return sent, until
	}
	return sent, sent.Add(until.Sub(from))
}

package commandsim

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultCodeTTL is how long a confirmation code can be redeemed, as
	// mobway's platform does (issue 12; document 002 gives no figure).
	DefaultCodeTTL = 2 * time.Minute
	// maxAttempts wrong codes burn the pending code: six digits are
	// guessable otherwise.
	maxAttempts = 5
	// usedRetention is how long a redeemed code is remembered so that a
	// resend is answered "already used" rather than "invalid".
	usedRetention = time.Hour
	// maxCodes bounds each of the two maps; only known VIN × ignition
	// command pairs get here, so the bound is rarely reached.
	maxCodes = 4096
)

var (
	errConfirmationInvalid = errors.New("confirmation invalid")
	errConfirmationUsed    = errors.New("confirmation already used")
)

type codeKey struct{ vin, command string }

type pendingCode struct {
	code     string
	expires  time.Time
	attempts int
}

type usedCode struct {
	code string
	at   time.Time
}

// confirmations holds the two-step codes of ignition commands. One pending
// code per (vin, command): a new first step replaces the previous code, so
// only the code the operator saw last can run the command.
type confirmations struct {
	fixed   string // demo mode: every code is this one
	ttl     time.Duration
	mu      sync.Mutex
	pending map[codeKey]pendingCode
	used    map[codeKey]usedCode
}

func newConfirmations(fixed string, ttl time.Duration) *confirmations {
	if len(fixed) != 6 || strings.Trim(fixed, "0123456789") != "" {
		fixed = ""
	}
	if ttl <= 0 {
		ttl = DefaultCodeTTL
	}
	return &confirmations{fixed: fixed, ttl: ttl, pending: make(map[codeKey]pendingCode), used: make(map[codeKey]usedCode)}
}

// issue creates a fresh six-digit code for k, replacing any pending one.
func (c *confirmations) issue(k codeKey, now time.Time) (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("confirmation code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	if c.fixed != "" {
		code = c.fixed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, replacing := c.pending[k]; !replacing && len(c.pending) >= maxCodes {
		c.prune(now)
		for old := range c.pending { // still full: drop an arbitrary one
			if len(c.pending) < maxCodes {
				break
			}
			delete(c.pending, old)
		}
	}
	c.pending[k] = pendingCode{code: code, expires: now.Add(c.ttl)}
	return code, nil
}

// redeem consumes code for k. It returns errConfirmationUsed when code is the
// one already redeemed for k, errConfirmationInvalid when it is wrong,
// expired or was replaced by a newer first step.
func (c *confirmations) redeem(k codeKey, code string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pending[k]; ok {
		switch {
		case !now.Before(p.expires):
			delete(c.pending, k)
		case equalCode(p.code, code):
			delete(c.pending, k)
			if len(c.used) >= maxCodes {
				c.prune(now)
			}
			c.used[k] = usedCode{code: code, at: now}
			return nil
		default:
			p.attempts++
			if p.attempts >= maxAttempts {
				delete(c.pending, k)
			} else {
				c.pending[k] = p
			}
		}
	}
	if u, ok := c.used[k]; ok && now.Sub(u.at) < usedRetention && equalCode(u.code, code) {
		return errConfirmationUsed
	}
	return errConfirmationInvalid
}

// prune drops expired pending codes and forgotten used ones; c.mu is held.
func (c *confirmations) prune(now time.Time) {
	for k, p := range c.pending {
		if !now.Before(p.expires) {
			delete(c.pending, k)
		}
	}
	for k, u := range c.used {
		if now.Sub(u.at) >= usedRetention {
			delete(c.used, k)
		}
	}
	for k := range c.used { // still full: forget an arbitrary one
		if len(c.used) < maxCodes {
			break
		}
		delete(c.used, k)
	}
}

func equalCode(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Package simclock is the manually advanced time source the simulators'
// tests inject in place of time.Now.
package simclock

import (
	"sync"
	"time"
)

// Clock stands still until Add moves it; safe for concurrent use, since the
// simulators read it from their handlers' goroutines.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock showing t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

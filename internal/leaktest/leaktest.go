// Package leaktest checks that a test leaves no goroutine behind: what it
// started (servers, sessions, pollers, watchers) must end with the
// contexts and closes its cleanups run. It counts the whole process's
// goroutines, so it is only for tests that do not run in parallel.
package leaktest

import (
	"runtime"
	"testing"
	"time"
)

// settle is how long the goroutines get to return: generous, because a
// loaded machine may take a while to let a closed connection's goroutines
// return, and a leak never does.
const settle = 10 * time.Second

// Check fails t when, once t and all its cleanups are done, more
// goroutines run than when Check was called. Call it first in the test, so
// that its check runs after every other cleanup.
func Check(t testing.TB) {
	t.Helper()
	before := Count()
	t.Cleanup(func() { Wait(t, before) })
}

// Count is the number of goroutines now, for Wait.
func Count() int { return runtime.NumGoroutine() }

// Wait fails t unless the goroutines fall back to before (a Count taken
// before the test started what it stops) within a few seconds.
func Wait(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(settle)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Errorf("%d goroutines left (%d before):\n%s", runtime.NumGoroutine(), before, buf[:n])
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

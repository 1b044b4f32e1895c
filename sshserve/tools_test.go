package sshserve

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/sandbox"
)

// osc52 finds a clipboard sequence in the raw output.
var osc52 = regexp.MustCompile(`\x1b\]52;c;([A-Za-z0-9+/=]*)\x07`)

// raw is everything the server wrote, escape sequences included.
func (tm *terminal) raw() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// Over SSH a copy's OSC 52 sequence reaches the client's own terminal (the
// session's output, between two frames), and keys that arrive in one write
// are taken one by one, the rest typed into the field the first opened.
func TestConsoleToolsOverSSH(t *testing.T) {
	// Sessions, the key watcher and the backend must all end with it.
	leaktest.Check(t)
	f := startFleetdeck(t, Options{MaxSessions: 2}, sandbox.Options{TransitionDelay: 100 * time.Millisecond})
	alice, _ := f.console(t, "alice", f.operator, "operator")

	m := alice.mark()
	alice.typeKeys("/WBA5\r") // one write: filter, text, keep it
	alice.waitFor(m, 5*time.Second, `filter "WBA5": 1`)
	alice.typeKeys("c")
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = osc52.FindStringSubmatch(alice.raw()); got != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got == nil {
		t.Fatal("no OSC 52 sequence reached the SSH client")
	}
	text, err := base64.StdEncoding.DecodeString(got[1])
	if err != nil || !strings.HasPrefix(string(text), "WBA5") || len(text) != 17 {
		t.Fatalf("copied %q (%v), want the selected WBA5… VIN", text, err)
	}
}

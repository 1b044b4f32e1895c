package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// authState is what the status bar knows about one provider's credentials.
type authState uint8

const (
	authUnknown authState = iota // no call yet
	authOK                       // the last call went through
	authFailing                  // the last call failed (network, server, timeout)
	authInvalid                  // the last call's credentials were refused
)

func (a authState) String() string {
	switch a {
	case authOK:
		return "ok"
	case authFailing:
		return "error"
	case authInvalid:
		return "invalid"
	}
	return "…"
}

// statusBar is the line at the bottom: profile, token, broker, and each
// provider's state as its last call left it. Errors themselves are
// notifications (toast.go). It reads the providers on the clock tick, never
// while drawing; the broker's state is the Telemetry pane's, from the
// feed's last batch.
type statusBar struct {
	c          *Common
	profile    string
	sandbox    bool
	production bool

	fleet FleetService
	// broker is the feed's connection as the Telemetry pane knows it (nil:
	// no telemetry): one source, so a closed feed stays closed.
	broker   func() (text string, ok bool)
	platform PlatformStatus
	commands bool
	user     string // SSH sessions: who, and in which role
	role     string
	immob    *immobilisedSet

	tokenUntil time.Time
	mrv        platform.AuthState
	fleetAuth  authState
	cmdAuth    authState
}

// refresh samples the providers (called at most once a second).
func (s *statusBar) refresh() {
	if s.fleet != nil {
		s.tokenUntil = s.fleet.TokenValidUntil()
	}
	if s.platform != nil {
		s.mrv = s.platform.State()
	}
}

// provider records how the last call to a provider went: a success after a
// failure turns it back to ok, and a failure after a success shows at once.
func (s *statusBar) provider(msg providerMsg) {
	st := authOK
	if msg.err != nil {
		st = authFailing
		if msg.invalid {
			st = authInvalid
		}
	}
	switch msg.provider {
	case providerFleet:
		s.fleetAuth = st
	case providerCommands:
		s.cmdAuth = st
	}
}

func (s *statusBar) View(w int) string {
	st := s.c.Styles
	sep := st.Dim.Render(" │ ")
	var parts []string
	switch {
	case s.production:
		p := st.StatusProd.Render(" PRODUCTION ")
		if s.profile != "" {
			p += " " + st.Bold.Render(termsafe.String(s.profile))
		}
		parts = append(parts, p)
	case s.sandbox:
		parts = append(parts, st.StatusSandbox.Render("SANDBOX"))
	case s.profile != "":
		parts = append(parts, st.Bold.Render(termsafe.String(s.profile)))
	default:
		parts = append(parts, st.Bold.Render("default"))
	}
	if who := s.who(); who != "" {
		parts = append(parts, who)
	}
	if n := s.immob.count(); n > 0 {
		// A reminder that outlives the flow: these need enable_ignition.
		parts = append(parts, st.Error.Render(fmt.Sprintf("%s %d immobilised", immobilisedMark, n)))
	}
	now := s.c.Now()
	if s.fleet != nil {
		switch {
		case s.tokenUntil.IsZero():
			parts = append(parts, st.Dim.Render("token —"))
		default:
			left := s.tokenUntil.Sub(now)
			t := "token valid " + countdown(left)
			if left < time.Minute {
				t = st.Warning.Render(t)
			}
			parts = append(parts, t)
		}
	}
	if s.broker != nil {
		text, ok := s.broker()
		b := "broker " + termsafe.String(text)
		if ok {
			b = st.OK.Render(b)
		} else {
			b = st.Warning.Render(b)
		}
		parts = append(parts, b)
	}
	var auth []string
	if s.fleet != nil {
		auth = append(auth, "fleet "+s.authText(s.fleetAuth.String()))
	}
	if s.commands {
		auth = append(auth, "cmds "+s.authText(s.cmdAuth.String()))
	}
	if s.platform != nil {
		auth = append(auth, "mrv "+s.authText(mrvText(s.mrv)))
	}
	if len(auth) > 0 {
		parts = append(parts, strings.Join(auth, " · "))
	}
	return pad(strings.Join(parts, sep), w)
}

// who renders "alice (operator)", or "" outside SSH sessions.
func (s *statusBar) who() string {
	st := s.c.Styles
	user, role := termsafe.String(s.user), termsafe.String(s.role)
	switch {
	case user != "" && role != "":
		return st.Bold.Render(user) + " (" + role + ")"
	case user != "":
		return st.Bold.Render(user)
	case role != "":
		return "(" + role + ")"
	}
	return ""
}

func mrvText(a platform.AuthState) string {
	if a == platform.AuthUnknown {
		return "…"
	}
	return a.String()
}

func (s *statusBar) authText(t string) string {
	st := s.c.Styles
	switch {
	case t == "ok":
		return st.OK.Render(t)
	case t == "invalid", t == "error":
		return st.Error.Render(t)
	case t == "…":
		return st.Dim.Render(t)
	}
	return st.Warning.Render(t)
}

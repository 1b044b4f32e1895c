package sshserve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/backend"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/ui"
)

// countingCommands counts what reaches the command client.
type countingCommands struct {
	ui.CommandService
	sends atomic.Int32
}

func (c *countingCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	c.sends.Add(1)
	return c.CommandService.Send(ctx, vin, command, code)
}

// countingFleet counts the clearance lists the sessions ask for.
type countingFleet struct {
	ui.FleetService
	lists atomic.Int32
}

func (c *countingFleet) List(ctx context.Context, f *fleet.Filter) ([]fleet.Vehicle, error) {
	c.lists.Add(1)
	return c.FleetService.List(ctx, f)
}

// upstream counts the fleet API calls that reach the sandbox.
type upstream struct {
	lists, mutations atomic.Int32
}

// fleetdeck is the sandbox, one backend, and the server on top.
type fleetdeck struct {
	*running
	sb       *sandbox.Sandbox
	up       *upstream
	cmds     *countingCommands
	sessions *countingFleet
	log      *testlog.Buffer
	keysPath string
	backend  *backend.Backend
	operator gossh.Signer
	viewer   gossh.Signer
}

const testPoll = 2 * time.Second // the UI's minimum

func startFleetdeck(t *testing.T, o Options, sandboxOpts sandbox.Options) *fleetdeck {
	t.Helper()
	return startFleetdeckWith(t, o, sandboxOpts, nil)
}

// startFleetdeckWith is startFleetdeck with setup run on the server's
// options just before it starts (a journal, a policy, a session hook); the
// authorized_keys lines it returns are added to the file.
func startFleetdeckWith(t *testing.T, o Options, sandboxOpts sandbox.Options, setup func(f *fleetdeck, o *Options) []string) *fleetdeck {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sandboxOpts.Dir = t.TempDir()
	sb, err := sandbox.Start(ctx, sandboxOpts)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sb.Close()
		cancel()
	})
	cfg, err := config.Load(sb.ConfigPath(), "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sandbox = true

	// The fleet API goes through a counting proxy. The JWT audience stays
	// the sandbox's own URL (config.Load already set it).
	up := &upstream{}
	target, err := url.Parse(sb.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, sandbox.PrefixFleet+"/fleets/vehicles") {
			switch {
			case r.Method == http.MethodGet && r.URL.Path == sandbox.PrefixFleet+"/fleets/vehicles" && r.URL.RawQuery == "":
				up.lists.Add(1)
			case r.Method != http.MethodGet:
				up.mutations.Add(1)
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	cfg.Fleet.BaseURL = proxy.URL + sandbox.PrefixFleet
	cfg.Fleet.PollInterval = testPoll

	log := &testlog.Buffer{}
	b, err := backend.Build(cfg, backend.Options{Logger: log.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	bctx, stopBackend := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		b.Run(bctx)
	}()
	t.Cleanup(func() {
		stopBackend()
		<-ran
	})

	f := &fleetdeck{sb: sb, up: up, log: log, backend: b, operator: newSigner(t), viewer: newSigner(t)}
	f.cmds = &countingCommands{CommandService: b.Commands}
	f.sessions = &countingFleet{FleetService: fleet.NewSharedLister(b.Fleet, testPoll)}
	// As the cli builds it (the backend knows nothing of the console).
	o.UI = ui.Options{
		Profile: backend.ProfileLabel(cfg), Sandbox: cfg.Sandbox, Keys: cfg.Keys,
		Logger: log.Logger(), PollInterval: testPoll,
		Fleet: f.sessions, Commands: f.cmds, Telemetry: ui.PipelineSource(b.Pipeline, b.Feed),
	}
	if b.Platform != nil {
		o.UI.Platform = b.Platform
	}

	var extra []string
	if setup != nil {
		extra = setup(f, &o)
	}
	keysPath := filepath.Join(t.TempDir(), "authorized_keys")
	f.keysPath = keysPath
	writeKeys(t, keysPath, append([]string{
		"# fleetdeck ops box",
		authLine(f.operator, `environment="FLEETDECK_ROLE=operator",no-agent-forwarding`, "alice@ops"),
		"ssh-rsa this-is-not-a-key",
		authLine(f.viewer, "", "bob@ops"),
		authLine(newSigner(t), `command="/usr/bin/true"`, "carol@ops"),
		authLine(newSigner(t), `environment="FLEETDECK_ROLE=root"`, "dave@ops"),
	}, extra...)...)
	keys, err := LoadAuthorizedKeys(keysPath, log.Logger())
	if err != nil {
		t.Fatal(err)
	}
	o.AuthorizedKeys = keys
	o.Logger = log.Logger()
	f.running = serve(t, o)
	return f
}

// console logs in with s and waits for the console to show sandbox data.
func (f *fleetdeck) console(t *testing.T, user string, s gossh.Signer, role string) (*terminal, *gossh.Client) {
	t.Helper()
	c := f.dialKey(t, user, s)
	tm, err := openTerminal(t, c, 120, 40)
	if err != nil {
		t.Fatal(err)
	}
	tm.waitFor(0, 20*time.Second, user+" ("+role+")", "SANDBOX", "broker connected", "approved")
	return tm, c
}

var (
	sendHelp   = regexp.MustCompile(`enter\s+send\b`)
	sentOK     = regexp.MustCompile(`lock_door → [A-Z0-9]{17}\s+Success`)
	inProgress = regexp.MustCompile(`sending lock_door|lock_door → [A-Z0-9]{17}\s+Pending`)
)

func TestConsoleOverSSH(t *testing.T) {
	// Sessions, the key watcher and the backend must all end with it.
	leaktest.Check(t)
	f := startFleetdeck(t, Options{MaxSessions: 2, ShutdownGrace: 8 * time.Second}, sandbox.Options{TransitionDelay: 100 * time.Millisecond})
	for _, want := range []string{"line=3", "line=5", "line=6", `unknown role \"root\"`} {
		if !strings.Contains(f.log.String(), want) {
			t.Errorf("the log does not report %s:\n%s", want, f.log.String())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.sb.BrokerClients() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	alice, aliceConn := f.console(t, "alice", f.operator, "operator")

	t.Run("operator sends a command", func(t *testing.T) {
		m := alice.mark()
		alice.typeKeys("?")
		alice.waitFor(m, 5*time.Second, "add vehicle", "revoke/cancel")
		alice.typeKeys("x", "3")
		alice.waitMatch(m, 5*time.Second, sendHelp)
		m = alice.mark()
		alice.typeKeys("\r")
		alice.waitMatch(m, 15*time.Second, sentOK)
		if n := f.cmds.sends.Load(); n != 1 {
			t.Errorf("%d sends reached the command client, want 1", n)
		}
	})

	bob, bobConn := f.console(t, "bob", f.viewer, "viewer")

	t.Run("viewer cannot, whatever it types", func(t *testing.T) {
		sends, mutations := f.cmds.sends.Load(), f.up.mutations.Load()
		m := bob.mark()
		bob.typeKeys("?")
		bob.waitFor(m, 5*time.Second, "Keys — Clearance", "eligibility")
		bob.typeKeys("x", "a")
		bob.waitFor(m, 5*time.Second, "read-only session: adding and revoking are disabled")
		bob.typeKeys("x", "d", "x", "y", "3", "\r", "?")
		bob.waitFor(m, 5*time.Second, "read-only session: sending commands is disabled", "Keys — Commands")
		bob.typeKeys("x", "\r", "\r")
		time.Sleep(500 * time.Millisecond) // time for anything sent to arrive
		if n := f.cmds.sends.Load(); n != sends {
			t.Errorf("the viewer's keys sent %d commands", n-sends)
		}
		if n := f.up.mutations.Load(); n != mutations {
			t.Errorf("the viewer's keys changed the fleet %d times", n-mutations)
		}
		all := bob.text()
		for _, hidden := range []string{"add vehicle", "revoke/cancel"} {
			if strings.Contains(all, hidden) {
				t.Errorf("the viewer's help offers %q", hidden)
			}
		}
		if sendHelp.MatchString(all) {
			t.Error("the viewer's help offers send")
		}
	})

	t.Run("sessions share one backend", func(t *testing.T) {
		if n := f.sb.BrokerClients(); n != 1 {
			t.Errorf("%d MQTT connections with two sessions open, want 1", n)
		}
		up0, asked0 := f.up.lists.Load(), f.sessions.lists.Load()
		const window = 6 * time.Second
		time.Sleep(window)
		up, asked := f.up.lists.Load()-up0, f.sessions.lists.Load()-asked0
		t.Logf("%s with two sessions: %d lists asked, %d reached the API", window, asked, up)
		if max := int32(window/testPoll) + 1; up > max {
			t.Errorf("%d upstream lists in %s, want at most %d (one session's worth)", up, window, max)
		}
		if asked <= up {
			t.Errorf("the sessions asked %d times and the API was called %d times: nothing was shared", asked, up)
		}
		if n := f.sb.BrokerClients(); n != 1 {
			t.Errorf("%d MQTT connections, want 1", n)
		}

		// A third console is over the limit.
		third, err := openTerminal(t, f.dialKey(t, "alice", f.operator), 80, 24)
		if err != nil {
			t.Fatal(err)
		}
		if err := third.wait(5 * time.Second); err == nil || !strings.Contains(third.errText(), "2 sessions open (the limit)") {
			t.Errorf("a third session: %v, stderr %q", err, third.errText())
		}
	})

	t.Run("shutdown tells every session and lets the command finish", func(t *testing.T) {
		m := alice.mark()
		bm := bob.mark()
		alice.typeKeys("\r")
		alice.waitMatch(m, 5*time.Second, inProgress)
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			f.stop(t)
		}()
		alice.waitFor(m, 5*time.Second, "fleetdeck is shutting down: finishing what is in flight")
		if err := bob.wait(5 * time.Second); err != nil {
			t.Errorf("the viewer's session: %v", err)
		}
		if !strings.Contains(bob.since(bm), "fleetdeck: fleetdeck is shutting down: your session has ended") {
			t.Errorf("the viewer was not told:\n%s", tail(bob.since(bm), 500))
		}
		bobConn.Close()
		if err := alice.wait(10 * time.Second); err != nil {
			t.Errorf("the operator's session: %v", err)
		}
		out := alice.since(m)
		done := sentOK.FindStringIndex(out)
		bye := strings.Index(out, "fleetdeck: fleetdeck is shutting down: your session has ended")
		if done == nil || bye < 0 || done[0] > bye {
			t.Errorf("the command did not finish before the session closed:\n%s", tail(out, 1500))
		}
		aliceConn.Close()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
			t.Fatal("the server did not stop")
		}
		if n := f.cmds.sends.Load(); n != 2 {
			t.Errorf("%d sends, want 2", n)
		}
	})
}

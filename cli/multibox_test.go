package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/internal/bridgetest"
	"github.com/fleetdeck/fleetdeck/internal/pgtest"
	"github.com/fleetdeck/fleetdeck/sandbox"
	"github.com/fleetdeck/fleetdeck/sshserve"
	"github.com/fleetdeck/fleetdeck/ui"
)

// boxConfig is the sandbox's config as one ops box of several uses it:
// telemetry from the bridge (under the box's own client id) and the
// journal in PostgreSQL. It lives beside the sandbox's config, so the
// credential files it names resolve the same.
func boxConfig(t *testing.T, sb *sandbox.Sandbox, name, bridge, dsn string) string {
	t.Helper()
	orig, err := os.ReadFile(sb.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	s := string(orig)
	tel, cmds := strings.Index(s, "[telemetry]"), strings.Index(s, "[commands]")
	aud := strings.Index(s, "[audit]")
	if tel < 0 || cmds < tel || aud < cmds {
		t.Fatalf("the sandbox's config changed shape:\n%s", s)
	}
	s = s[:tel] + fmt.Sprintf("[telemetry]\nbroker = %q\napp_id = %q\nclient_id = %q\nqos = 1\n\n", bridge, sb.AppID(), name) +
		s[cmds:aud] + fmt.Sprintf("[audit]\ndsn = %q\n", dsn)
	path := filepath.Join(sb.Dir(), name+".toml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serving is one `fleetdeck serve` running in this process.
type serving struct {
	box  *opsBox
	addr string
}

func startServe(t *testing.T, cfgPath, keysPath string) *serving {
	t.Helper()
	var out, errb bytes.Buffer
	app := NewApp(strings.NewReader(""), &out, &errb)
	app.ConfigPath = cfgPath
	app.LogFile = filepath.Join(t.TempDir(), "fleetdeck.log")
	t.Cleanup(func() { app.Close() })
	hostKey := filepath.Join(t.TempDir(), "ssh_host_ed25519_key")
	box, err := buildServe(app, sshserve.Options{Addr: "127.0.0.1:0", HostKeyPath: hostKey, MaxSessions: 4}, keysPath, streamSocket{off: true})
	if err != nil {
		t.Fatalf("serve %s: %v", filepath.Base(cfgPath), err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := box.start(ctx, app)
	served := make(chan struct{})
	go func() {
		defer close(served)
		box.srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-served
		stop()
	})
	return &serving{box: box, addr: ln.Addr().String()}
}

// session is what an SSH session of user gets: the console's options with
// the journalled services.
func (s *serving) session(user string) ui.Options {
	uo := s.box.opts.UI
	s.box.opts.Session(&uo, sshserve.Identity{User: user, Fingerprint: "SHA256:" + user, Role: sshserve.RoleOperator})
	return uo
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 15's definition of done: two `serve` processes on one PostgreSQL
// journal and one bridge show the same journal and the same feed, and poll
// the fleet API once between them.
func TestTwoServeBoxesShareJournalFeedAndPoll(t *testing.T) {
	isolate(t)
	sb, _ := startSandbox(t)
	dir := sb.Dir()
	prov := bridgetest.Provider{URL: sb.MQTTURL(), CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "client.pem"),
		Key: filepath.Join(dir, "client-key.pem"), AppID: sb.AppID(), ClientID: "fleetdeck-bridge"}
	bridge := bridgetest.Start(t, prov)
	dsn := pgtest.DB(t)

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keysPath := filepath.Join(t.TempDir(), "authorized_keys")
	line := `environment="FLEETDECK_ROLE=operator" ` + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " alice@ops\n"
	if err := os.WriteFile(keysPath, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	box1 := startServe(t, boxConfig(t, sb, "ops-box-1", bridge, dsn), keysPath)
	box2 := startServe(t, boxConfig(t, sb, "ops-box-2", bridge, dsn), keysPath)

	// Both serve SSH: the operator's key gets in on each.
	for _, s := range []*serving{box1, box2} {
		c, err := gossh.Dial("tcp", s.addr, &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("ssh to %s: %v", s.addr, err)
		}
		c.Close()
	}

	// The same journal: alice on box 1 sends a command; box 2 is told at
	// once and its console's journal shows the same records.
	changed := box2.box.journal.Changes(t.Context())
	time.Sleep(300 * time.Millisecond) // box 2 LISTENs
	alice := box1.session("alice")
	const v = "WBA5R1C51KAJ98123"
	if _, err := alice.Commands.Send(t.Context(), v, "lock_door", ""); err != nil {
		t.Fatalf("send on box 1: %v", err)
	}
	select {
	case <-changed:
	case <-time.After(2 * time.Second):
		t.Fatal("box 2 was not told of box 1's entry")
	}
	recs1, err1 := box1.box.opts.UI.Audit.Recent(t.Context(), 10)
	recs2, err2 := box2.box.opts.UI.Audit.Recent(t.Context(), 10)
	if err1 != nil || err2 != nil || len(recs2) != 1 || recs2[0].Actor.User != "alice" || recs2[0].Command != "lock_door" || recs2[0].VIN != v {
		t.Fatalf("box 2's journal: %+v (%v, %v)", recs2, err1, err2)
	}
	if len(recs1) != 1 || recs1[0].Hash != recs2[0].Hash {
		t.Errorf("the boxes show different journals: %+v / %+v", recs1, recs2)
	}
	rep, err := box2.box.journal.Verify(t.Context(), audit.VerifyOptions{})
	if err != nil || !rep.OK || rep.Signed == 0 {
		t.Errorf("verify from box 2: %+v (%v)", rep, err)
	}

	// The same feed: a message the provider publishes reaches both boxes'
	// consoles through the one bridge connection.
	pub := bridgetest.Publisher(t, prov)
	const probe = "PROBEVEHICLE0001"
	has := func(s *serving) bool {
		for _, vs := range s.box.opts.UI.Telemetry.Vehicles() {
			if vs.ID == probe {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; !has(box1) || !has(box2); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("the probe reached box 1: %v, box 2: %v", has(box1), has(box2))
		}
		bridgetest.PublishSpeed(t, pub, sb.AppID(), probe, fmt.Sprintf("probe-%d", i), 42)
		time.Sleep(100 * time.Millisecond)
	}
	// And the simulator's fleet, too: the same vehicles on both.
	waitUntil(t, 10*time.Second, "the same vehicles on both boxes", func() bool {
		a, b := box1.box.opts.UI.Telemetry.Vehicles(), box2.box.opts.UI.Telemetry.Vehicles()
		if len(a) < 3 || len(a) != len(b) {
			return false
		}
		ids := map[string]bool{}
		for _, x := range a {
			ids[x.ID] = true
		}
		for _, x := range b {
			if !ids[x.ID] {
				return false
			}
		}
		return true
	})

	// One clearance poller for both.
	waitUntil(t, 10*time.Second, "one poller", func() bool {
		return box1.box.backend.Shared.Leading() != box2.box.backend.Shared.Leading()
	})
	l1, e1 := alice.Fleet.List(t.Context(), nil)
	l2, e2 := box2.session("bob").Fleet.List(t.Context(), nil)
	if e1 != nil || e2 != nil || len(l1) == 0 || len(l1) != len(l2) {
		t.Errorf("clearance lists: %d (%v) and %d (%v)", len(l1), e1, len(l2), e2)
	}
}

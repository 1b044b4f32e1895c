package sshserve

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/ui"
)

// mutations counts what reaches the services behind the sessions.
type mutations struct {
	adds, deletes, sends, approvals atomic.Int32
}

type countedFleet struct {
	nopFleet
	n *mutations
}

func (f countedFleet) Add(context.Context, []fleet.NewVehicle) ([]fleet.AddResult, error) {
	f.n.adds.Add(1)
	return nil, nil
}

func (f countedFleet) Delete(context.Context, string) error {
	f.n.deletes.Add(1)
	return nil
}

type countedCommands struct {
	nopCommands
	n *mutations
}

func (c countedCommands) Send(context.Context, string, string, string) (commands.SendResult, error) {
	c.n.sends.Add(1)
	return commands.SendResult{}, nil
}

type countedApprovals struct{ n *mutations }

func (a countedApprovals) Request(context.Context, string, string, audit.Note) (audit.Approval, error) {
	a.n.approvals.Add(1)
	return audit.Approval{}, nil
}
func (countedApprovals) Approvals(context.Context) ([]audit.Approval, error) { return nil, nil }
func (a countedApprovals) Decide(context.Context, int64, bool) (audit.Approval, error) {
	a.n.approvals.Add(1)
	return audit.Approval{}, nil
}
func (a countedApprovals) Withdraw(context.Context, int64) (audit.Approval, error) {
	a.n.approvals.Add(1)
	return audit.Approval{}, nil
}

const operatorRole = `environment="FLEETDECK_ROLE=operator"`

var testAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5555}

// Every mutating action asks the authorized keys file as it is now: a key
// removed or demoted a moment ago cannot act, whether or not the session
// has been told yet.
func TestEveryMutationRechecksTheKey(t *testing.T) {
	t.Parallel()
	alice := newSigner(t)
	path := writeTemp(t, authLine(alice, operatorRole, "alice"))
	keys, err := LoadAuthorizedKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := &mutations{}
	s, err := New(Options{HostKeyPath: t.TempDir() + "/host_key", AuthorizedKeys: keys,
		UI: ui.Options{Fleet: countedFleet{n: n}, Commands: countedCommands{n: n}, Approvals: countedApprovals{n: n}}})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := keys.Lookup(alice.PublicKey())
	acc := s.newAccess(k, testAddr)
	o := s.sessionOptions(k, "alice", acc)
	ctx := context.Background()
	mutate := func() []error {
		_, addErr := o.Fleet.Add(ctx, nil)
		_, sendErr := o.Commands.Send(ctx, "WBADT43452G296403", "lock_door", "")
		_, reqErr := o.Approvals.Request(ctx, "WBADT43452G296403", "disable_ignition", audit.Note{})
		_, decErr := o.Approvals.Decide(ctx, 1, true)
		_, wdErr := o.Approvals.Withdraw(ctx, 1)
		return []error{addErr, o.Fleet.Delete(ctx, "WBADT43452G296403"), sendErr, reqErr, decErr, wdErr}
	}
	for _, err := range mutate() {
		if err != nil {
			t.Fatalf("the operator: %v", err)
		}
	}

	writeKeys(t, path, authLine(alice, "", "alice")) // now a viewer
	for _, err := range mutate() {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("demoted: %v, want ErrReadOnly", err)
		}
	}
	writeKeys(t, path, authLine(newSigner(t), operatorRole, "someone else"))
	for _, err := range mutate() {
		if !errors.Is(err, ErrKeyRevoked) || !strings.Contains(err.Error(), "removed from the authorized keys") {
			t.Errorf("removed: %v, want ErrKeyRevoked", err)
		}
	}
	// Back in the file as an operator: a session once demoted stays so.
	writeKeys(t, path, authLine(alice, operatorRole, "alice"))
	if _, err := o.Fleet.Add(ctx, nil); err == nil {
		t.Error("a session whose key was removed acted again when the key came back")
	}
	if got := [4]int32{n.adds.Load(), n.deletes.Load(), n.sends.Load(), n.approvals.Load()}; got != [4]int32{1, 1, 1, 3} {
		t.Errorf("adds, deletes, sends, approval steps that reached the services: %v, want the operator's (1, 1, 1, 3)", got)
	}
	if _, err := o.Fleet.List(ctx, nil); err != nil {
		t.Errorf("reading is not a mutation: %v", err)
	}
}

// When the authorized keys change, open sessions follow: a removed key's
// session ends with a message, a demoted key's session turns read-only, an
// expired key's session ends when it expires.
func TestKeyChangesReachOpenSessions(t *testing.T) {
	t.Parallel()
	alice, bob, carol := newSigner(t), newSigner(t), newSigner(t)
	expiry := time.Now().Add(5*time.Second).UTC().Format("20060102150405") + "Z"
	n := &mutations{}
	p := servePlain(t, Options{KeysCheckInterval: 100 * time.Millisecond, UI: ui.Options{Fleet: countedFleet{n: n}, Commands: countedCommands{n: n}}},
		authLine(alice, operatorRole, "alice"),
		authLine(bob, operatorRole, "bob"),
		authLine(carol, operatorRole+`,expiry-time="`+expiry+`"`, "carol"),
	)
	at, err := openTerminal(t, p.dialKey(t, "alice", alice), 120, 30)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := openTerminal(t, p.dialKey(t, "bob", bob), 120, 30)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := openTerminal(t, p.dialKey(t, "carol", carol), 120, 30)
	if err != nil {
		t.Fatal(err)
	}
	at.waitFor(0, 10*time.Second, "alice (operator)")
	bt.waitFor(0, 10*time.Second, "bob (operator)")
	ct.waitFor(0, 10*time.Second, "carol (operator)")

	mb := bt.mark()
	writeKeys(t, p.keysPath,
		authLine(bob, "", "bob"), // a viewer now
		authLine(carol, operatorRole+`,expiry-time="`+expiry+`"`, "carol"),
	)
	start := time.Now()
	if err := at.wait(5 * time.Second); err != nil {
		t.Fatalf("the removed key's session: %v", err)
	}
	t.Logf("the removed key's session ended %v after the file changed", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(at.text(), "fleetdeck: your key was removed from the authorized keys: session closed") {
		t.Errorf("the removed key's session was not told:\n%s", tail(at.text(), 400))
	}

	bt.waitFor(mb, 5*time.Second, "bob (viewer)", "your key's role is now viewer")
	bt.typeKeys("a")
	bt.waitFor(mb, 5*time.Second, "read-only session: adding and revoking are disabled")
	if err := bt.wait(200 * time.Millisecond); err == nil {
		t.Error("the demoted session ended")
	}
	if n.adds.Load() != 0 {
		t.Errorf("%d adds reached the fleet", n.adds.Load())
	}

	if err := ct.wait(10 * time.Second); err != nil {
		t.Fatalf("the expired key's session: %v", err)
	}
	if !strings.Contains(ct.text(), "fleetdeck: your key expired: session closed") {
		t.Errorf("the expired key's session was not told:\n%s", tail(ct.text(), 400))
	}
	for _, want := range []string{"key removed", "key demoted", "key expired"} {
		if !strings.Contains(p.log.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, p.log.String())
		}
	}
}

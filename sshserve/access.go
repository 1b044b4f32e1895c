package sshserve

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/ui"
)

// DefaultKeysCheckInterval is how often open sessions are checked against
// the authorized keys file (and their keys' expiry).
const DefaultKeysCheckInterval = 2 * time.Second

// ErrKeyRevoked is what a session's services answer once its key no longer
// authorizes it (removed from the file, expired, or no longer allowed from
// the session's address).
var ErrKeyRevoked = errors.New("your key no longer authorizes this session")

// access is one session's standing: the key it logged in with, checked
// again against the authorized keys as they are now, by every mutating
// action and every KeysCheckInterval. A session's role only goes down: a
// key promoted in the file takes effect at its next login.
type access struct {
	keys *AuthorizedKeys
	pub  gossh.PublicKey
	addr net.Addr
	// changed holds the newest standing for the session model (newest
	// wins, as with window sizes): nobody waits on a session to read it.
	changed chan standing

	mu  sync.Mutex
	now standing
}

// standing is where a session stands.
type standing struct {
	role  Role
	ended string // why the session must end; "" while it may go on
}

func (s *Server) newAccess(k Key, addr net.Addr) *access {
	return &access{keys: s.keys, pub: k.pub, addr: addr, changed: make(chan standing, 1), now: standing{role: k.Role}}
}

// check applies the key file as it is now (read again if it changed) and
// the clock to the session, and returns its standing and whether it
// changed.
func (a *access) check(now time.Time) (standing, bool) {
	k, ok := a.keys.Lookup(a.pub)
	return a.apply(k, ok, now)
}

func (a *access) apply(k Key, inFile bool, now time.Time) (standing, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.now.ended != "" {
		return a.now, false
	}
	switch {
	case !inFile:
		a.now.ended = "your key was removed from the authorized keys"
	case !k.expires.IsZero() && !now.Before(k.expires):
		a.now.ended = "your key expired"
	case !k.Permits(a.addr, now):
		a.now.ended = "your key is no longer allowed from this address"
	case a.now.role.CanMutate() && !k.Role.CanMutate():
		a.now.role = k.Role
	default:
		return a.now, false
	}
	select {
	case <-a.changed:
	default:
	}
	a.changed <- a.now
	return a.now, true
}

// mayMutate is asked before every add, revoke and send.
func (a *access) mayMutate() error {
	st, _ := a.check(time.Now())
	switch {
	case st.ended != "":
		return fmt.Errorf("%w: %s", ErrKeyRevoked, st.ended)
	case !st.role.CanMutate():
		return ErrReadOnly
	}
	return nil
}

// watchKeys checks every open session against the authorized keys every
// KeysCheckInterval, until ctx ends: a removed or expired key's session is
// ended, a demoted key's session turns read-only.
func (s *Server) watchKeys(ctx context.Context) {
	t := time.NewTicker(s.o.KeysCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		open := slices.Collect(maps.Keys(s.live))
		s.mu.Unlock()
		if len(open) == 0 {
			continue
		}
		set, now := s.keys.Current(), time.Now()
		for _, ls := range open {
			k, ok := set.Lookup(ls.acc.pub)
			st, changed := ls.acc.apply(k, ok, now)
			if !changed {
				continue
			}
			attrs := []any{"user", ls.user, "remote", remote(ls.acc.addr), "fingerprint", ls.fingerprint}
			switch {
			case !ok:
				s.log.Info("ssh session ended: key removed from the authorized keys", attrs...)
			case st.ended != "" && !k.expires.IsZero() && !now.Before(k.expires):
				s.log.Info("ssh session ended: key expired", attrs...)
			case st.ended != "":
				s.log.Info("ssh session ended: key no longer allowed from this address", attrs...)
			default:
				s.log.Info("ssh session demoted: key demoted in the authorized keys", append(attrs, "role", st.role)...)
			}
		}
	}
}

// liveSession is an open console, as the key watcher sees it.
type liveSession struct {
	user, fingerprint string
	acc               *access
}

// guardedFleet asks the session's access before every add and revoke.
type guardedFleet struct {
	ui.FleetService
	acc *access
}

func (g guardedFleet) Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
	if err := g.acc.mayMutate(); err != nil {
		return nil, err
	}
	return g.FleetService.Add(ctx, vs)
}

func (g guardedFleet) Delete(ctx context.Context, vin string) error {
	if err := g.acc.mayMutate(); err != nil {
		return err
	}
	return g.FleetService.Delete(ctx, vin)
}

// guardedCommands asks the session's access before every send (the
// confirmation step of an ignition command included); following a
// command's status is reading.
type guardedCommands struct {
	ui.CommandService
	acc *access
}

func (g guardedCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	if err := g.acc.mayMutate(); err != nil {
		return commands.SendResult{}, err
	}
	return g.CommandService.Send(ctx, vin, command, code)
}

// guardedApprovals asks the session's access before a request for approval
// is made, decided or withdrawn.
type guardedApprovals struct {
	ui.ApprovalService
	acc *access
}

func (g guardedApprovals) Request(ctx context.Context, vin, command string, note audit.Note) (audit.Approval, error) {
	if err := g.acc.mayMutate(); err != nil {
		return audit.Approval{}, err
	}
	return g.ApprovalService.Request(ctx, vin, command, note)
}

func (g guardedApprovals) Decide(ctx context.Context, id int64, approve bool) (audit.Approval, error) {
	if err := g.acc.mayMutate(); err != nil {
		return audit.Approval{}, err
	}
	return g.ApprovalService.Decide(ctx, id, approve)
}

func (g guardedApprovals) Withdraw(ctx context.Context, id int64) (audit.Approval, error) {
	if err := g.acc.mayMutate(); err != nil {
		return audit.Approval{}, err
	}
	return g.ApprovalService.Withdraw(ctx, id)
}

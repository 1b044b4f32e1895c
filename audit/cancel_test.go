package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// A pending clearance is cancelled, not revoked: the journal and the error
// text say so; an approved one is still revoked.
func TestFleetActionsCancelPending(t *testing.T) {
	j, _ := openTemp(t)
	const pending, approved = "W1KZF8DB1LA999874", "WBA5R1C51KAJ98123"
	inner := &fakeFleet{t: t, j: j, status: map[string]fleet.Status{pending: fleet.StatusPending, approved: fleet.StatusApproved}}
	fa := Fleet(inner, j, alice)
	ctx := context.Background()

	if a, err := fa.Remove(ctx, pending); err != nil || a != ActionClearanceCancel {
		t.Fatalf("remove pending: %s, %v; want %s", a, err, ActionClearanceCancel)
	}
	if a, err := fa.Remove(ctx, approved); err != nil || a != ActionClearanceRevoke {
		t.Fatalf("remove approved: %s, %v; want %s", a, err, ActionClearanceRevoke)
	}
	cause := errors.New("conflict (HTTP 409)")
	inner.err = fmt.Errorf("revoke %s: %w", pending, cause)
	err := fa.Delete(ctx, pending)
	if err == nil || err.Error() != "cancel "+pending+": conflict (HTTP 409)" || !errors.Is(err, cause) {
		t.Errorf("failed cancel: %v (cause kept: %v)", err, errors.Is(err, cause))
	}
	// An error that is not the client's "revoke VIN: …" is passed on as it is.
	inner.err = errors.New("connection refused")
	if err := fa.Delete(ctx, pending); err == nil || err.Error() != "connection refused" {
		t.Errorf("other error: %v", err)
	}
	// The status cannot be read: a revoke, as before cancels had a name.
	inner.err, inner.getErr = nil, errors.New("timeout")
	if a, err := fa.Remove(ctx, pending); err != nil || a != ActionClearanceRevoke {
		t.Errorf("unknown status: %s, %v", a, err)
	}

	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 5 {
		t.Fatalf("records: %+v (%v)", recs, err)
	}
	want := []struct {
		action Action
		vin    string
		result string
	}{
		{ActionClearanceCancel, pending, "cancellation requested"},
		{ActionClearanceRevoke, approved, "revocation requested"},
		{ActionClearanceCancel, pending, "error: cancel " + pending + ": conflict (HTTP 409)"},
		{ActionClearanceCancel, pending, "error: connection refused"},
		{ActionClearanceRevoke, pending, "revocation requested"},
	}
	for i, w := range want {
		if r := recs[i]; r.Action != w.action || r.VIN != w.vin || r.Result() != w.result {
			t.Errorf("record %d: %s %s %q; want %s %s %q", i, r.Action, r.VIN, r.Result(), w.action, w.vin, w.result)
		}
	}
	if rep := verify(t, j); !rep.OK {
		t.Errorf("verify: %+v", rep)
	}
}

// A journal written before cancels had a name (a cancel recorded as
// clearance.revoke) still reads as written and verifies with new entries
// chained after it: nothing about how entries hash changed.
func TestOldRevokeEntriesStillVerify(t *testing.T) {
	j, path := openTemp(t)
	ctx := context.Background()
	old := intent(t, j, ActionClearanceRevoke, "W1KZF8DB1LA999874", "")
	outcome(t, j, old, "revocation requested", "")
	j.Close()

	j2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	inner := &fakeFleet{t: t, j: j2, status: map[string]fleet.Status{"WBA5R1C51KAJ98123": fleet.StatusPending}}
	if a, err := Fleet(inner, j2, alice).Remove(ctx, "WBA5R1C51KAJ98123"); err != nil || a != ActionClearanceCancel {
		t.Fatalf("cancel: %s %v", a, err)
	}
	rep := verify(t, j2)
	if !rep.OK || rep.Entries != 4 {
		t.Fatalf("verify: %+v", rep)
	}
	recs, err := j2.List(ctx, Filter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("list: %v %v", recs, err)
	}
	if recs[0].Action != ActionClearanceRevoke || recs[0].Result() != "revocation requested" ||
		recs[1].Action != ActionClearanceCancel || !strings.Contains(recs[1].Result(), "cancellation") {
		t.Errorf("records: %+v", recs)
	}
}

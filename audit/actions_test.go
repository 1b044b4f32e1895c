package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
)

// fakeCommands answers like mobway's two-step flow and checks, at each
// call, that the journal already holds the call's intent.
type fakeCommands struct {
	t       *testing.T
	j       *Journal
	code    string
	calls   int
	sendErr error
	status  commands.Command
}

func (f *fakeCommands) intentWritten(action Action) {
	f.t.Helper()
	recs, err := f.j.Recent(context.Background(), 1)
	if err != nil || len(recs) != 1 || recs[0].Action != action || recs[0].Known() {
		f.t.Errorf("at the %s call the newest record is %+v (%v): the intent was not written first", action, recs, err)
	}
}

func (f *fakeCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	f.calls++
	if f.sendErr != nil {
		return commands.SendResult{}, f.sendErr
	}
	if code == "" {
		f.intentWritten(ActionCommandConfirmation)
		return commands.SendResult{Confirmation: &commands.Confirmation{VIN: vin, Command: command, Code: f.code,
			Message: "Digite o código " + f.code + " para confirmar"}}, nil
	}
	f.intentWritten(ActionCommandConfirm)
	if code != f.code {
		// A server that echoes what it got: the decorator must not keep it.
		return commands.SendResult{}, errors.New("confirmation invalid: got " + code)
	}
	return commands.SendResult{Command: &commands.Command{ID: "cmd-7", VIN: vin, Command: command, Status: commands.StatusPending}}, nil
}

func (f *fakeCommands) Status(ctx context.Context, id string) (commands.Command, error) {
	return f.status, nil
}

func (f *fakeCommands) Follow(ctx context.Context, id string, each func(commands.Command)) (commands.Command, error) {
	return f.status, nil
}

// journalBytes is everything on disk for the journal: file, WAL and index.
func journalBytes(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestCommandActionsTwoStep(t *testing.T) {
	j, path := openTemp(t)
	const code = "493817"
	inner := &fakeCommands{t: t, j: j, code: code}
	cmds := Commands(inner, j, SSHActor("bob", "SHA256:abcdefghijklmnop", "operator"))
	ctx := WithNote(context.Background(), Note{Reason: "stolen"})

	res, err := cmds.Send(ctx, "WBA5R1C51KAJ98123", "disable_ignition", "")
	if err != nil || res.Confirmation == nil || res.Confirmation.Code != code {
		t.Fatalf("step one: %+v %v", res, err)
	}
	if _, err := cmds.Send(ctx, "WBA5R1C51KAJ98123", "disable_ignition", "111111"); err == nil {
		t.Fatal("wrong code accepted")
	}
	res, err = cmds.Send(ctx, "WBA5R1C51KAJ98123", "disable_ignition", code)
	if err != nil || res.Command == nil || res.Command.ID != "cmd-7" {
		t.Fatalf("step two: %+v %v", res, err)
	}
	// The console polls; the end is recorded once however often it is seen.
	inner.status = commandWith("cmd-7", "Pending", "")
	cmds.Status(ctx, "cmd-7")
	inner.status = commandWith("cmd-7", "Success", `{"ignition":"off"}`)
	for range 3 {
		if c, err := cmds.Status(ctx, "cmd-7"); err != nil || c.Status != commands.StatusSuccess {
			t.Fatalf("status: %+v %v", c, err)
		}
	}
	if _, err := cmds.Follow(ctx, "cmd-7", nil); err != nil {
		t.Fatal(err)
	}

	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 3 {
		t.Fatalf("records: %+v (%v)", recs, err)
	}
	want := []struct {
		action Action
		result string
	}{
		{ActionCommandConfirmation, "confirmation issued"},
		{ActionCommandConfirm, "error: confirmation invalid: got [code]"},
		{ActionCommandConfirm, "Pending id cmd-7; Success"},
	}
	for i, w := range want {
		if recs[i].Action != w.action || recs[i].Result() != w.result {
			t.Errorf("record %d: %s %q, want %s %q", i, recs[i].Action, recs[i].Result(), w.action, w.result)
		}
		if a := recs[i].Actor; a.Kind != KindSSH || a.User != "bob" || a.KeyFingerprint != "SHA256:abcdefghijklmnop" || a.Role != "operator" {
			t.Errorf("record %d actor %+v", i, a)
		}
	}
	if len(recs[2].Outcomes) != 2 {
		t.Errorf("final status recorded %d times", len(recs[2].Outcomes)-1)
	}
	j.Close() // flush nothing away: the bytes on disk are what matters
	if raw := journalBytes(t, path); bytes.Contains(raw, []byte(code)) {
		t.Error("the confirmation code is in the journal's files")
	}
	if raw := journalBytes(t, path); !bytes.Contains(raw, []byte("disable_ignition")) {
		t.Error("journal bytes do not hold the command: the code check above proves nothing")
	}
}

func TestCommandActionsIntentFailureBlocksSend(t *testing.T) {
	j, _ := openTemp(t)
	inner := &fakeCommands{t: t, j: j, code: "123456"}
	cmds := Commands(inner, j, alice)
	j.Close()
	_, err := cmds.Send(context.Background(), "WBA5R1C51KAJ98123", "lock_door", "")
	if err == nil || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("send with a broken journal: %v", err)
	}
	if inner.calls != 0 {
		t.Fatal("the command was sent without its intent on record")
	}
}

func TestCommandActionsRecordsOutcomeAfterCancel(t *testing.T) {
	j, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	inner := &cancelingCommands{cancel: cancel}
	cmds := Commands(inner, j, alice)
	if _, err := cmds.Send(ctx, "WBA5R1C51KAJ98123", "lock_door", ""); err != nil {
		t.Fatal(err)
	}
	recs, _ := j.List(context.Background(), Filter{})
	if len(recs) != 1 || recs[0].Result() != "Error id c-9; Error: Vehicle offline" {
		t.Fatalf("records %+v", recs)
	}
}

// cancelingCommands accepts a command, which has already failed, as the
// caller's context ends.
type cancelingCommands struct{ cancel context.CancelFunc }

func (c *cancelingCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	c.cancel()
	cmd := commandWith("c-9", "Error", `"Vehicle offline"`)
	return commands.SendResult{Command: &cmd}, nil
}
func (c *cancelingCommands) Status(ctx context.Context, id string) (commands.Command, error) {
	return commands.Command{}, errors.New("unused")
}
func (c *cancelingCommands) Follow(ctx context.Context, id string, each func(commands.Command)) (commands.Command, error) {
	return commands.Command{}, errors.New("unused")
}

// fakeFleet records calls and checks the intents precede them.
type fakeFleet struct {
	t       *testing.T
	j       *Journal
	deleted []string
	err     error
	status  map[string]fleet.Status // Get's answer by VIN; default revoking
	getErr  error
}

func (f *fakeFleet) List(ctx context.Context, flt *fleet.Filter) ([]fleet.Vehicle, error) {
	return []fleet.Vehicle{{VIN: "WBA5R1C51KAJ98123"}}, nil
}
func (f *fakeFleet) Get(ctx context.Context, vin string) (fleet.Vehicle, error) {
	if f.getErr != nil {
		return fleet.Vehicle{}, f.getErr
	}
	if s, ok := f.status[vin]; ok {
		return fleet.Vehicle{VIN: vin, Status: s}, nil
	}
	return fleet.Vehicle{VIN: vin, Status: fleet.StatusRevoking}, nil
}
func (f *fakeFleet) Eligibility(ctx context.Context, vin, brand string) (fleet.Eligibility, error) {
	return fleet.Eligibility{VIN: vin, Eligible: true}, nil
}
func (f *fakeFleet) TokenValidUntil() time.Time { return time.Unix(1e9, 0) }

func (f *fakeFleet) pending(n int) {
	f.t.Helper()
	recs, err := f.j.Recent(context.Background(), n)
	if err != nil || len(recs) != n {
		f.t.Fatalf("recent: %v", err)
	}
	for _, r := range recs {
		if r.Known() {
			f.t.Errorf("intent %d already has an outcome when the request is made", r.Seq)
		}
	}
}

func (f *fakeFleet) Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
	f.pending(len(vs))
	if f.err != nil {
		return nil, f.err
	}
	out := make([]fleet.AddResult, len(vs))
	for i, v := range vs {
		out[i] = fleet.AddResult{VIN: v.VIN, Status: fleet.StatusPending}
		if v.Brand == "trabant" {
			out[i] = fleet.AddResult{VIN: v.VIN, Status: fleet.StatusError, Description: "invalid brand"}
		}
	}
	return out, nil
}

func (f *fakeFleet) AddBatched(ctx context.Context, vs []fleet.NewVehicle, chunk int, progress func(done, total int)) ([]fleet.AddResult, error) {
	return f.Add(ctx, vs)
}

func (f *fakeFleet) Delete(ctx context.Context, vin string) error {
	f.pending(1)
	f.deleted = append(f.deleted, vin)
	return f.err
}

func TestFleetActions(t *testing.T) {
	j, _ := openTemp(t)
	inner := &fakeFleet{t: t, j: j}
	fa := Fleet(inner, j, alice)
	ctx := context.Background()

	res, err := fa.AddBatched(ctx, []fleet.NewVehicle{
		{VIN: "W1KZF8DB1LA999874", Brand: "Mercedes-Benz", Odometer: &fleet.Odometer{Value: 12000, Unit: fleet.UnitKilometers}},
		{VIN: "WBA5R1C51KAJ66666", Brand: "trabant"},
	}, 50, nil)
	if err != nil || len(res) != 2 {
		t.Fatalf("add: %+v %v", res, err)
	}
	if err := fa.Delete(ctx, "WBA5R1C51KAJ98123"); err != nil {
		t.Fatal(err)
	}
	inner.err = errors.New("revoke WBA5R1C51KAJ98123: conflict (HTTP 409)")
	if err := fa.Delete(ctx, "WBA5R1C51KAJ98123"); err == nil {
		t.Fatal("the inner error was lost")
	}
	// Reads pass through and leave no trace.
	if _, err := fa.List(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fa.Eligibility(ctx, "WBA5R1C51KAJ98123", "bmw"); err != nil {
		t.Fatal(err)
	}

	recs, err := j.List(ctx, Filter{})
	if err != nil || len(recs) != 4 {
		t.Fatalf("records: %+v (%v)", recs, err)
	}
	want := []struct {
		action    Action
		vin, what string
		result    string
	}{
		{ActionClearanceAdd, "W1KZF8DB1LA999874", "brand mercedes-benz, odometer 12000 kilometers", "pending"},
		{ActionClearanceAdd, "WBA5R1C51KAJ66666", "brand trabant", "error: invalid brand"},
		{ActionClearanceRevoke, "WBA5R1C51KAJ98123", "", "revocation requested"},
		{ActionClearanceRevoke, "WBA5R1C51KAJ98123", "", "error: revoke WBA5R1C51KAJ98123: conflict (HTTP 409)"},
	}
	for i, w := range want {
		r := recs[i]
		if r.Action != w.action || r.VIN != w.vin || r.Command != w.what || r.Result() != w.result {
			t.Errorf("record %d: %s %s %q %q, want %s %s %q %q", i, r.Action, r.VIN, r.Command, r.Result(), w.action, w.vin, w.what, w.result)
		}
	}

	j.Close()
	if err := fa.Delete(ctx, "WBA5R1C51KAJ98123"); err == nil || len(inner.deleted) != 2 {
		t.Errorf("revoke with a broken journal: %v, %d revocations sent (want 2)", err, len(inner.deleted))
	}
}

func TestOpenRejectsDriverParametersInPath(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "a.db?_pragma=x")); err == nil {
		t.Error("a path with ? was accepted")
	}
}

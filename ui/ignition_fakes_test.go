package ui

import (
	"context"
	"sync"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/stream"
)

// The platform's alert for disable_ignition, as the sandbox words it.
const disableMessage = "Atenção: o comando de desligar a ignição será enviado ao veículo. Confirme apenas se o veículo estiver parado em local seguro."

// notedCommands records the journal note each send carried.
type notedCommands struct {
	*fakeCommands
	mu    sync.Mutex
	notes []audit.Note
}

func (n *notedCommands) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	note, _ := audit.NoteFrom(ctx)
	n.mu.Lock()
	n.notes = append(n.notes, note)
	n.mu.Unlock()
	return n.fakeCommands.Send(ctx, vin, command, code)
}

func (n *notedCommands) sentNotes() []audit.Note {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]audit.Note(nil), n.notes...)
}

// liveState gives vin a speed, an ignition state and a location on the
// fake feed, each ago old.
func (f *fakeTelemetry) liveState(vin string, speed float64, ignition string, ago time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at := testNow.Add(-ago)
	props := f.props[vin]
	props = append(props,
		stream.Property{Capability: "diagnostics", Name: "speed", Value: formatSpeed(speed), Unit: "km/h", Numeric: true, Number: speed, SourceTime: at},
		stream.Property{Capability: "ignition", Name: "state", Value: ignition, SourceTime: at},
		stream.Property{Capability: "vehicle_location", Name: "coordinates", Value: "59.4063, 24.7181", SourceTime: at},
	)
	f.props[vin] = props
}

func formatSpeed(v float64) string {
	if v == float64(int(v)) {
		return itoa(int(v))
	}
	return itoa(int(v)) + "." + itoa(int((v-float64(int(v)))*10+0.5))
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// disableEnv scripts disable_ignition on the sandbox's words: codes
// 123456 then 654321 (each first step issues the next), Pending then
// Success; the selected vehicle drives at 12.5 km/h.
func disableEnv() *testEnv {
	e := newEnv()
	e.tele.liveState("1FTFW1ET5DFC10312", 12.5, "on", 3*time.Second)
	codes := []string{"123456", "654321", "777777", "888888"}
	issued := 0
	var mu sync.Mutex
	e.cmds.onSend = func(n int, c sendCall) (commands.SendResult, error) {
		mu.Lock()
		defer mu.Unlock()
		if c.code == "" {
			code := codes[min(issued, len(codes)-1)]
			issued++
			return commands.SendResult{Confirmation: &commands.Confirmation{VIN: c.vin, Command: c.command, Code: code, Message: disableMessage}}, nil
		}
		if c.code == codes[issued-1] {
			return commands.SendResult{Command: &commands.Command{ID: "cmd-1", VIN: c.vin, Command: c.command, Status: commands.StatusPending}}, nil
		}
		return commands.SendResult{}, &commands.DetailError{HTTPStatus: 400, Kind: commands.ErrConfirmationInvalid, Detail: "Confirmation invalid"}
	}
	return e
}

// noted wraps e's command service so that tests read the notes sent.
func (e *testEnv) noted() *notedCommands {
	n := &notedCommands{fakeCommands: e.cmds}
	e.opts.Commands = n
	return n
}

// testClock is a clock a test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// withClock makes e's console read a clock the test moves.
func (e *testEnv) withClock() *testClock {
	c := &testClock{t: testNow}
	e.opts.Now = c.now
	return c
}

// --- four eyes ---------------------------------------------------------

// approvalBackend is the journal's approval requests as the fakes share
// them: two consoles on one backend see the same requests.
type approvalBackend struct {
	mu   sync.Mutex
	list []audit.Approval // oldest first
	now  func() time.Time
}

// desk is one operator's view of the backend.
func (b *approvalBackend) desk(user string) *fakeDesk {
	return &fakeDesk{b: b, me: audit.Actor{Kind: audit.KindSSH, User: user}}
}

type fakeDesk struct {
	b  *approvalBackend
	me audit.Actor
}

func (d *fakeDesk) Request(ctx context.Context, vin, command string, note audit.Note) (audit.Approval, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	a := audit.Approval{ID: int64(len(d.b.list) + 1), VIN: vin, Command: command, Reason: note.Reason, Shown: note.Shown,
		Requester: d.me, At: d.b.now(), State: audit.ApprovalPending}
	d.b.list = append(d.b.list, a)
	a.Mine = true
	return a, nil
}

func (d *fakeDesk) settle(a *audit.Approval) {
	if a.Open() && !d.b.now().Before(a.Expires()) {
		a.State = audit.ApprovalExpired
	}
}

func (d *fakeDesk) Approvals(ctx context.Context) ([]audit.Approval, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	var out []audit.Approval
	for i := len(d.b.list) - 1; i >= 0; i-- {
		a := d.b.list[i]
		d.settle(&a)
		a.Mine = audit.SamePerson(a.Requester, d.me)
		out = append(out, a)
	}
	return out, nil
}

func (d *fakeDesk) find(id int64) (*audit.Approval, error) {
	for i := range d.b.list {
		if d.b.list[i].ID == id {
			d.settle(&d.b.list[i])
			return &d.b.list[i], nil
		}
	}
	return nil, audit.ErrApprovalNotFound
}

func (d *fakeDesk) Decide(ctx context.Context, id int64, approve bool) (audit.Approval, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	a, err := d.find(id)
	switch {
	case err != nil:
		return audit.Approval{}, err
	case audit.SamePerson(a.Requester, d.me):
		return *a, audit.ErrOwnRequest
	case a.State != audit.ApprovalPending:
		return *a, audit.ErrApprovalClosed
	}
	me := d.me
	a.Decider, a.DecidedAt, a.State = &me, d.b.now(), audit.ApprovalRejected
	if approve {
		a.State = audit.ApprovalApproved
	}
	return *a, nil
}

func (d *fakeDesk) Withdraw(ctx context.Context, id int64) (audit.Approval, error) {
	d.b.mu.Lock()
	defer d.b.mu.Unlock()
	a, err := d.find(id)
	switch {
	case err != nil:
		return audit.Approval{}, err
	case !audit.SamePerson(a.Requester, d.me):
		return *a, audit.ErrNotRequester
	case !a.Open():
		return *a, audit.ErrApprovalClosed
	}
	a.State = audit.ApprovalWithdrawn
	return *a, nil
}

// --- immobilised -------------------------------------------------------

// immobilisedLog is a journal that knows which vehicles are immobilised.
type immobilisedLog struct {
	mu   sync.Mutex
	list []audit.Immobilisation
}

func (l *immobilisedLog) Recent(ctx context.Context, n int) ([]audit.Record, error) { return nil, nil }

func (l *immobilisedLog) Immobilised(ctx context.Context) ([]audit.Immobilisation, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]audit.Immobilisation(nil), l.list...), nil
}

func (l *immobilisedLog) set(list ...audit.Immobilisation) {
	l.mu.Lock()
	l.list = list
	l.mu.Unlock()
}

// safetyEnv is bob's console: alice asked two minutes ago to immobilise
// the Ford (it drives), and the BMW has been immobilised for three hours.
func safetyEnv() *testEnv {
	e := newEnv()
	e.tele.liveState("1FTFW1ET5DFC10312", 12.5, "on", 3*time.Second)
	b := &approvalBackend{now: func() time.Time { return testNow }}
	b.list = []audit.Approval{{ID: 7, VIN: "1FTFW1ET5DFC10312", Command: "disable_ignition", Reason: "reported stolen, police case 2025-118",
		Shown:     "speed 12.5 km/h (2s old); ignition on (2s old); location 59.4063, 24.7181 (2s old)",
		Requester: audit.Actor{Kind: audit.KindSSH, User: "alice", Role: "operator"}, At: testNow.Add(-2 * time.Minute), State: audit.ApprovalPending}}
	// bob's desk; his name stays out of the status bar, so that at 80
	// columns it still shows the fleet's state the goldens wait for.
	e.opts.Approvals = b.desk("bob")
	e.opts.Policy = config.CommandPolicy{Approval: []string{"disable_ignition"}}
	log := &immobilisedLog{}
	log.set(audit.Immobilisation{VIN: "WBA12345678901234", Since: testNow.Add(-3 * time.Hour), By: audit.Actor{User: "carol"}, Reason: "unpaid lease"})
	e.opts.Audit = log
	return e
}

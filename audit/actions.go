package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/config"
	"github.com/fleetdeck/fleetdeck/vin"
)

// The decorators below are the action layer the console and the CLI use:
// the same method sets as the clients, with every mutation journalled. An
// intent that cannot be written stops the action (an unaudited mutation is
// worse than a refused one); an outcome that cannot be written is logged,
// and the action's result still reaches the caller, because reporting a
// sent command as failed invites sending it twice.

// FleetMutator is the fleet client as FleetActions needs it;
// *fleet.Client has it.
type FleetMutator interface {
	List(ctx context.Context, f *fleet.Filter) ([]fleet.Vehicle, error)
	Get(ctx context.Context, vin string) (fleet.Vehicle, error)
	Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error)
	AddBatched(ctx context.Context, vs []fleet.NewVehicle, chunk int, progress func(done, total int)) ([]fleet.AddResult, error)
	Delete(ctx context.Context, vin string) error
	Eligibility(ctx context.Context, vin, brand string) (fleet.Eligibility, error)
	TokenValidUntil() time.Time
}

// FleetActions journals clearance changes (Add, AddBatched, Delete) and
// passes reads through. It has ui.FleetService's method set.
type FleetActions struct {
	inner FleetMutator
	j     *Journal
	actor Actor
}

// Fleet wraps inner so that every clearance change is journalled as actor.
func Fleet(inner FleetMutator, j *Journal, actor Actor) *FleetActions {
	return &FleetActions{inner: inner, j: j, actor: actor}
}

// List passes through.
func (f *FleetActions) List(ctx context.Context, flt *fleet.Filter) ([]fleet.Vehicle, error) {
	return f.inner.List(ctx, flt)
}

// Get passes through.
func (f *FleetActions) Get(ctx context.Context, vin string) (fleet.Vehicle, error) {
	return f.inner.Get(ctx, vin)
}

// Eligibility passes through: it changes nothing.
func (f *FleetActions) Eligibility(ctx context.Context, vin, brand string) (fleet.Eligibility, error) {
	return f.inner.Eligibility(ctx, vin, brand)
}

// TokenValidUntil passes through.
func (f *FleetActions) TokenValidUntil() time.Time { return f.inner.TokenValidUntil() }

// Add journals one clearance.add intent per vehicle, adds them, and
// journals each row's result.
func (f *FleetActions) Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error) {
	return f.add(ctx, vs, func(ctx context.Context) ([]fleet.AddResult, error) { return f.inner.Add(ctx, vs) })
}

// AddBatched is Add for a file's worth of vehicles: every intent is written
// before the first chunk is sent.
func (f *FleetActions) AddBatched(ctx context.Context, vs []fleet.NewVehicle, chunk int, progress func(done, total int)) ([]fleet.AddResult, error) {
	return f.add(ctx, vs, func(ctx context.Context) ([]fleet.AddResult, error) {
		return f.inner.AddBatched(ctx, vs, chunk, progress)
	})
}

func (f *FleetActions) add(ctx context.Context, vs []fleet.NewVehicle, do func(context.Context) ([]fleet.AddResult, error)) ([]fleet.AddResult, error) {
	if len(vs) == 0 {
		return do(ctx) // nothing to change; let the client say so
	}
	vins := make([]string, len(vs))
	what := make([]string, len(vs))
	for i, nv := range vs {
		vins[i], what[i] = nv.VIN, describeClearance(nv)
	}
	seqs, err := f.j.intents(ctx, f.actor, ActionClearanceAdd, vins, what)
	if err != nil {
		return nil, fmt.Errorf("add vehicles: not sent: %w", err)
	}
	res, err := do(ctx)
	outs := make([]string, len(vs))
	byVIN := make(map[string]fleet.AddResult, len(res))
	for _, r := range res {
		byVIN[vin.Normalize(r.VIN)] = r
	}
	for i, nv := range vs {
		var r fleet.AddResult
		var ok bool
		if len(res) == len(vs) && vin.Normalize(res[i].VIN) == vin.Normalize(nv.VIN) {
			r, ok = res[i], true
		} else {
			r, ok = byVIN[vin.Normalize(nv.VIN)]
		}
		switch {
		case ok && r.Status == fleet.StatusError:
			outs[i] = "error: " + r.Description
		case ok:
			outs[i] = string(r.Status)
		case err != nil:
			outs[i] = errorText(err)
		default:
			outs[i] = "error: no result for this vehicle"
		}
	}
	wctx, cancel := afterTheFact(ctx)
	defer cancel()
	if werr := f.j.outcomes(wctx, f.actor, seqs, outs, make([]string, len(seqs)), nil); werr != nil {
		f.j.log.Error("audit: outcome not recorded", "action", ActionClearanceAdd, "err", werr)
	}
	return res, err
}

// describeClearance is the "what" of a clearance request: brand and, for
// the brands that check it, the odometer. Tags stay out (free text).
func describeClearance(nv fleet.NewVehicle) string {
	s := "brand " + fleet.NormalizeBrand(nv.Brand)
	if nv.Odometer != nil {
		s += ", odometer " + strconv.FormatInt(nv.Odometer.Value, 10) + " " + nv.Odometer.Unit
	}
	return s
}

// Delete revokes an approved clearance or cancels a pending one (the API has
// one DELETE for both) and journals which it was; see Remove.
func (f *FleetActions) Delete(ctx context.Context, vin string) error {
	_, err := f.Remove(ctx, vin)
	return err
}

// Remove is Delete that also returns what it did: ActionClearanceCancel
// when the clearance was pending, ActionClearanceRevoke otherwise. It reads
// the vehicle first (one GET) so that the journal and the operator are told
// "cancel" or "revoke" from the clearance's state, not a guess; when that
// read fails the removal is journaled as a revoke, as every removal was
// before cancels had their own name, and the API decides.
func (f *FleetActions) Remove(ctx context.Context, v string) (Action, error) {
	action, verb, done := ActionClearanceRevoke, "revoke", "revocation requested"
	if cur, err := f.inner.Get(ctx, v); err == nil && cur.Status == fleet.StatusPending {
		action, verb, done = ActionClearanceCancel, "cancel", "cancellation requested"
	}
	seq, err := f.j.Intent(ctx, f.actor, action, v, "")
	if err != nil {
		return action, fmt.Errorf("%s %s: not sent: %w", verb, clean(v, maxField), err)
	}
	err = f.inner.Delete(ctx, v)
	if action == ActionClearanceCancel {
		err = renameRevoke(err, v)
	}
	out := done
	if err != nil {
		out = errorText(err)
	}
	f.j.outcomeAfter(ctx, f.actor, seq, out, "")
	return action, err
}

// renameRevoke makes the fleet client's "revoke VIN: …" read "cancel VIN: …"
// for a pending clearance (the client has one verb for its one DELETE). Any
// other error is returned as it is; the cause stays wrapped either way.
func renameRevoke(err error, v string) error {
	cause := errors.Unwrap(err)
	if err == nil || cause == nil {
		return err
	}
	v = vin.Normalize(v)
	if !strings.HasPrefix(err.Error(), "revoke "+v+": ") {
		return err
	}
	return fmt.Errorf("cancel %s: %w", v, cause)
}

// CommandSender is the command client as CommandActions needs it;
// *commands.Client has it.
type CommandSender interface {
	Send(ctx context.Context, vin, command, code string) (commands.SendResult, error)
	Status(ctx context.Context, id string) (commands.Command, error)
	Follow(ctx context.Context, id string, each func(commands.Command)) (commands.Command, error)
}

// CommandActions journals commands: each Send (step one, step two, or a
// single-step command) before and after, and a command's final status the
// first time Status or Follow sees it. It has ui.CommandService's method
// set. With a policy (WithPolicy) it also refuses what the policy forbids,
// whoever sends: a command that needs a reason without one, a command that
// needs a second operator's approval without an approved request of the
// sender's own.
type CommandActions struct {
	inner  CommandSender
	j      *Journal
	actor  Actor
	policy config.CommandPolicy
}

// Commands wraps inner so that every command is journalled as actor.
func Commands(inner CommandSender, j *Journal, actor Actor) *CommandActions {
	return &CommandActions{inner: inner, j: j, actor: actor}
}

// WithPolicy makes c enforce p ([commands] approval; the reason
// disable_ignition needs).
func (c *CommandActions) WithPolicy(p config.CommandPolicy) *CommandActions {
	c.policy = p
	return c
}

// Send journals the intent, sends, and journals what came back:
// "confirmation issued" (the code is never written), "<Status> id <id>" for
// an accepted command, or the error. A command that came back already
// ended gets its final status too. The intent carries the note the caller
// attached to ctx (WithNote): the reason, what the operator saw, the
// approval request it carries out.
func (c *CommandActions) Send(ctx context.Context, vin, command, code string) (commands.SendResult, error) {
	action := ActionCommandSend
	switch {
	case code != "":
		action = ActionCommandConfirm
	case commands.NeedsConfirmation(command):
		action = ActionCommandConfirmation
	}
	note, _ := NoteFrom(ctx)
	note = note.Clean()
	refuse := func(err error) (commands.SendResult, error) {
		return commands.SendResult{}, fmt.Errorf("send %s to %s: not sent: %w", clean(command, maxField), clean(vin, maxField), err)
	}
	if c.policy.NeedsReason(command) && note.Reason == "" {
		return refuse(fmt.Errorf("%w: say why %s", ErrReasonRequired, clean(command, maxField)))
	}
	var check func(context.Context, *sql.Tx) error
	if c.policy.NeedsApproval(command) {
		if note.Request == 0 {
			return refuse(fmt.Errorf("%w ([commands] approval lists %s)", ErrApprovalRequired, clean(command, maxField)))
		}
		check = func(ctx context.Context, tx *sql.Tx) error {
			return c.j.useApproval(ctx, tx, c.actor, note.Request, vin, command)
		}
	}
	seq, err := c.j.intent(ctx, c.actor, action, vin, command, note, check)
	if err != nil {
		return refuse(err)
	}
	res, err := c.inner.Send(ctx, vin, command, code)
	var out, id string
	switch {
	case err != nil:
		out = errorText(err)
	case res.Confirmation != nil:
		out = "confirmation issued"
	case res.Command != nil:
		id = res.Command.ID
		out = string(res.Command.Status)
		if id != "" {
			out += " id " + id
		}
	default:
		out = "no answer"
	}
	if code != "" {
		// Belt and braces: no server text may carry the code into the journal.
		out = strings.ReplaceAll(out, strings.TrimSpace(code), "[code]")
	}
	c.j.outcomeAfter(ctx, c.actor, seq, out, id)
	if err == nil && res.Command != nil && note.Request != 0 && c.policy.NeedsApproval(command) {
		// Accepted: the approval is spent.
		wctx, cancel := afterTheFact(ctx)
		if werr := c.j.markUsed(wctx, c.actor, note.Request, command, id); werr != nil {
			c.j.log.Error("audit: approval use not recorded", "request", note.Request, "err", werr)
		}
		cancel()
	}
	if err == nil && res.Command != nil && res.Command.Terminal() {
		c.finalAfter(ctx, *res.Command)
	}
	return res, err
}

// Status passes through and journals the final status once the command has
// ended.
func (c *CommandActions) Status(ctx context.Context, id string) (commands.Command, error) {
	cmd, err := c.inner.Status(ctx, id)
	if err == nil && cmd.Terminal() {
		c.finalAfter(ctx, withID(cmd, id))
	}
	return cmd, err
}

// Follow passes through and journals the final status it ends with.
func (c *CommandActions) Follow(ctx context.Context, id string, each func(commands.Command)) (commands.Command, error) {
	cmd, err := c.inner.Follow(ctx, id, each)
	if err == nil && cmd.Terminal() {
		c.finalAfter(ctx, withID(cmd, id))
	}
	return cmd, err
}

func withID(c commands.Command, id string) commands.Command {
	if c.ID == "" {
		c.ID = id
	}
	return c
}

func (c *CommandActions) finalAfter(ctx context.Context, cmd commands.Command) {
	wctx, cancel := afterTheFact(ctx)
	defer cancel()
	if _, err := c.j.FinalStatus(wctx, c.actor, cmd); err != nil {
		c.j.log.Error("audit: final status not recorded", "id", cmd.ID, "err", err)
	}
}

// outcomeAfter writes an outcome even when ctx has ended, and logs a
// failure instead of returning it (see the note at the top of this file).
func (j *Journal) outcomeAfter(ctx context.Context, actor Actor, seq int64, out, id string) {
	wctx, cancel := afterTheFact(ctx)
	defer cancel()
	if err := j.Outcome(wctx, actor, seq, out, id); err != nil {
		j.log.Error("audit: outcome not recorded", "intent", seq, "err", err)
	}
}

// errorText is an error as an outcome. Client errors are already redacted
// and sanitized; clean (in the append) sanitizes again and bounds it.
func errorText(err error) string {
	return "error: " + err.Error()
}

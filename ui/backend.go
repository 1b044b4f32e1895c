package ui

import (
	"context"
	"reflect"
	"time"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/clients/platform"
	"github.com/fleetdeck/fleetdeck/stream"
)

// FleetService is what the Clearance view needs; *fleet.Client has it.
type FleetService interface {
	List(ctx context.Context, f *fleet.Filter) ([]fleet.Vehicle, error)
	Add(ctx context.Context, vs []fleet.NewVehicle) ([]fleet.AddResult, error)
	Delete(ctx context.Context, vin string) error
	Eligibility(ctx context.Context, vin, brand string) (fleet.Eligibility, error)
	TokenValidUntil() time.Time
}

// CommandService is what the Commands view needs; *commands.Client has it.
type CommandService interface {
	Send(ctx context.Context, vin, command, code string) (commands.SendResult, error)
	Status(ctx context.Context, id string) (commands.Command, error)
}

// AuditLog is the journal of mutating actions; *audit.Journal has it. The
// Commands view shows its newest records, whoever made them.
type AuditLog interface {
	Recent(ctx context.Context, n int) ([]audit.Record, error)
}

// AuditWatcher is an AuditLog that says when it changed (*audit.Journal
// has it: an entry appended by any process, on any box sharing the
// journal). The journal then looks again at once; its timer stays, in case
// a notice is lost.
type AuditWatcher interface {
	Changes(ctx context.Context) <-chan struct{}
}

// PlatformStatus is the MRV API key's state; *platform.Client has it.
type PlatformStatus interface {
	State() platform.AuthState
}

// TelemetrySource feeds the Telemetry view: batches say what changed, and
// the view reads the store for what it shows.
type TelemetrySource interface {
	Subscribe(ctx context.Context) <-chan stream.Batch
	Vehicles() []stream.VehicleSummary
	Vehicle(id string) []stream.Property
	State() stream.ConnState
}

// PipelineSource adapts the stream package's pipeline and feed to
// TelemetrySource.
func PipelineSource(p *stream.Pipeline, f *stream.Feed) TelemetrySource {
	return pipelineSource{p: p, f: f}
}

type pipelineSource struct {
	p *stream.Pipeline
	f *stream.Feed
}

func (s pipelineSource) Subscribe(ctx context.Context) <-chan stream.Batch { return s.f.Subscribe(ctx) }
func (s pipelineSource) Vehicles() []stream.VehicleSummary                 { return s.p.Store().Vehicles() }
func (s pipelineSource) Vehicle(id string) []stream.Property               { return s.p.Store().Vehicle(id) }
func (s pipelineSource) State() stream.ConnState                           { return s.p.State() }

// isNil reports a nil interface or one holding a nil pointer (a typed nil
// passed by a caller that had no client to give).
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// orNil turns a typed nil held by an interface into the nil interface, so
// that a view given one is disabled like a view given nothing.
func orNil[T any](v T) T {
	if isNil(v) {
		var none T
		return none
	}
	return v
}

package ui

import "github.com/fleetdeck/fleetdeck/stream"

// What the map, the timeline and the charts read from the stream beyond
// TelemetrySource. They are asked for by type assertion, so a source
// without them (a test's fake) leaves those views empty rather than
// breaking.

// eventSource gives a vehicle's telemetry events and the broker's gaps.
type eventSource interface {
	Events(id string) (stream.VehicleEvents, bool)
	Gaps() []stream.Gap
}

// traceSource keeps the long history of a vehicle while it is watched.
type traceSource interface {
	Watch(id string) (stop func(), ok bool)
	Trace(id, capability, property string) (stream.Trace, bool)
}

func (s pipelineSource) Positions(dst []stream.Position) []stream.Position {
	return s.p.Store().Positions(dst)
}

func (s pipelineSource) Events(id string) (stream.VehicleEvents, bool) { return s.p.Store().Events(id) }
func (s pipelineSource) Gaps() []stream.Gap                            { return s.p.Gaps() }
func (s pipelineSource) Watch(id string) (func(), bool)                { return s.p.Store().Watch(id) }
func (s pipelineSource) Trace(id, capability, property string) (stream.Trace, bool) {
	return s.p.Store().Trace(id, capability, property)
}

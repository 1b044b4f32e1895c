package stream

import (
	"strconv"
	"time"
)

// Phase is where the telemetry source stands.
type Phase int

const (
	Connecting   Phase = iota // first connection attempts
	Connected                 // connected and subscribed: data can flow
	Reconnecting              // lost the broker; retrying (Attempt counts)
	Failed                    // an error retrying will not fix (Reason says which)
	Replaying                 // reading a recording instead of a broker
	Stopped                   // Run returned (ctx ended, or the recording ended)
)

func (p Phase) String() string {
	switch p {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Failed:
		return "failed"
	case Replaying:
		return "replaying"
	case Stopped:
		return "stopped"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// ConnState is the connection state the status bar and `telemetry tail`
// report. Reason holds the last error while connecting or reconnecting, and
// why for Failed.
type ConnState struct {
	Phase   Phase
	Attempt int
	Reason  string
	Since   time.Time
}

// String: "connecting", "connected", "reconnecting 3", "failed: reason".
func (s ConnState) String() string {
	switch s.Phase {
	case Connecting:
		if s.Attempt > 1 {
			return "connecting " + strconv.Itoa(s.Attempt)
		}
	case Reconnecting:
		if s.Attempt > 0 {
			return "reconnecting " + strconv.Itoa(s.Attempt)
		}
	case Failed:
		return "failed: " + s.Reason
	case Stopped:
		if s.Reason != "" {
			return "stopped: " + s.Reason
		}
	}
	return s.Phase.String()
}

func (s ConnState) same(o ConnState) bool {
	return s.Phase == o.Phase && s.Attempt == o.Attempt && s.Reason == o.Reason
}

// Stats counts what the pipeline did with the messages it received.
// Received, Dropped, Oversized count MQTT messages; Applied, Duplicates,
// Overflow and Failures count property updates, of which a V1 message holds
// one and a V2 message several; Malformed counts both (a message that could
// not be read at all, or one unreadable property of a V2 message). With V1
// alone, Received = Dropped + Oversized + Malformed + Duplicates + Overflow +
// Applied once the queue is drained.
type Stats struct {
	Received   uint64 // messages handed over by the broker (or the recording)
	Applied    uint64 // property updates stored (Failures included)
	Duplicates uint64 // message_id (V2: message_id and its properties) seen before (QoS 1 redelivery); a V2 message counts its updates
	Malformed  uint64 // topic or payload (or a V2 property) not in the documented format
	Oversized  uint64 // payload larger than MaxPayload
	Dropped    uint64 // the queue was full: the decoder fell behind
	Failures   uint64 // applied updates that carried a failure instead of data
	Overflow   uint64 // refused because a store limit (vehicles, properties) was reached
}

package stream

import (
	"log/slog"
	"time"
)

// Options describe the MQTT session.
type Options struct {
	Broker   string // tcp://, ssl:// (tls://, mqtts://), ws://, wss://
	CAFile   string // PEM; empty: the system roots
	CertFile string // client certificate (PEM)
	KeyFile  string // its key (PEM)
	// ClientID identifies a persistent session (clean session off: it
	// resumes across restarts). Empty: DefaultClientID(Profile), unique to
	// the pipeline, with a clean session. High Mobility's brokers need the
	// certificate's id here.
	ClientID      string
	Profile       string   // names the generated client id
	Topics        []string // subscription filters, one SUBSCRIBE: e.g. live/level13/{app_id}/# and /live/level13/{app_id}/#
	QoS           byte
	Pseudonymized string // "true" | "false" | "auto" (default)
	Logger        *slog.Logger

	// MaxReconnectInterval caps the wait between reconnection attempts, so
	// data flows again soon after the broker returns however long it was
	// away. Default (and ceiling) 1 s.
	MaxReconnectInterval time.Duration
	// ConnectTimeout bounds one attempt (TCP, TLS, CONNECT/CONNACK): a
	// broker that accepts and then says nothing must not stall reconnection.
	ConnectTimeout time.Duration // default 5 s
	KeepAlive      time.Duration // default 30 s

	// How a session takeover is told from a connection that just drops
	// (see takeoverWatch); zero: the defaults. Tests shorten them.
	takeoverGap, takeoverStable, takeoverBackoff time.Duration
}

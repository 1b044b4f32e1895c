package stream

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"time"
)

// Options describe the MQTT session.
type Options struct {
	Broker   string // tcp://, ssl:// (tls://, mqtts://), ws://, wss://
	CAFile   string // PEM; empty: the system roots
	CertFile string // client certificate (PEM)
	KeyFile  string // its key (PEM)
	// ClientID identifies the persistent session; empty: DefaultClientID("").
	ClientID      string
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
}

// DefaultClientID is stable per host and profile, so that a restarted
// console resumes its persistent session (and the broker keeps what arrived
// meanwhile), while two profiles on one host do not take over each other's
// session. 22 characters: within MQTT 3.1's limit of 23.
func DefaultClientID(profile string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + profile))
	return "fleetdeck-" + hex.EncodeToString(sum[:6])
}

package stream

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// DefaultClientID names a session when the config names none: the host and
// profile (so a broker's log says whose it is), then a random part, so that
// two processes on one host (a console, `fleetdeck serve`, `telemetry
// tail`) never take over each other's session. 23 characters: MQTT 3.1's
// limit. Such a session is not persistent (clean session): a restarted
// process would not find it again, and the broker would keep an abandoned
// session's queue for nothing. A configured client_id gets a persistent
// session that resumes across restarts.
func DefaultClientID(profile string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + profile))
	var r [3]byte
	_, _ = rand.Read(r[:])
	return "fleetdeck-" + hex.EncodeToString(sum[:3]) + "-" + hex.EncodeToString(r[:])
}

// highMobilityHost reports one of High Mobility's brokers, which tie the
// session to the client certificate: the client id must be the
// certificate's id.
func highMobilityHost(broker string) bool {
	u, err := url.Parse(broker)
	if err != nil {
		return false
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return h == "high-mobility.com" || strings.HasSuffix(h, ".high-mobility.com")
}

// certificateClientID is the id in a certificate file named the way High
// Mobility's console hands it out: <client-id>-certificate.pem.crt.
func certificateClientID(certFile string) string {
	id, ok := strings.CutSuffix(filepath.Base(certFile), "-certificate.pem.crt")
	if !ok || id == "" || strings.ContainsAny(id, " \"\\/#+") {
		return ""
	}
	return id
}

// needClientID explains, for a High Mobility broker and no client_id, what
// to set instead of letting the broker refuse every connection.
func needClientID(o Options) error {
	if o.ClientID != "" || !highMobilityHost(o.Broker) {
		return nil
	}
	msg := "telemetry: High Mobility's broker takes the client id of your certificate: set client_id in [telemetry]"
	if id := certificateClientID(o.CertFile); id != "" {
		msg = fmt.Sprintf("telemetry: High Mobility's broker takes the client id of your certificate: set client_id = %q in [telemetry] (the id in the name of %s)", id, filepath.Base(o.CertFile))
	}
	return fmt.Errorf("%s; README, \"Telemetry client id\", says where to find it", msg)
}

// Package bridgetest runs Debian's mosquitto as the bridge README's "More
// than one ops box" describes: one connection to the provider's broker,
// authenticated with the certificate, and a loopback listener the ops boxes
// subscribe to. It also publishes on the provider as the provider would.
// Without mosquitto the tests skip, except under CI=true, where they fail.
package bridgetest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// MosquittoPath is Debian's broker.
const MosquittoPath = "/usr/sbin/mosquitto"

// Provider is the broker the bridge subscribes to, and the files that
// authenticate to it (as `fleetdeck sandbox --dir DIR` writes them).
type Provider struct {
	URL      string // ssl://host:port
	CA       string
	Cert     string
	Key      string
	AppID    string
	ClientID string // the id the bridge connects with (High Mobility: the certificate's)
}

// Config is README's sample bridge for p, listening on port.
func Config(p Provider, port int) string {
	conf := fmt.Sprintf(`# The ops boxes subscribe here (add cafile/certfile/keyfile and
# require_certificate for a listener beyond loopback).
listener %d 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning

# The one connection that holds the provider's session.
connection provider
address %s
bridge_protocol_version mqttv311
# try_private sets a bit only mosquitto understands; other brokers refuse it.
try_private false
remote_clientid %s
cleansession false
bridge_cafile %s
bridge_certfile %s
bridge_keyfile %s
# Both topic forms (design.md §4), at QoS 1.
topic /live/level13/%s/# in 1
topic live/level13/%s/# in 1
`, port, strings.TrimPrefix(p.URL, "ssl://"), p.ClientID, p.CA, p.Cert, p.Key, p.AppID, p.AppID)
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to user mosquitto, which cannot
		// read the certificates in a 0700 temp dir.
		conf += "user root\n"
	}
	return conf
}

// Start runs the bridge for p and returns its feed's URL (tcp://…).
func Start(t testing.TB, p Provider) string {
	t.Helper()
	if _, err := os.Stat(MosquittoPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mosquitto is required in CI: %v", err)
		}
		t.Skipf("mosquitto not installed: %v", err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "bridge.conf")
	if err := os.WriteFile(conf, []byte(Config(p, port)), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	cmd := exec.Command(MosquittoPath, "-c", conf)
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto said:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return "tcp://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bridge did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Publisher connects to the provider with its client certificate, as the
// provider's own publisher.
func Publisher(t testing.TB, p Provider) paho.Client {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(p.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	o := paho.NewClientOptions().AddBroker(p.URL).SetClientID(fmt.Sprintf("provider-publisher-%d", time.Now().UnixNano())).
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to the provider: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// PublishSpeed publishes one V1 message (message id id, speed value) for
// vehicle v at QoS 1 and waits for the provider's acknowledgement.
func PublishSpeed(t testing.TB, c paho.Client, appID, v, id string, value int) {
	t.Helper()
	payload := fmt.Sprintf(`{"message_id":%q,"version":1,"vin":%q,"capability":"diagnostics","property":"speed","data":{"diagnostics":{"speed":{"data":{"value":%d,"unit":"km/h"},"timestamp":%q}}}}`,
		id, v, value, time.Now().UTC().Format(time.RFC3339Nano))
	tok := c.Publish("/live/level13/"+appID+"/"+v+"/diagnostics/get/speed", 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

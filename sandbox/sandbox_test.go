package sandbox_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/internal/leaktest"
	"github.com/fleetdeck/fleetdeck/sandbox"
)

// fileConfig is design.md §3's format, read independently of config/.
type fileConfig struct {
	Sandbox bool `toml:"sandbox"` // the marker that makes the console say SANDBOX
	Fleet   struct {
		BaseURL        string `toml:"base_url"`
		ServiceAccount string `toml:"service_account"`
		PollInterval   string `toml:"poll_interval"`
	} `toml:"fleet"`
	Telemetry struct {
		Broker        string `toml:"broker"`
		AppID         string `toml:"app_id"`
		CAFile        string `toml:"ca_file"`
		CertFile      string `toml:"cert_file"`
		KeyFile       string `toml:"key_file"`
		QoS           int    `toml:"qos"`
		Pseudonymized string `toml:"pseudonymized"`
	} `toml:"telemetry"`
	Commands struct {
		BaseURL        string `toml:"base_url"`
		TokenFile      string `toml:"token_file"`
		SignSecretFile string `toml:"sign_secret_file"`
	} `toml:"commands"`
	Platform struct {
		BaseURL    string `toml:"base_url"`
		LoginURL   string `toml:"login_url"`
		APIKeyFile string `toml:"api_key_file"`
	} `toml:"platform"`
	Audit struct {
		Path string `toml:"path"`
	} `toml:"audit"`
}

type harness struct {
	t   *testing.T
	sb  *sandbox.Sandbox
	cfg fileConfig
	dir string
	hc  *http.Client
}

func start(t *testing.T, o sandbox.Options) *harness {
	t.Helper()
	began := time.Now()
	sb, err := sandbox.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start-to-ready: %s", time.Since(began))
	h := &harness{t: t, sb: sb, dir: filepath.Dir(sb.ConfigPath()), hc: &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}}
	t.Cleanup(func() {
		h.hc.CloseIdleConnections()
		_ = sb.Close()
	})
	md, err := toml.DecodeFile(sb.ConfigPath(), &h.cfg)
	if err != nil {
		t.Fatalf("config.toml: %v", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Errorf("config.toml has keys outside design.md §3's format: %v", und)
	}
	return h
}

func (h *harness) secret(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func (h *harness) do(method, url string, header map[string]string, body []byte) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// fleetToken signs an assertion with the service account the sandbox wrote,
// as document 000 describes, and exchanges it.
func (h *harness) fleetToken() string {
	h.t.Helper()
	var sa struct {
		InsertedAt string `json:"inserted_at"`
		PrivateKey string `json:"private_key"`
		ID         string `json:"id"`
	}
	if err := json.Unmarshal([]byte(h.secret(h.cfg.Fleet.ServiceAccount)), &sa); err != nil {
		h.t.Fatal(err)
	}
	if _, err := time.Parse("2006-01-02T15:04:05", sa.InsertedAt); err != nil {
		h.t.Errorf("inserted_at %q: %v", sa.InsertedAt, err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil || block.Type != "PRIVATE KEY" {
		h.t.Fatal("private_key is not a PKCS#8 PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		h.t.Fatal(err)
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": sa.ID, "aud": h.cfg.Fleet.BaseURL, "iat": time.Now().Unix(), "jti": uuid.NewString(), "ver": 1,
	}).SignedString(k.(*ecdsa.PrivateKey))
	if err != nil {
		h.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]string{"assertion": assertion})
	status, _, b := h.do(http.MethodPost, h.cfg.Fleet.BaseURL+"/auth_tokens", map[string]string{"Content-Type": "application/json"}, body)
	if status != http.StatusCreated {
		h.t.Fatalf("auth_tokens: HTTP %d %s", status, b)
	}
	var out struct {
		AuthToken string `json:"auth_token"`
	}
	_ = json.Unmarshal(b, &out)
	return out.AuthToken
}

func TestStartWritesConfigAndEveryEndpointAnswers(t *testing.T) {
	h := start(t, sandbox.Options{TransitionDelay: 50 * time.Millisecond})
	sb, cfg := h.sb, h.cfg

	// config.toml in design.md §3's format, pointing at this sandbox.
	if cfg.Fleet.BaseURL != sb.HTTPURL()+"/hm/v1" || cfg.Commands.BaseURL != sb.HTTPURL()+"/mobway" ||
		cfg.Platform.BaseURL != sb.HTTPURL()+"/mrv/v1" || cfg.Platform.LoginURL != sb.HTTPURL()+"/platform/api/v1" {
		t.Errorf("base URLs: %+v", cfg)
	}
	if !strings.HasPrefix(sb.HTTPURL(), "http://127.0.0.1:") || cfg.Telemetry.Broker != sb.MQTTURL() || !strings.HasPrefix(sb.MQTTURL(), "ssl://127.0.0.1:") {
		t.Errorf("urls %s %s %s", sb.HTTPURL(), sb.MQTTURL(), cfg.Telemetry.Broker)
	}
	if !cfg.Sandbox {
		t.Error("config.toml lacks sandbox = true: the console would call it default, not SANDBOX")
	}
	if cfg.Telemetry.QoS != 1 || cfg.Telemetry.Pseudonymized != "false" || len(cfg.Telemetry.AppID) != 24 || cfg.Fleet.PollInterval != "5s" {
		t.Errorf("telemetry/fleet settings: %+v %+v", cfg.Telemetry, cfg.Fleet)
	}
	files := []string{"config.toml", "README.txt", cfg.Fleet.ServiceAccount, cfg.Telemetry.CAFile, cfg.Telemetry.CertFile,
		cfg.Telemetry.KeyFile, cfg.Commands.TokenFile, cfg.Commands.SignSecretFile, cfg.Platform.APIKeyFile, sandbox.FleetOAuthKeyFile}
	for _, f := range files {
		if filepath.IsAbs(f) {
			t.Errorf("%s: config paths must be relative to the config file", f)
		}
		st, err := os.Stat(filepath.Join(h.dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, st.Mode().Perm())
		}
	}

	// No secret is written inline into config.toml or README.txt.
	docs := h.secret("config.toml") + h.secret("README.txt")
	for _, f := range []string{cfg.Commands.TokenFile, cfg.Commands.SignSecretFile, cfg.Platform.APIKeyFile, "platform.password", "fleet-client.secret"} {
		if s := h.secret(f); len(s) < 16 || strings.Contains(docs, s) {
			t.Errorf("%s: too short or written inline", f)
		}
	}
	if strings.Contains(docs, "PRIVATE KEY") {
		t.Error("private key inline")
	}

	// Fleet: service-account JWT → token → the default fleet.
	tok := h.fleetToken()
	status, _, b := h.do(http.MethodGet, cfg.Fleet.BaseURL+"/fleets/vehicles", map[string]string{"Authorization": "Bearer " + tok}, nil)
	var vehicles []struct{ VIN, Status string }
	if status != http.StatusOK || json.Unmarshal(b, &vehicles) != nil || len(vehicles) < 12 {
		t.Fatalf("fleet list: HTTP %d, %d vehicles", status, len(vehicles))
	}
	approved := ""
	for _, v := range vehicles {
		if v.Status == "approved" {
			approved = v.VIN
			break
		}
	}

	// Commands: a signed lock_door on an approved vehicle runs to Success.
	body := []byte(`{"command":"lock_door","vin":"` + approved + `"}`)
	mac := hmac.New(sha256.New, []byte(h.secret(cfg.Commands.SignSecretFile)))
	mac.Write(body)
	auth := map[string]string{"Authorization": "Bearer " + h.secret(cfg.Commands.TokenFile)}
	status, _, b = h.do(http.MethodPost, cfg.Commands.BaseURL+"/vehicle-command",
		map[string]string{"Authorization": auth["Authorization"], "Content-Type": "application/json", "X-Signature": hex.EncodeToString(mac.Sum(nil))}, body)
	var cmd struct{ ID, Status string }
	if status != http.StatusOK || json.Unmarshal(b, &cmd) != nil || cmd.ID == "" {
		t.Fatalf("vehicle-command: HTTP %d %s", status, b)
	}
	deadline := time.Now().Add(5 * time.Second)
	for cmd.Status != "Success" {
		if time.Now().After(deadline) || cmd.Status == "Error" {
			t.Fatalf("command ended %q", cmd.Status)
		}
		time.Sleep(100 * time.Millisecond)
		_, _, b = h.do(http.MethodGet, cfg.Commands.BaseURL+"/vehicle-command/"+cmd.ID, auth, nil)
		_ = json.Unmarshal(b, &cmd)
	}

	// Platform: the pre-created API key works; the demo user can log in.
	if status, _, b := h.do(http.MethodGet, cfg.Platform.BaseURL+"/fields", map[string]string{"ApiKey": h.secret(cfg.Platform.APIKeyFile)}, nil); status != http.StatusOK {
		t.Errorf("fields: HTTP %d %s", status, b)
	}
	login, _ := json.Marshal(map[string]string{"email": sandbox.DemoEmail, "password": h.secret("platform.password")})
	if status, _, b := h.do(http.MethodPost, cfg.Platform.LoginURL+"/login", map[string]string{"Content-Type": "application/json"}, login); status != http.StatusOK || !strings.Contains(string(b), "idToken") {
		t.Errorf("login: HTTP %d", status)
	}

	// Telemetry: a TLS client with the written certificates receives the
	// feed, on HM's topic form (no leading slash).
	if tp, _ := h.firstMessage("live/level13/" + cfg.Telemetry.AppID + "/#"); !strings.HasPrefix(tp, "live/level13/"+cfg.Telemetry.AppID+"/") {
		t.Errorf("topic %s", tp)
	}
}

// firstMessage subscribes to filter and returns the first message.
func (h *harness) firstMessage(filter string) (string, []byte) {
	h.t.Helper()
	type msg struct {
		topic   string
		payload []byte
	}
	got := make(chan msg, 1)
	c := h.mqttClient()
	defer c.Disconnect(100)
	tk := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- msg{m.Topic(), m.Payload()}:
		default:
		}
	})
	if !tk.WaitTimeout(3*time.Second) || tk.Error() != nil {
		h.t.Fatalf("subscribe: %v", tk.Error())
	}
	select {
	case m := <-got:
		return m.topic, m.payload
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no telemetry on %s within 5s", filter)
	}
	return "", nil
}

// --seed-topics keeps document 001's form; --mqtt-v2 publishes V2 on the
// application's one topic, the application id a UUID.
func TestTelemetryForms(t *testing.T) {
	h := start(t, sandbox.Options{SeedTopics: true})
	if tp, _ := h.firstMessage("/live/level13/" + h.cfg.Telemetry.AppID + "/#"); !strings.HasPrefix(tp, "/live/level13/") {
		t.Errorf("seed topics: %s", tp)
	}

	h = start(t, sandbox.Options{MQTTV2: true})
	app := h.cfg.Telemetry.AppID
	if _, err := uuid.Parse(app); err != nil {
		t.Errorf("V2 app_id %q is not a UUID", app)
	}
	tp, payload := h.firstMessage("live/level13/" + app + "/#") // what the console's default subscribes to
	var m struct {
		Version       int                                   `json:"version"`
		ApplicationID string                                `json:"application_id"`
		VIN           string                                `json:"vin"`
		Data          map[string]map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(payload, &m); err != nil || tp != "live/level13/"+app || m.Version != 2 || m.ApplicationID != app || m.VIN == "" || len(m.Data) == 0 {
		t.Errorf("V2 message on %s: %s (%v)", tp, payload, err)
	}
	for cap, props := range m.Data {
		for prop, v := range props {
			if len(v) == 0 || v[0] != '[' {
				t.Errorf("V2 %s.%s is not an array: %s", cap, prop, v)
			}
		}
	}
	if readme := h.secret("README.txt"); !strings.Contains(readme, "-t 'live/level13/"+app+"'") {
		t.Errorf("README.txt does not show the V2 topic")
	}
}

func (h *harness) mqttClient() mqtt.Client {
	h.t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(h.dir, h.cfg.Telemetry.CertFile), filepath.Join(h.dir, h.cfg.Telemetry.KeyFile))
	if err != nil {
		h.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(h.secret(h.cfg.Telemetry.CAFile))) {
		h.t.Fatal("ca_file has no certificate")
	}
	opts := mqtt.NewClientOptions().AddBroker(h.cfg.Telemetry.Broker).SetClientID("sandbox-test-" + uuid.NewString()[:8]).
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost", MinVersion: tls.VersionTLS12}).
		SetAutoReconnect(false).SetConnectTimeout(3 * time.Second)
	c := mqtt.NewClient(opts)
	if tk := c.Connect(); !tk.WaitTimeout(5*time.Second) || tk.Error() != nil {
		h.t.Fatalf("mqtt connect: %v", tk.Error())
	}
	return c
}

func TestFaults(t *testing.T) {
	h := start(t, sandbox.Options{})
	f := h.sb.Faults()
	key := map[string]string{"ApiKey": h.secret(h.cfg.Platform.APIKeyFile)}
	fields := h.cfg.Platform.BaseURL + "/fields"

	f.SetErrorRate(1)
	status, hdr, b := h.do(http.MethodGet, fields, key, nil)
	if status != http.StatusInternalServerError || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "<html>") {
		t.Errorf("error rate 1: HTTP %d %s", status, hdr.Get("Content-Type"))
	}
	f.SetErrorRate(0)

	f.SetLatency(150 * time.Millisecond)
	began := time.Now()
	if status, _, _ := h.do(http.MethodGet, fields, key, nil); status != http.StatusOK {
		t.Errorf("with latency: HTTP %d", status)
	}
	if took := time.Since(began); took < 150*time.Millisecond {
		t.Errorf("latency 150ms, request took %s", took)
	}
	f.SetLatency(0)

	f.Platform503Burst(2)
	for i := range 2 {
		if status, _, _ := h.do(http.MethodGet, fields, key, nil); status != http.StatusServiceUnavailable {
			t.Errorf("burst request %d: HTTP %d", i, status)
		}
	}
	if status, _, _ := h.do(http.MethodGet, fields, key, nil); status != http.StatusOK {
		t.Errorf("after the burst: HTTP %d", status)
	}

	f.SetTokenTTL(time.Second)
	tok := h.fleetToken()
	time.Sleep(1100 * time.Millisecond)
	if status, _, _ := h.do(http.MethodGet, h.cfg.Fleet.BaseURL+"/fleets/vehicles", map[string]string{"Authorization": "Bearer " + tok}, nil); status != http.StatusUnauthorized {
		t.Errorf("token past a 1s TTL: HTTP %d", status)
	}

	c := h.mqttClient()
	if err := f.RestartBroker(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c.IsConnectionOpen() {
		t.Error("a broker restart did not drop the connection")
	}
	c.Disconnect(0)
	h.mqttClient().Disconnect(100) // serves again
}

func TestCloseRemovesTempDirAndGoroutines(t *testing.T) {
	before := leaktest.Count()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(sb.ConfigPath())
	hc := &http.Client{Transport: &http.Transport{}}
	resp, err := hc.Get(sb.HTTPURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s still there: %v", dir, err)
	}
	leaktest.Wait(t, before)
}

func TestContextEndsSandbox(t *testing.T) {
	before := leaktest.Count()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	sb, err := sandbox.Start(ctx, sandbox.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		resp, err := http.Get(sb.HTTPURL() + "/")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("HTTP still served after the context ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.toml")); err != nil {
		t.Errorf("a given Dir must be kept: %v", err)
	}
	leaktest.Wait(t, before)
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, o := range []sandbox.Options{{HTTPAddr: "0.0.0.0:0"}, {MQTTAddr: ":0"}} {
		if sb, err := sandbox.Start(context.Background(), o); err == nil {
			sb.Close()
			t.Errorf("%+v: started", o)
		}
	}
}

func TestPseudonymizedAndLargeFleet(t *testing.T) {
	h := start(t, sandbox.Options{Pseudonymized: true, Vehicles: 200, Rate: 50})
	if h.cfg.Telemetry.Pseudonymized != "true" {
		t.Errorf("pseudonymized = %q", h.cfg.Telemetry.Pseudonymized)
	}
	tok := h.fleetToken()
	_, _, b := h.do(http.MethodGet, h.cfg.Fleet.BaseURL+"/fleets/vehicles", map[string]string{"Authorization": "Bearer " + tok}, nil)
	var vehicles []struct{ VIN string }
	if err := json.Unmarshal(b, &vehicles); err != nil || len(vehicles) != 200 {
		t.Fatalf("%d vehicles: %v", len(vehicles), err)
	}
	got := make(chan []byte, 1)
	c := h.mqttClient()
	defer c.Disconnect(100)
	c.Subscribe("live/level13/"+h.cfg.Telemetry.AppID+"/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	}).WaitTimeout(3 * time.Second)
	select {
	case p := <-got:
		var msg struct{ VIN string }
		if err := json.Unmarshal(p, &msg); err != nil || len(msg.VIN) != 40 {
			t.Errorf("vin field %q is not a pseudonym", msg.VIN)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no telemetry")
	}
}

// BenchmarkStart measures start-to-ready (Start returns once every listener
// accepts connections), for the default fleet and a 10,000-vehicle one.
func BenchmarkStart(b *testing.B) {
	for _, n := range []int{0, 10_000} {
		b.Run(fmt.Sprintf("vehicles=%d", n), func(b *testing.B) {
			for b.Loop() {
				sb, err := sandbox.Start(context.Background(), sandbox.Options{Vehicles: n})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = sb.Close()
				b.StartTimer()
			}
		})
	}
}

func TestFaultSwitchesOverHTTP(t *testing.T) {
	h := start(t, sandbox.Options{})
	key := map[string]string{"ApiKey": h.secret(h.cfg.Platform.APIKeyFile)}
	fields := h.cfg.Platform.BaseURL + "/fields"
	post := func(path string) int {
		status, _, _ := h.do(http.MethodPost, h.sb.HTTPURL()+path, nil, nil)
		return status
	}
	if s := post("/_faults/platform-503?n=1"); s != http.StatusOK {
		t.Fatalf("platform-503: HTTP %d", s)
	}
	if s, _, _ := h.do(http.MethodGet, fields, key, nil); s != http.StatusServiceUnavailable {
		t.Errorf("after the switch: HTTP %d, want 503", s)
	}
	if s, _, _ := h.do(http.MethodGet, fields, key, nil); s != http.StatusOK {
		t.Errorf("after the burst: HTTP %d", s)
	}
	// The switches themselves are never hit by the faults they inject.
	if s := post("/_faults/error-rate?p=1"); s != http.StatusOK {
		t.Fatalf("error-rate: HTTP %d", s)
	}
	if s := post("/_faults/error-rate?p=0"); s != http.StatusOK {
		t.Errorf("error-rate back to 0 under error rate 1: HTTP %d", s)
	}
	for _, bad := range []string{"/_faults/error-rate?p=2", "/_faults/latency?d=soon", "/_faults/platform-503?n=-1"} {
		if s := post(bad); s != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", bad, s)
		}
	}
	if s := post("/_faults/broker-restart"); s != http.StatusOK {
		t.Errorf("broker-restart: HTTP %d", s)
	}
	h.mqttClient().Disconnect(100) // serves again
}

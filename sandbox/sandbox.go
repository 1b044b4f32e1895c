// Package sandbox is fleetdeck's embedded default: with no config, the
// console runs against in-process simulators of the three APIs and an MQTT
// broker fed by a telemetry generator, all on loopback.
//
// Start writes, into Options.Dir, a config.toml in design.md §3's format and
// the credentials it names (each 0600), exactly as the providers' consoles
// would hand them out, so the console reads the sandbox the way it reads
// production. The simulators are written from the API documents, never from
// fleetdeck's clients: the sandbox depends on nothing of ours but the wire
// formats, so the two check each other.
//
// One HTTP server carries the four APIs under fixed prefixes:
//
//	/hm/v1            High Mobility fleet API (fleetsim)
//	/mobway           mobway vehicle commands (commandsim)
//	/mrv/v1           Hummingbird MRV API (platformsim)
//	/platform/api/v1  Hummingbird Data Platform login (platformsim)
package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fleetdeck/fleetdeck/sandbox/broker"
	"github.com/fleetdeck/fleetdeck/sandbox/commandsim"
	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
	"github.com/fleetdeck/fleetdeck/sandbox/platformsim"
	"github.com/fleetdeck/fleetdeck/sandbox/telemetrygen"
)

// Path prefixes of the simulated APIs on the one HTTP server.
const (
	PrefixFleet    = "/hm/v1"
	PrefixCommands = "/mobway"
	PrefixMRV      = "/mrv/v1"
	PrefixLogin    = "/platform/api/v1"
)

// File names Start writes into Dir (the broker adds ca.pem, client.pem,
// client-key.pem and its server files).
const (
	ConfigFile           = "config.toml"
	ReadmeFile           = "README.txt"
	ServiceAccountFile   = "service-account.json"
	FleetClientSecret    = "fleet-client.secret"
	FleetOAuthKeyFile    = "fleet-oauth-key.json"
	CommandsTokenFile    = "commands.token"
	CommandsSecretFile   = "commands.secret"
	PlatformKeyFile      = "platform.key"
	PlatformPasswordFile = "platform.password"
)

// DemoEmail is the platform's one user; the password is in platform.password.
const DemoEmail = "operator@sandbox.fleetdeck.invalid"

// DefaultAddr is where the servers listen unless told otherwise.
const DefaultAddr = "127.0.0.1:0"

// Options configure Start.
type Options struct {
	// Dir receives config.toml and the credentials; "" means a fresh temp
	// directory that Close removes.
	Dir string
	// HTTPAddr and MQTTAddr must be loopback addresses; default 127.0.0.1:0.
	HTTPAddr, MQTTAddr string
	// Vehicles is the fleet size: 0 (or up to the default fleet's size) means
	// the default fleet, larger values add generated vehicles.
	Vehicles int
	// Rate is the total telemetry messages a second; 0 means one per approved
	// vehicle per second.
	Rate          float64
	Pseudonymized bool
	// MQTTV2 publishes High Mobility's MQTT V2 messages (one topic per
	// application, several capabilities per message) instead of V1.
	MQTTV2 bool
	// SeedTopics publishes V1 under "/live/level13/..." as document 001's
	// example does, instead of HM's "live/level13/...".
	SeedTopics bool
	// TokenTTL is the fleet auth token lifetime (default 5 min).
	TokenTTL time.Duration
	// TransitionDelay is the clearance state machine step (default 3 s).
	TransitionDelay time.Duration
	// FixedCode makes every ignition confirmation code this six-digit value
	// (recorded demos only; see commandsim.Options.FixedCode).
	FixedCode string
	// CodeTTL shortens (or lengthens) how long a confirmation code can be
	// redeemed; 0 means two minutes, as mobway.
	CodeTTL time.Duration
	Logger  *slog.Logger
}

// Sandbox is a running set of simulators.
type Sandbox struct {
	log       *slog.Logger
	dir       string
	removeDir bool
	httpURL   string
	mqttURL   string
	appID     string
	// fleetClientID is the OAuth2 client the fleet API knows.
	fleetClientID string
	// pseudonymized is what config.toml declares for the feed; v2 and
	// seedTopics are the forms the generator publishes.
	pseudonymized, v2, seedTopics bool

	fleet    *fleetsim.Server
	commands *commandsim.Server
	platform *platformsim.Server
	broker   *broker.Broker
	gen      *telemetrygen.Generator
	http     *http.Server
	faults   *Faults

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start brings every simulator up and returns once they all accept
// connections. They stop when ctx ends or Close is called; Close also
// removes a temporary Dir.
func Start(ctx context.Context, o Options) (_ *Sandbox, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultAddr
	}
	if o.MQTTAddr == "" {
		o.MQTTAddr = DefaultAddr
	}
	for _, a := range []string{o.HTTPAddr, o.MQTTAddr} {
		if err := checkLoopback(a); err != nil {
			return nil, fmt.Errorf("start sandbox: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	s := &Sandbox{log: log, dir: o.Dir, cancel: cancel, pseudonymized: o.Pseudonymized, v2: o.MQTTV2, seedTopics: o.SeedTopics}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "fleetdeck-sandbox-"); err != nil {
			return nil, fmt.Errorf("start sandbox: create temp dir: %w", err)
		}
		s.removeDir = true
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("start sandbox: create %s: %w", s.dir, err)
	}
	if s.dir, err = filepath.Abs(s.dir); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}

	ln, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("start sandbox: listen on %s: %w", o.HTTPAddr, err)
	}
	s.httpURL = "http://" + ln.Addr().String()

	creds, err := newCredentials(o.MQTTV2)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.appID = creds.appID
	s.fleetClientID = creds.fleetClientID

	s.fleet = fleetsim.New(fleetsim.Options{
		BaseURL:         s.httpURL + PrefixFleet,
		PublicKeys:      map[string]*ecdsa.PublicKey{creds.serviceAccountID: &creds.key.PublicKey},
		ClientID:        creds.fleetClientID,
		ClientSecret:    creds.fleetClientSecret,
		ClientKeys:      map[string]*ecdsa.PublicKey{creds.oauthKeyID: &creds.oauthKey.PublicKey},
		TokenTTL:        o.TokenTTL,
		TransitionDelay: o.TransitionDelay,
		Logger:          log.With("component", "fleetsim"),
	})
	s.fleet.Seed(fleetsim.Fleet(o.Vehicles, time.Now()))

	s.platform = platformsim.New(platformsim.Options{
		Email:    DemoEmail,
		Password: creds.platformPassword,
		Logger:   log.With("component", "platformsim"),
	})

	if s.broker, err = broker.Start(ctx, broker.Options{Addr: o.MQTTAddr, Dir: s.dir, Logger: log}); err != nil {
		ln.Close()
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	s.mqttURL = "ssl://" + s.broker.Addr()

	b := s.broker
	s.gen = telemetrygen.New(telemetrygen.Options{
		AppID:         creds.appID,
		Pseudonymized: o.Pseudonymized,
		SeedTopics:    o.SeedTopics,
		V2:            o.MQTTV2,
		Rate:          o.Rate,
		Fleet:         s.approvedForTelemetry,
		Publish:       func(topic string, payload []byte) error { return b.Publish(topic, payload, 1) },
		Logger:        log.With("component", "telemetrygen"),
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.gen.Run(ctx); err != nil {
			log.Warn("sandbox: telemetry generator stopped", "err", err)
		}
	}()

	s.commands = commandsim.New(commandsim.Options{
		Token:      creds.commandsToken,
		SignSecret: creds.commandsSecret,
		Known:      s.fleet.Known,
		Apply:      s.gen.Apply,
		FixedCode:  o.FixedCode,
		CodeTTL:    o.CodeTTL,
		Logger:     log.With("component", "commandsim"),
	})

	s.faults = &Faults{fleet: s.fleet, platform: s.platform, broker: s.broker, commands: s.commands}
	s.http = &http.Server{
		Handler:           s.faults.admin(s.faults.wrap(s.routes())),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("sandbox: http server stopped", "err", err)
		}
	}()
	go func() {
		// The sandbox also ends with its context, not only with Close.
		defer s.wg.Done()
		<-ctx.Done()
		s.shutdownHTTP()
	}()

	if err := s.writeFiles(creds); err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	log.Info("sandbox ready", "http", s.httpURL, "mqtt", s.mqttURL, "dir", s.dir, "vehicles", len(s.fleet.Approved()))
	return s, nil
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PrefixFleet+"/", http.StripPrefix(PrefixFleet, s.fleet.Handler()))
	mux.Handle(PrefixCommands+"/", http.StripPrefix(PrefixCommands, s.commands.Handler()))
	mux.Handle(PrefixMRV+"/", http.StripPrefix(PrefixMRV, s.platform.MRVHandler()))
	mux.Handle(PrefixLogin+"/", http.StripPrefix(PrefixLogin, s.platform.LoginHandler()))
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "fleetdeck sandbox\n\nfleet     %[1]s%[2]s\ncommands  %[1]s%[3]s\nmrv       %[1]s%[4]s\nlogin     %[1]s%[5]s\nmqtt      %[6]s\n",
			s.httpURL, PrefixFleet, PrefixCommands, PrefixMRV, PrefixLogin, s.mqttURL)
	})
	return mux
}

func (s *Sandbox) approvedForTelemetry() []telemetrygen.Vehicle {
	active := s.fleet.Approved()
	out := make([]telemetrygen.Vehicle, len(active))
	for i, a := range active {
		// A vehicle tagged with a depot drives in that city.
		out[i] = telemetrygen.Vehicle{VIN: a.VIN, Brand: a.Brand, Pseudonym: a.Pseudonym, City: a.Tags["depot"]}
	}
	return out
}

// ConfigPath is Dir/config.toml.
func (s *Sandbox) ConfigPath() string { return filepath.Join(s.dir, ConfigFile) }

// Dir is the directory holding config.toml and the credentials.
func (s *Sandbox) Dir() string { return s.dir }

// HTTPURL is the HTTP server's root, e.g. http://127.0.0.1:41234.
func (s *Sandbox) HTTPURL() string { return s.httpURL }

// MQTTURL is the broker's URL, e.g. ssl://127.0.0.1:41235.
func (s *Sandbox) MQTTURL() string { return s.mqttURL }

// AppID is the telemetry application id in the topics (with MQTTV2 the
// application's UUID, as V2 topics and payloads carry it).
func (s *Sandbox) AppID() string { return s.appID }

// FleetClientID is the OAuth2 client id of the fleet API (its secret is in
// fleet-client.secret, its private key in fleet-oauth-key.json).
func (s *Sandbox) FleetClientID() string { return s.fleetClientID }

// Faults lets a demo or a test make the sandbox misbehave.
func (s *Sandbox) Faults() *Faults { return s.faults }

// BrokerClients is how many MQTT clients are connected to the broker (its
// own publisher not counted): tests use it to check that consoles share one
// connection.
func (s *Sandbox) BrokerClients() int { return s.broker.ClientCount() }

// Close stops every simulator, waits for their goroutines and removes a
// temporary Dir. It is safe to call more than once.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		s.shutdownHTTP()
		if s.commands != nil {
			errs = append(errs, s.commands.Close())
		}
		s.cancel()
		s.wg.Wait()
		if s.broker != nil {
			errs = append(errs, s.broker.Close())
		}
		if s.platform != nil {
			errs = append(errs, s.platform.Close())
		}
		if s.removeDir {
			errs = append(errs, os.RemoveAll(s.dir))
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close sandbox: %w", err)
		}
	})
	return s.closeErr
}

func (s *Sandbox) shutdownHTTP() {
	if s.http == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
	}
}

// checkLoopback refuses addresses that would expose the simulators (and
// their well-known demo credentials) beyond this machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("address %q is not a loopback address (the sandbox only listens on 127.0.0.1, ::1 or localhost)", addr)
}

// credentials are what the providers' consoles would hand out.
type credentials struct {
	serviceAccountID  string
	key               *ecdsa.PrivateKey
	keyPEM            []byte
	insertedAt        time.Time
	fleetClientID     string
	fleetClientSecret string
	oauthKeyID        string // the OAuth2 client's private key (client_assertion)
	oauthKey          *ecdsa.PrivateKey
	oauthKeyPEM       []byte
	commandsToken     string
	commandsSecret    string
	platformPassword  string
	appID             string
}

// newCredentials makes them. The application id is the V1 console's 24
// hex characters, or with v2 a UUID as MQTT V2 carries it.
func newCredentials(v2 bool) (*credentials, error) {
	key, keyPEM, err := newP256("service account")
	if err != nil {
		return nil, err
	}
	oauthKey, oauthPEM, err := newP256("OAuth2")
	if err != nil {
		return nil, err
	}
	appID := strings.ToUpper(randomHex(12))
	if v2 {
		appID = uuid.NewString()
	}
	return &credentials{
		serviceAccountID:  uuid.NewString(),
		key:               key,
		keyPEM:            keyPEM,
		insertedAt:        time.Now().UTC(),
		fleetClientID:     uuid.NewString(),
		fleetClientSecret: randomHex(32),
		oauthKeyID:        uuid.NewString(),
		oauthKey:          oauthKey,
		oauthKeyPEM:       oauthPEM,
		commandsToken:     randomHex(32),
		commandsSecret:    randomHex(32),
		platformPassword:  randomHex(12),
		appID:             appID,
	}, nil
}

// newP256 generates an ES256 key and its PKCS#8 PEM.
func newP256(what string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate %s key: %w", what, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s key: %w", what, err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail on supported platforms
	return hex.EncodeToString(b)
}

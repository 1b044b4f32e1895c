// Package config loads fleetdeck's TOML configuration, resolves the files it
// names, and reads the secrets those files (or environment variables) hold.
//
// Secrets never live in config.toml itself: the file only names 0600 files,
// and each secret can be overridden by an environment variable.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/theme"
)

// Environment variables read by this package.
const (
	EnvConfig             = "FLEETDECK_CONFIG"
	EnvCommandsToken      = "FLEETDECK_COMMANDS_TOKEN"
	EnvCommandsSignSecret = "FLEETDECK_COMMANDS_SIGN_SECRET"
	EnvPlatformAPIKey     = "FLEETDECK_PLATFORM_API_KEY"
	EnvFleetClientSecret  = "FLEETDECK_FLEET_CLIENT_SECRET"
)

// Defaults applied by Load.
const (
	DefaultPollInterval = 10 * time.Second
	DefaultJWTVersion   = 1
	DefaultQoS          = 1
)

// HMSandboxBroker is High Mobility's simulator broker: its topics start
// with "sandbox" rather than "live".
const HMSandboxBroker = "sandbox.mqtt.high-mobility.com"

// DefaultTopics are the filters subscribed to when `topic` is not set: High
// Mobility's documents and examples publish without a leading slash, the
// seed (document 001) shows one, and MQTT treats the two as different
// topics, so both. "live/level13/{app_id}/#" also matches the MQTT V2 topic
// "live/level13/{app_id}" ("#" includes the parent level), so a V2 broker
// needs nothing more than app_id set to the application's id. Against HM's
// sandbox broker the "sandbox/level13/{app_id}/#" form is added.
func DefaultTopics(broker string) []string {
	t := []string{"live/level13/{app_id}/#", "/live/level13/{app_id}/#"}
	if u, err := url.Parse(broker); err == nil && strings.EqualFold(u.Hostname(), HMSandboxBroker) {
		t = append(t, "sandbox/level13/{app_id}/#")
	}
	return t
}

// MinPollInterval keeps clearance polling well under the fleet API's
// documented limit of 60 calls a minute.
const MinPollInterval = time.Second

// Config is one loaded configuration file (or profile).
type Config struct {
	File       string // absolute path of the loaded file
	Profile    string // "" or the --profile name
	Production bool   // production = true
	Sandbox    bool   // sandbox = true: the sandbox wrote this file and its endpoints are simulators
	Fleet      *Fleet // nil: section absent → provider disabled
	Telemetry  *Telemetry
	Commands   *Commands
	Platform   *Platform
	Audit      Audit
	Keys       map[string][]string // [keys] overrides: action → keys
	Theme      theme.Spec          // [theme]: a named theme, colours per role
}

// Fleet is the [fleet] section: High Mobility's fleet clearance API.
type Fleet struct {
	BaseURL          string        // without trailing slash
	ServiceAccount   string        // absolute path ("" when client credentials are used)
	ClientID         string        // OAuth2 client credentials instead of the service account
	ClientSecretFile string        // absolute path: client_id authenticates with this secret, or
	PrivateKeyFile   string        // absolute path: client_id authenticates with a client_assertion signed by this key
	Audience         string        // default: BaseURL
	JWTVersion       int           // default 1 (the service account's assertion; a client_assertion is always ver 2)
	PollInterval     time.Duration // default 10s
}

// FleetAuth is how the fleet API is authenticated, chosen by the keys set.
type FleetAuth int

const (
	FleetAuthNone            FleetAuth = iota
	FleetAuthServiceAccount            // service_account: ES256 assertion at /auth_tokens (deprecated by HM)
	FleetAuthClientSecret              // client_id + client_secret_file (or $FLEETDECK_FLEET_CLIENT_SECRET)
	FleetAuthClientAssertion           // client_id + private_key_file: ES256 client_assertion at /access_tokens
)

// Auth says which credentials the section names. Validate makes sure it is
// exactly one kind.
func (f *Fleet) Auth() FleetAuth {
	switch {
	case f.ServiceAccount != "":
		return FleetAuthServiceAccount
	case f.ClientID != "" && f.PrivateKeyFile != "":
		return FleetAuthClientAssertion
	case f.ClientID != "":
		return FleetAuthClientSecret
	}
	return FleetAuthNone
}

// ClientSecret returns $FLEETDECK_FLEET_CLIENT_SECRET, else the content of
// ClientSecretFile (which must be 0600).
func (f *Fleet) ClientSecret() (string, error) {
	return secret("fleet.client_secret", EnvFleetClientSecret, "fleet.client_secret_file", f.ClientSecretFile)
}

// Pseudonymized says whether telemetry topics carry VINs or pseudonyms.
type Pseudonymized string

// Pseudonymized values. Auto: a vin field that is not a plausible VIN is a pseudonym.
const (
	PseudoAuto  Pseudonymized = "auto"
	PseudoTrue  Pseudonymized = "true"
	PseudoFalse Pseudonymized = "false"
)

// Telemetry is the [telemetry] section: the MQTT feed.
type Telemetry struct {
	Broker string // tcp://, ssl://, ws://, wss://, mqtt://, mqtts://
	// AppID is the id the topics carry: the V1 app id, or for the MQTT V2
	// broker the application's id (its one topic is live/level13/{app_id}).
	AppID string
	// Topics are the subscription filters as configured (`topic`, one or a
	// list), {app_id} not yet substituted; Load sets DefaultTopics(Broker)
	// when the file has none.
	Topics   []string
	CAFile   string // absolute path
	CertFile string // absolute path
	KeyFile  string // absolute path
	ClientID string // "" lets the stream make one per process, with a clean session (see stream.Options)

	QoS           byte          // default 1
	Pseudonymized Pseudonymized // default auto
}

// TopicFilters returns the MQTT subscription filters with {app_id}
// substituted (DefaultTopics when none are configured).
func (t *Telemetry) TopicFilters() []string {
	topics := t.Topics
	if len(topics) == 0 {
		topics = DefaultTopics(t.Broker)
	}
	out := make([]string, len(topics))
	for i, topic := range topics {
		out[i] = strings.ReplaceAll(topic, "{app_id}", t.AppID)
	}
	return out
}

// TLS reports whether the broker URL asks for TLS.
func (t *Telemetry) TLS() bool {
	return brokerTLS(t.Broker)
}

// Commands is the [commands] section: mobway remote commands.
type Commands struct {
	BaseURL        string
	TokenFile      string   // absolute path
	SignSecretFile string   // absolute path
	Approval       []string // commands a second operator must approve (see CommandPolicy)
	Confirm        []string // commands that need a y/n confirmation
}

// Token returns $FLEETDECK_COMMANDS_TOKEN, else the content of TokenFile (0600).
func (c *Commands) Token() (string, error) {
	return secret("commands.token", EnvCommandsToken, "commands.token_file", c.TokenFile)
}

// SignSecret returns $FLEETDECK_COMMANDS_SIGN_SECRET, else the content of
// SignSecretFile (0600).
func (c *Commands) SignSecret() (string, error) {
	return secret("commands.sign_secret", EnvCommandsSignSecret, "commands.sign_secret_file", c.SignSecretFile)
}

// Platform is the [platform] section: the API-key protected MRV API.
type Platform struct {
	BaseURL    string
	LoginURL   string // "" when `fleetdeck platform login` is not used
	APIKeyFile string // absolute path; where `platform login` saves the key
}

// APIKey returns $FLEETDECK_PLATFORM_API_KEY, else the content of APIKeyFile (0600).
func (p *Platform) APIKey() (string, error) {
	return secret("platform.api_key", EnvPlatformAPIKey, "platform.api_key_file", p.APIKeyFile)
}

// Audit is the [audit] section: where the journal lives and the key that
// signs its entries.
type Audit struct {
	Path string // SQLite file; default $XDG_STATE_HOME/fleetdeck/audit.db; unused with DSN
	// DSN, when set, puts the journal in PostgreSQL (postgres://user@host/db
	// or keyword=value pairs). It never holds a password (CheckAuditDSN).
	DSN          string
	PasswordFile string // absolute path: the DSN's password (0600); "" means $PGPASSWORD
	// KeyFile is the Ed25519 key that signs entries (0600, generated on
	// first use); "" means the default: DefaultAuditKeyPath, or for
	// `serve` beside its host key.
	KeyFile string
}

// Password returns the PostgreSQL password from PasswordFile (0600), or ""
// when none is named (the driver then reads $PGPASSWORD).
func (a Audit) Password() (string, error) {
	if a.PasswordFile == "" {
		return "", nil
	}
	s, err := ReadSecretFile(a.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("audit.password_file: %w", err)
	}
	return s, nil
}

// AuditKeyName is the signing key's file name, in the state directory or
// beside serve's host key.
const AuditKeyName = "audit_ed25519_key"

// DefaultAuditKeyPath is where the journal's signing key lives unless
// audit.key_file says otherwise.
func DefaultAuditKeyPath() string {
	return filepath.Join(StateDir(), "fleetdeck", AuditKeyName)
}

// CheckAuditDSN refuses a PostgreSQL DSN that carries a password (URL user
// info or a password parameter) or the passphrase of the client key
// (sslpassword): the password belongs in a 0600 file or $PGPASSWORD, the
// passphrase in $PGSSLPASSWORD, never in config.toml or on a command line.
// A DSN it accepts holds no secret. The error never repeats the DSN.
func CheckAuditDSN(dsn string) error {
	if strings.TrimSpace(dsn) == "" {
		return errors.New("empty: want postgres://user@host/db")
	}
	refuseKey := func(k string) error {
		switch {
		case strings.EqualFold(k, "password"):
			return errors.New("must not contain a password: put it in audit.password_file (0600) or $PGPASSWORD")
		case strings.EqualFold(k, "sslpassword"):
			return errors.New("must not contain sslpassword (the client key's passphrase): put it in $PGSSLPASSWORD")
		}
		return nil
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Parse quotes its input, which may hold a password.
			return errors.New("not a valid URL: want postgres://user@host/db")
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return errors.New("want a postgres:// or postgresql:// URL")
		}
		if _, ok := u.User.Password(); ok {
			return refuseKey("password")
		}
		for k := range u.Query() {
			if err := refuseKey(k); err != nil {
				return err
			}
		}
		return nil
	}
	// Keyword/value form: host=… user=… dbname=…
	keys, ok := dsnKeywords(dsn)
	if !ok {
		return errors.New("want postgres://user@host/db or keyword=value pairs (host=… dbname=…)")
	}
	for _, k := range keys {
		if err := refuseKey(k); err != nil {
			return err
		}
	}
	return nil
}

// dsnKeywords lists the keywords of a keyword/value DSN, read as libpq (and
// pgx) read it: white space may stand around "=" ("password = x" sets the
// password too), and a value may be quoted with '…' and \ escapes. ok is
// false when dsn is not in that form. Values are never returned: they may
// be secrets.
func dsnKeywords(dsn string) (keys []string, ok bool) {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' }
	i := 0
	skip := func() {
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
	}
	for skip(); i < len(dsn); skip() {
		start := i
		for i < len(dsn) && dsn[i] != '=' && !isSpace(dsn[i]) {
			i++
		}
		key := dsn[start:i]
		skip()
		if key == "" || i >= len(dsn) || dsn[i] != '=' {
			return nil, false
		}
		i++
		skip()
		if i < len(dsn) && dsn[i] == '\'' {
			for i++; i < len(dsn) && dsn[i] != '\''; i++ {
				if dsn[i] == '\\' {
					i++
				}
			}
			if i >= len(dsn) {
				return nil, false // unterminated quote
			}
			i++
		} else {
			for i < len(dsn) && !isSpace(dsn[i]) {
				if dsn[i] == '\\' {
					i++
				}
				i++
			}
		}
		keys = append(keys, key)
	}
	return keys, len(keys) > 0
}

// RedactDSN is a DSN fit for a message or a log: a URL without its query
// and password, or the keyword form's host, port, user and dbname.
func RedactDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "postgres(unparsable DSN)"
		}
		u.RawQuery, u.Fragment = "", ""
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		return u.String()
	}
	var keep []string
	for _, f := range strings.Fields(dsn) {
		k, _, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "host", "port", "dbname", "user":
			keep = append(keep, f)
		}
	}
	return "postgres(" + strings.Join(keep, " ") + ")"
}

// DefaultAuditPath is where the audit journal lives unless audit.path says otherwise.
func DefaultAuditPath() string {
	return filepath.Join(StateDir(), "fleetdeck", "audit.db")
}

// secret reads one secret: the environment wins over the file, so with the
// variable set the file need not exist.
func secret(name, env, fileKey, path string) (string, error) {
	if v := strings.TrimRight(os.Getenv(env), "\r\n\t "); v != "" {
		return v, nil
	}
	if path == "" {
		return "", fmt.Errorf("%s: not configured: set %s in the config file or $%s", name, fileKey, env)
	}
	s, err := ReadSecretFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// Error is a problem with a configuration file. Every error Load and
// Validate return about the file's content is (or joins) an *Error.
type Error struct {
	File string // absolute path of the config file; "" for a Config built in code
	Line int    // 1-based; 0 when unknown
	Key  string // dotted key such as "fleet.poll_interval"; "" for the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.File != "" {
		b.WriteString(" file ")
		b.WriteString(termsafe.String(e.File))
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(termsafe.String(e.Key))
	}
	b.WriteString(": ")
	b.WriteString(termsafe.String(e.Msg))
	return b.String()
}

// Validate checks the whole configuration as Load produces it (defaults
// applied, paths absolute). Load calls it; callers that build a Config in
// code may call it too. All problems are reported, joined.
func (c *Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, &Error{File: c.File, Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	check := func(key string, err error) {
		if err != nil {
			add(key, "%s", err.Error())
		}
	}
	if c.Profile != "" {
		check("", checkProfile(c.Profile))
	}
	if c.Production && c.Sandbox {
		// The frame would say "real vehicles" and the status bar "simulated".
		add("sandbox", "a sandbox's config cannot also say production = true: remove one")
	}
	if f := c.Fleet; f != nil {
		if f.BaseURL == "" {
			add("fleet.base_url", "required: the fleet API's base URL, e.g. https://sandbox.api.high-mobility.com/v1")
		} else {
			_, err := checkRESTURL(f.BaseURL)
			check("fleet.base_url", err)
		}
		switch {
		case f.ServiceAccount != "" && f.ClientID != "":
			add("fleet.client_id", "set either service_account or client_id (with client_secret_file or private_key_file), not both")
		case f.ServiceAccount == "" && f.ClientID == "":
			add("fleet.service_account", "required: the service-account JSON file, or client_id with client_secret_file (or $%s) or with private_key_file", EnvFleetClientSecret)
		case f.ClientID != "" && f.ClientSecretFile != "" && f.PrivateKeyFile != "":
			add("fleet.private_key_file", "set client_secret_file or private_key_file with client_id, not both")
		case f.ClientID != "" && f.PrivateKeyFile == "" && f.ClientSecretFile == "" && os.Getenv(EnvFleetClientSecret) == "":
			add("fleet.client_secret_file", "required with client_id (or set $%s), unless private_key_file names the OAuth2 private key", EnvFleetClientSecret)
		}
		if f.ServiceAccount != "" && f.ClientID == "" && f.ClientSecretFile != "" {
			add("fleet.client_secret_file", "only used with client_id; remove it or replace service_account with client_id")
		}
		if f.ServiceAccount != "" && f.ClientID == "" && f.PrivateKeyFile != "" {
			add("fleet.private_key_file", "only used with client_id (OAuth2 client_assertion); remove it or replace service_account with client_id")
		}
		if f.Audience == "" && f.BaseURL != "" {
			add("fleet.audience", "must not be empty (Load defaults it to base_url)")
		}
		check("fleet.jwt_version", checkJWTVersion(int64(f.JWTVersion)))
		check("fleet.poll_interval", checkPollInterval(f.PollInterval))
		check("fleet.service_account", checkAbs(f.ServiceAccount))
		check("fleet.client_secret_file", checkAbs(f.ClientSecretFile))
		check("fleet.private_key_file", checkAbs(f.PrivateKeyFile))
	}
	if t := c.Telemetry; t != nil {
		if t.Broker == "" {
			add("telemetry.broker", "required: the MQTT broker URL, e.g. ssl://mqtt.example.com:8883")
		} else {
			check("telemetry.broker", checkBrokerURL(t.Broker))
		}
		if t.AppID == "" {
			add("telemetry.app_id", "required: the application id from the console (it is part of the topic)")
		} else {
			check("telemetry.app_id", checkAppID(t.AppID))
		}
		check("telemetry.topic", checkTopicFilters(t.TopicFilters()))
		if t.QoS > 2 {
			add("telemetry.qos", "must be 0, 1 or 2")
		}
		switch t.Pseudonymized {
		case PseudoAuto, PseudoTrue, PseudoFalse:
		default:
			add("telemetry.pseudonymized", `must be true, false or "auto"`)
		}
		if (t.CertFile == "") != (t.KeyFile == "") {
			add("telemetry.key_file", "cert_file and key_file go together: set both or neither")
		}
		if t.Broker != "" && !brokerTLS(t.Broker) && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "") {
			add("telemetry.broker", "ca_file, cert_file and key_file need a TLS broker URL (ssl://, mqtts:// or wss://)")
		}
		check("telemetry.ca_file", checkAbs(t.CAFile))
		check("telemetry.cert_file", checkAbs(t.CertFile))
		check("telemetry.key_file", checkAbs(t.KeyFile))
	}
	if cm := c.Commands; cm != nil {
		if cm.BaseURL == "" {
			add("commands.base_url", "required: the commands API's base URL, e.g. https://api.mobway.cloud")
		} else {
			_, err := checkRESTURL(cm.BaseURL)
			check("commands.base_url", err)
		}
		check("commands.token_file", checkAbs(cm.TokenFile))
		check("commands.sign_secret_file", checkAbs(cm.SignSecretFile))
		check("commands.approval", checkCommandList(cm.Approval))
		check("commands.confirm", checkCommandList(cm.Confirm))
	}
	if p := c.Platform; p != nil {
		if p.BaseURL == "" {
			add("platform.base_url", "required: the MRV API's base URL, e.g. https://mrv-gateway.prod.hummingbirdtech.com/v1")
		} else {
			_, err := checkRESTURL(p.BaseURL)
			check("platform.base_url", err)
		}
		if p.LoginURL != "" {
			_, err := checkRESTURL(p.LoginURL)
			check("platform.login_url", err)
		}
		check("platform.api_key_file", checkAbs(p.APIKeyFile))
	}
	if c.Audit.Path == "" {
		add("audit.path", "must not be empty (Load defaults it to %s)", DefaultAuditPath())
	} else {
		check("audit.path", checkAbs(c.Audit.Path))
	}
	if c.Audit.DSN != "" {
		check("audit.dsn", CheckAuditDSN(c.Audit.DSN))
	} else if c.Audit.PasswordFile != "" {
		add("audit.password_file", "only used with audit.dsn (the SQLite journal has no password)")
	}
	check("audit.password_file", checkAbs(c.Audit.PasswordFile))
	check("audit.key_file", checkAbs(c.Audit.KeyFile))
	for _, action := range slices.Sorted(maps.Keys(c.Keys)) {
		check("keys."+action, checkKeyList(c.Keys[action]))
	}
	for _, err := range checkTheme(c.Theme) {
		err.(*Error).File = c.File
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func checkAbs(p string) error {
	if p != "" && !filepath.IsAbs(p) {
		return errors.New("must be an absolute path once loaded")
	}
	return nil
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	fleetOK = `[fleet]
base_url = "https://fleet.example/v1"
service_account = "sa.json"
`
	telemetryOK = `[telemetry]
broker = "ssl://mqtt.example:8883"
app_id = "APP1"
`
	commandsOK = `[commands]
base_url = "https://cmd.example"
`
	platformOK = `[platform]
base_url = "https://mrv.example/v1"
`
)

func loadString(t *testing.T, content string) (*Config, string, error) {
	t.Helper()
	path := writeFile(t, filepath.Join(t.TempDir(), "config.toml"), content, 0o644)
	cfg, err := Load(path, "")
	return cfg, path, err
}

func TestLoadFullResolvesPaths(t *testing.T) {
	isolate(t)
	content := `production = true

[fleet]
base_url = "https://fleet.example/v1/"
client_id = "cid"
client_secret_file = "secrets/fleet.secret"
audience = "https://aud.example"
jwt_version = 2
poll_interval = "1m30s"

[telemetry]
broker = "mqtts://mqtt.example:8883"
app_id = "APP1"
topic = "sandbox/level13/{app_id}/+/diagnostics/#"
ca_file = "certs/ca.pem"
cert_file = "/etc/fleetdeck/client.pem"
key_file = "../keys/client-key.pem"
client_id = "my-client"
qos = 0
pseudonymized = true

[commands]
base_url = "https://cmd.example"
token_file = "commands.token"
sign_secret_file = "commands.secret"

[platform]
base_url = "https://mrv.example/v1"
login_url = "https://login.example/api/v1"
api_key_file = "platform.key"

[audit]
path = "state/audit.db"

[keys]
revoke = ["D", "ctrl+d"]
quit = []
`
	cfg, path, err := loadString(t, content)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := &Config{
		File:       path,
		Production: true,
		Fleet: &Fleet{
			BaseURL:          "https://fleet.example/v1",
			ClientID:         "cid",
			ClientSecretFile: filepath.Join(dir, "secrets", "fleet.secret"),
			Audience:         "https://aud.example",
			JWTVersion:       2,
			PollInterval:     90 * time.Second,
		},
		Telemetry: &Telemetry{
			Broker:        "mqtts://mqtt.example:8883",
			AppID:         "APP1",
			Topics:        []string{"sandbox/level13/{app_id}/+/diagnostics/#"},
			CAFile:        filepath.Join(dir, "certs", "ca.pem"),
			CertFile:      "/etc/fleetdeck/client.pem",
			KeyFile:       filepath.Join(filepath.Dir(dir), "keys", "client-key.pem"),
			ClientID:      "my-client",
			QoS:           0,
			Pseudonymized: PseudoTrue,
		},
		Commands: &Commands{
			BaseURL:        "https://cmd.example",
			TokenFile:      filepath.Join(dir, "commands.token"),
			SignSecretFile: filepath.Join(dir, "commands.secret"),
		},
		Platform: &Platform{
			BaseURL:    "https://mrv.example/v1",
			LoginURL:   "https://login.example/api/v1",
			APIKeyFile: filepath.Join(dir, "platform.key"),
		},
		Audit: Audit{Path: filepath.Join(dir, "state", "audit.db")},
		Keys:  map[string][]string{"revoke": {"D", "ctrl+d"}, "quit": {}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got\n%+v\nwant\n%+v", cfg, want)
		for _, pair := range [][2]any{{cfg.Fleet, want.Fleet}, {cfg.Telemetry, want.Telemetry}, {cfg.Commands, want.Commands}, {cfg.Platform, want.Platform}} {
			if !reflect.DeepEqual(pair[0], pair[1]) {
				t.Errorf("section got %+v want %+v", pair[0], pair[1])
			}
		}
	}
	if got := cfg.Telemetry.TopicFilters(); !reflect.DeepEqual(got, []string{"sandbox/level13/APP1/+/diagnostics/#"}) {
		t.Errorf("TopicFilters = %q", got)
	}
	if !cfg.Telemetry.TLS() {
		t.Error("mqtts:// should be TLS")
	}
}

func TestLoadDefaults(t *testing.T) {
	home := isolate(t)
	cfg, path, err := loadString(t, fleetOK+telemetryOK)
	if err != nil {
		t.Fatal(err)
	}
	f, tm := cfg.Fleet, cfg.Telemetry
	if f.PollInterval != 10*time.Second || f.JWTVersion != 1 || f.Audience != "https://fleet.example/v1" {
		t.Errorf("fleet defaults: %+v", f)
	}
	if f.ServiceAccount != filepath.Join(filepath.Dir(path), "sa.json") {
		t.Errorf("service_account = %q", f.ServiceAccount)
	}
	if tm.QoS != 1 || tm.Pseudonymized != PseudoAuto || !reflect.DeepEqual(tm.Topics, []string{"live/level13/{app_id}/#", "/live/level13/{app_id}/#"}) || tm.ClientID != "" {
		t.Errorf("telemetry defaults: %+v", tm)
	}
	// Both forms of High Mobility's topics: without the leading slash (its
	// documents) and with it (the seed).
	if got := tm.TopicFilters(); !reflect.DeepEqual(got, []string{"live/level13/APP1/#", "/live/level13/APP1/#"}) {
		t.Errorf("TopicFilters = %q", got)
	}
	if cfg.Commands != nil || cfg.Platform != nil {
		t.Error("absent sections must be nil")
	}
	if want := filepath.Join(home, "xdg-state", "fleetdeck", "audit.db"); cfg.Audit.Path != want {
		t.Errorf("audit path = %q, want %q", cfg.Audit.Path, want)
	}
	if cfg.Production || cfg.Keys != nil || cfg.Profile != "" {
		t.Errorf("unexpected: %+v", cfg)
	}
}

func TestEmptyFileDisablesEverything(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, "# nothing configured\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fleet != nil || cfg.Telemetry != nil || cfg.Commands != nil || cfg.Platform != nil {
		t.Errorf("sections should be nil: %+v", cfg)
	}
}

func TestHomeRelativePath(t *testing.T) {
	home := isolate(t)
	cfg, _, err := loadString(t, "[fleet]\nbase_url = \"https://f.example\"\nservice_account = \"~/hm/sa.json\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "hm", "sa.json"); cfg.Fleet.ServiceAccount != want {
		t.Errorf("got %q want %q", cfg.Fleet.ServiceAccount, want)
	}
}

func TestPseudonymizedValues(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  Pseudonymized
	}{
		{"true", PseudoTrue}, {"false", PseudoFalse}, {`"auto"`, PseudoAuto}, {`"true"`, PseudoTrue}, {`"false"`, PseudoFalse},
	} {
		t.Run(tc.value, func(t *testing.T) {
			isolate(t)
			cfg, _, err := loadString(t, telemetryOK+"pseudonymized = "+tc.value+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Telemetry.Pseudonymized != tc.want {
				t.Errorf("got %q want %q", cfg.Telemetry.Pseudonymized, tc.want)
			}
		})
	}
}

func TestDurations(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{`"10s"`, 10 * time.Second, ""},
		{`"1s"`, time.Second, ""},
		{`"2m"`, 2 * time.Minute, ""},
		{`"1h30m"`, 90 * time.Minute, ""},
		{`"999ms"`, 0, "must be at least 1s (got 999ms)"},
		{`"0s"`, 0, "must be at least 1s"},
		{`"-5s"`, 0, "must be at least 1s"},
		{`"10"`, 0, `"10" is not a duration`},
		{`"ten seconds"`, 0, "is not a duration"},
		{`10`, 0, `must be a duration string such as "10s", not an integer`},
		{`1.5`, 0, "not a float"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			isolate(t)
			cfg, path, err := loadString(t, fleetOK+"poll_interval = "+tc.value+"\n")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Fleet.PollInterval != tc.want {
					t.Errorf("got %s want %s", cfg.Fleet.PollInterval, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []string{path + ":4: fleet.poll_interval: ", tc.wantErr} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

// Every error names the file and the key; where the decoder knows the line, it too.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		want    []string // substrings; "FILE" is replaced by the file's path
		not     []string // must not appear
	}{
		{"fleet base_url missing", "[fleet]\nservice_account = \"sa.json\"\n",
			[]string{"FILE: fleet.base_url: required"}, nil},
		{"fleet base_url empty", "[fleet]\nbase_url = \"\"\nservice_account = \"sa.json\"\n",
			[]string{"FILE:2: fleet.base_url: must not be empty"}, nil},
		{"fleet base_url wrong type", "[fleet]\nbase_url = 5\n",
			[]string{"FILE:2: fleet.base_url: must be a URL string, not an integer"}, nil},
		{"fleet base_url scheme", "[fleet]\nbase_url = \"ftp://x.example\"\n",
			[]string{"FILE:2: fleet.base_url: scheme \"ftp\" is not supported"}, nil},
		{"fleet base_url relative", "[fleet]\nbase_url = \"fleet.example/v1\"\n",
			[]string{"FILE:2: fleet.base_url: must be an absolute URL"}, nil},
		{"fleet base_url plain http", "[fleet]\nbase_url = \"http://fleet.example/v1\"\n",
			[]string{"FILE:2: fleet.base_url: plain http:// is only for loopback addresses (127.0.0.1, ::1, localhost): use https://"}, nil},
		{"fleet base_url plain http private address", "[fleet]\nbase_url = \"http://10.0.0.7:8080/v1\"\n",
			[]string{"FILE:2: fleet.base_url: plain http:// is only for loopback", "use https://"}, nil},
		{"commands base_url plain http", "[commands]\nbase_url = \"http://api.mobway.cloud\"\n",
			[]string{"FILE:2: commands.base_url: plain http:// is only for loopback", "use https://"}, nil},
		{"platform base_url plain http", "[platform]\nbase_url = \"HTTP://mrv.example/v1\"\n",
			[]string{"FILE:2: platform.base_url: plain http:// is only for loopback", "use https://"}, nil},
		{"platform login_url plain http", platformOK + "login_url = \"http://127.0.0.1.nip.io/api/v1\"\n",
			[]string{"FILE:3: platform.login_url: plain http:// is only for loopback", "use https://"}, nil},
		{"telemetry broker cleartext", "[telemetry]\nbroker = \"tcp://mqtt.example:1883\"\napp_id = \"A\"\n",
			[]string{"FILE:2: telemetry.broker: plain tcp:// is only for loopback addresses (127.0.0.1, ::1, localhost): use ssl://"}, nil},
		{"telemetry broker cleartext websocket", "[telemetry]\nbroker = \"ws://mqtt.example/mqtt\"\napp_id = \"A\"\n",
			[]string{"FILE:2: telemetry.broker: plain ws:// is only for loopback", "use wss://"}, nil},
		{"fleet base_url query", "[fleet]\nbase_url = \"https://x.example/v1?a=b\"\n",
			[]string{"FILE:2: fleet.base_url: must not have a query"}, nil},
		{"fleet base_url credentials not echoed", "[fleet]\nbase_url = \"https://me:hunter2@x.example\"\n",
			[]string{"FILE:2: fleet.base_url: must not contain credentials"}, []string{"hunter2"}},
		{"fleet no credentials", "[fleet]\nbase_url = \"https://x.example\"\n",
			[]string{"FILE: fleet.service_account: required"}, nil},
		{"fleet both credentials", fleetOK + "client_id = \"cid\"\nclient_secret_file = \"s\"\n",
			[]string{"FILE: fleet.client_id: set either service_account or client_id"}, nil},
		{"fleet client_id without secret", "[fleet]\nbase_url = \"https://x.example\"\nclient_id = \"cid\"\n",
			[]string{"FILE: fleet.client_secret_file: required with client_id", EnvFleetClientSecret}, nil},
		{"fleet secret file without client_id", fleetOK + "client_secret_file = \"s\"\n",
			[]string{"FILE: fleet.client_secret_file: only used with client_id"}, []string{"set either"}},
		{"fleet jwt_version", fleetOK + "jwt_version = 3\n",
			[]string{"FILE:4: fleet.jwt_version: must be 1 or 2"}, nil},
		{"telemetry broker missing", "[telemetry]\napp_id = \"A\"\n",
			[]string{"FILE: telemetry.broker: required"}, nil},
		{"telemetry app_id missing", "[telemetry]\nbroker = \"ssl://h.example:8883\"\n",
			[]string{"FILE: telemetry.app_id: required"}, nil},
		{"telemetry broker scheme", "[telemetry]\nbroker = \"https://h.example\"\napp_id = \"A\"\n",
			[]string{"FILE:2: telemetry.broker: scheme \"https\" is not supported"}, nil},
		{"telemetry broker port", "[telemetry]\nbroker = \"ssl://h.example\"\napp_id = \"A\"\n",
			[]string{"FILE:2: telemetry.broker: needs a port, e.g. ssl://h.example:8883"}, nil},
		{"telemetry qos range", telemetryOK + "qos = 3\n",
			[]string{"FILE:4: telemetry.qos: must be 0, 1 or 2"}, nil},
		{"telemetry qos type", telemetryOK + "qos = \"1\"\n",
			[]string{"FILE:4: telemetry.qos: must be an integer (0, 1 or 2), not a string"}, nil},
		{"telemetry pseudonymized", telemetryOK + "pseudonymized = \"yes\"\n",
			[]string{"FILE:4: telemetry.pseudonymized: must be true, false or \"auto\""}, nil},
		{"telemetry topic", telemetryOK + "topic = \"a/#/b\"\n",
			[]string{"FILE:4: telemetry.topic: \"#\" must be a whole level and the last one"}, nil},
		{"telemetry topic list element", telemetryOK + "topic = [\"live/level13/{app_id}/#\", \"a+/b\"]\n",
			[]string{"FILE:4: telemetry.topic: filter 2 (\"a+/b\"): \"+\" must be a whole level"}, nil},
		{"telemetry topic list not strings", telemetryOK + "topic = [\"live/#\", 5]\n",
			[]string{"FILE:4: telemetry.topic: must be a filter or a list of filters (strings), but element 2 is an integer"}, nil},
		{"telemetry topic list empty", telemetryOK + "topic = []\n",
			[]string{"FILE:4: telemetry.topic: must name at least one filter"}, nil},
		{"telemetry topic list twice", telemetryOK + "topic = [\"live/#\", \"live/#\"]\n",
			[]string{"FILE:4: telemetry.topic: filter \"live/#\" is listed twice"}, nil},
		{"fleet private key and secret", "[fleet]\nbase_url = \"https://x.example\"\nclient_id = \"cid\"\nclient_secret_file = \"s\"\nprivate_key_file = \"k.json\"\n",
			[]string{"FILE: fleet.private_key_file: set client_secret_file or private_key_file with client_id, not both"}, nil},
		{"fleet private key without client_id", fleetOK + "private_key_file = \"k.json\"\n",
			[]string{"FILE: fleet.private_key_file: only used with client_id"}, nil},
		{"fleet private key with service account and client_id", fleetOK + "client_id = \"cid\"\nprivate_key_file = \"k.json\"\n",
			[]string{"FILE: fleet.client_id: set either service_account or client_id"}, nil},
		{"fleet private_key inline", "[fleet]\nbase_url = \"https://x.example\"\nprivate_key = \"-----BEGIN\"\n",
			[]string{"FILE: fleet.private_key: secrets do not belong in the config file", "fleet.private_key_file"}, []string{"BEGIN"}},
		{"telemetry cert without key", telemetryOK + "cert_file = \"c.pem\"\n",
			[]string{"FILE: telemetry.key_file: cert_file and key_file go together"}, nil},
		{"telemetry tls files on tcp", "[telemetry]\nbroker = \"tcp://127.0.0.1:1883\"\napp_id = \"A\"\nca_file = \"ca.pem\"\n",
			[]string{"FILE: telemetry.broker: ca_file, cert_file and key_file need a TLS broker URL"}, nil},
		{"commands base_url missing", "[commands]\ntoken_file = \"t\"\n",
			[]string{"FILE: commands.base_url: required"}, nil},
		{"platform base_url missing", "[platform]\napi_key_file = \"k\"\n",
			[]string{"FILE: platform.base_url: required"}, nil},
		{"platform login_url", platformOK + "login_url = \"nope\"\n",
			[]string{"FILE:3: platform.login_url: must be an absolute URL"}, nil},
		{"production type", "production = \"yes\"\n",
			[]string{"FILE:1: production: must be true or false, not a string"}, nil},
		{"section not a table", "fleet = \"x\"\n",
			[]string{"FILE:1: fleet: must be a table"}, nil},
		{"array of tables", "[[commands]]\nbase_url = \"https://c.example\"\n",
			[]string{"FILE:1: commands: must be a table"}, nil},
		{"keys not a table", "keys = 1\n",
			[]string{"FILE: keys: must be a table"}, nil},
		{"keys value not array", "[keys]\nrevoke = \"D\"\n",
			[]string{"FILE:2: keys.revoke: must be an array of key names"}, nil},
		{"keys array of non-strings", "[keys]\nrevoke = [1]\n",
			[]string{"FILE:2: keys.revoke: must be an array of strings, but holds an integer"}, nil},
		{"keys empty name", "[keys]\nrevoke = [\"\"]\n",
			[]string{"FILE:2: keys.revoke: key names must not be empty"}, nil},
		{"unknown key with hint", fleetOK + "pol_interval = \"10s\"\n",
			[]string{"FILE: fleet.pol_interval: unknown key (did you mean fleet.poll_interval?)"}, nil},
		{"unknown key case", fleetOK + "Poll_Interval = \"10s\"\n",
			[]string{"FILE: fleet.Poll_Interval: unknown key (did you mean fleet.poll_interval?)"}, nil},
		{"unknown key without hint", commandsOK + "colour = \"red\"\n",
			[]string{"FILE: commands.colour: unknown key"}, []string{"did you mean"}},
		{"unknown section", "[telemetri]\nbroker = \"x\"\n",
			[]string{"FILE: telemetri: unknown key (did you mean telemetry?)"}, []string{"telemetri.broker"}},
		{"unknown top-level", "prodution = true\n",
			[]string{"FILE: prodution: unknown key (did you mean production?)"}, nil},
		{"several unknown keys all reported", fleetOK + "a = 1\nb = 2\n",
			[]string{"FILE: fleet.a: unknown key", "FILE: fleet.b: unknown key"}, nil},
		{"syntax error", "[fleet\n",
			[]string{"FILE:2: invalid TOML: expected '.' or ']' to end table name"}, nil},
		{"audit dsn with a password", "[audit]\ndsn = \"postgres://box:hunter2@db.example/fleet\"\n",
			[]string{"FILE: audit.dsn: must not contain a password: put it in audit.password_file (0600) or $PGPASSWORD"}, []string{"hunter2"}},
		{"audit dsn password parameter", "[audit]\ndsn = \"postgres://box@db.example/fleet?sslmode=require&password=hunter2\"\n",
			[]string{"FILE: audit.dsn: must not contain a password"}, []string{"hunter2"}},
		{"audit keyword dsn password", "[audit]\ndsn = \"host=db.example user=box password=hunter2\"\n",
			[]string{"FILE: audit.dsn: must not contain a password"}, []string{"hunter2"}},
		// libpq and pgx take white space around "=": this sets the password too.
		{"audit keyword dsn password with spaces", "[audit]\ndsn = \"host=db.example user=box password = hunter2\"\n",
			[]string{"FILE: audit.dsn: must not contain a password"}, []string{"hunter2"}},
		{"audit keyword dsn quoted password after a tab", "[audit]\ndsn = \"host=db.example\\tPASSWORD\\t= 'hunter2 x'\"\n",
			[]string{"FILE: audit.dsn: must not contain a password"}, []string{"hunter2"}},
		{"audit dsn scheme", "[audit]\ndsn = \"mysql://db.example/fleet\"\n",
			[]string{"FILE: audit.dsn: want a postgres:// or postgresql:// URL"}, nil},
		{"audit password key", "[audit]\npassword = \"hunter2\"\n",
			[]string{"audit.password: secrets do not belong in the config file: put the PostgreSQL password in a 0600 file named by audit.password_file"}, []string{"hunter2"}},
		{"audit password_file without dsn", "[audit]\npassword_file = \"pg.pass\"\n",
			[]string{"FILE: audit.password_file: only used with audit.dsn"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			_, path, err := loadString(t, tc.content)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "FILE", "config file "+path)
				if !strings.Contains(msg, w) {
					t.Errorf("error\n  %s\ndoes not contain\n  %s", msg, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(msg, n) {
					t.Errorf("error %q contains %q", msg, n)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != path {
				t.Errorf("error is not a *config.Error naming the file: %#v", err)
			}
		})
	}
}

func TestAuditPostgresSection(t *testing.T) {
	isolate(t)
	cfg, path, err := loadString(t, "[audit]\ndsn = \"postgres://fleetdeck@db.example/fleet?sslmode=verify-full\"\npassword_file = \"pg.pass\"\nkey_file = \"keys/audit\"\n")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := Audit{Path: DefaultAuditPath(), DSN: "postgres://fleetdeck@db.example/fleet?sslmode=verify-full",
		PasswordFile: filepath.Join(dir, "pg.pass"), KeyFile: filepath.Join(dir, "keys", "audit")}
	if cfg.Audit != want {
		t.Errorf("audit = %+v, want %+v", cfg.Audit, want)
	}
	if err := os.WriteFile(want.PasswordFile, []byte("pw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Audit.Password(); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Errorf("0644 password file: %v", err)
	}
	os.Chmod(want.PasswordFile, 0o600)
	if pw, err := cfg.Audit.Password(); err != nil || pw != "pw" {
		t.Errorf("password: ok=%v %v", pw == "pw", err)
	}
	if got := RedactDSN("postgres://u:pw@h:5432/db?password=pw&sslmode=require"); got != "postgres://u@h:5432/db" {
		t.Errorf("redacted URL: %s", got)
	}
	if got := RedactDSN("host=h port=5 user=u password=pw dbname=d"); got != "postgres(host=h port=5 user=u dbname=d)" {
		t.Errorf("redacted keywords: %s", got)
	}
}

// The keyword form is read as libpq reads it, so that no spelling of the
// password gets past the check, and a DSN that is not in that form is
// refused without being repeated.
func TestCheckAuditDSNKeywordForm(t *testing.T) {
	for dsn, want := range map[string]string{
		"host=h user=u dbname=d":                   "",
		"host = h  user= u\tdbname =d":             "",
		`host=h application_name='a b\' c' user=u`: "",
		`host=h options='-c password=x'`:           "", // inside a quoted value: not a keyword
		"host=h password=pw":                       "must not contain a password",
		"host=h password = pw":                     "must not contain a password",
		"host=h\npassword\n=\npw":                  "must not contain a password",
		"host=h Password='p w'":                    "must not contain a password",
		"host=h sslpassword=pw":                    "must not contain sslpassword",
		"postgres://u@h/d?sslpassword=pw":          "must not contain sslpassword",
		"postgres://u@h/d?sslmode=verify-full":     "",
		"host=h password":                          "want postgres://user@host/db or keyword=value pairs",
		"host=h password='pw":                      "want postgres://user@host/db or keyword=value pairs",
		"=pw":                                      "want postgres://user@host/db or keyword=value pairs",
		"just words":                               "want postgres://user@host/db or keyword=value pairs",
	} {
		err := CheckAuditDSN(dsn)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q refused: %v", dsn, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", dsn, err, want)
		case err != nil && strings.Contains(err.Error(), "pw"):
			t.Errorf("%q: the error repeats the password: %v", dsn, err)
		}
	}
}

// topic is one filter or a list; without it the defaults follow the broker:
// both forms of the live topic, plus the sandbox form on HM's sandbox broker.
func TestTopicForms(t *testing.T) {
	for _, tc := range []struct {
		name, broker, topic string
		want                []string
	}{
		{"default", "ssl://mqtt.high-mobility.com:8883", "", []string{"live/level13/APP1/#", "/live/level13/APP1/#"}},
		{"default on the V2 broker (the # covers live/level13/APP1)", "ssl://mqtt-v2.high-mobility.com:8883", "", []string{"live/level13/APP1/#", "/live/level13/APP1/#"}},
		{"default on HM's sandbox broker", "ssl://Sandbox.MQTT.high-mobility.com:8883", "", []string{"live/level13/APP1/#", "/live/level13/APP1/#", "sandbox/level13/APP1/#"}},
		{"one string", "ssl://h.example:8883", `topic = "/live/level13/{app_id}/#"`, []string{"/live/level13/APP1/#"}},
		{"a list", "ssl://h.example:8883", `topic = ["live/level13/{app_id}", "sandbox/level13/{app_id}/+/doors/#"]`, []string{"live/level13/APP1", "sandbox/level13/APP1/+/doors/#"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			cfg, _, err := loadString(t, "[telemetry]\nbroker = \""+tc.broker+"\"\napp_id = \"APP1\"\n"+tc.topic+"\n")
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Telemetry.TopicFilters(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("filters %q, want %q", got, tc.want)
			}
		})
	}
	// A Telemetry built in code without topics gets the defaults too, and
	// Validate checks the filters after {app_id} is substituted.
	tm := &Telemetry{Broker: "ssl://h.example:8883", AppID: "A"}
	if got := tm.TopicFilters(); !reflect.DeepEqual(got, []string{"live/level13/A/#", "/live/level13/A/#"}) {
		t.Errorf("code-built filters %q", got)
	}
}

// The fleet section chooses its authentication by the keys it sets.
func TestFleetAuthChoice(t *testing.T) {
	for _, tc := range []struct {
		keys string
		want FleetAuth
	}{
		{`service_account = "sa.json"`, FleetAuthServiceAccount},
		{"client_id = \"cid\"\nclient_secret_file = \"s\"", FleetAuthClientSecret},
		{"client_id = \"cid\"\nprivate_key_file = \"key.json\"", FleetAuthClientAssertion},
	} {
		isolate(t)
		cfg, path, err := loadString(t, "[fleet]\nbase_url = \"https://x.example/v1\"\n"+tc.keys+"\n")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Fleet.Auth(); got != tc.want {
			t.Errorf("%s: auth %v, want %v", tc.keys, got, tc.want)
		}
		if tc.want == FleetAuthClientAssertion && cfg.Fleet.PrivateKeyFile != filepath.Join(filepath.Dir(path), "key.json") {
			t.Errorf("private_key_file %q not resolved against the config file", cfg.Fleet.PrivateKeyFile)
		}
	}
}

// Cleartext is for loopback only: the bearer token, the HMAC signature and
// the vehicles' positions must not cross a network unencrypted.
func TestCleartextOnlyOnLoopback(t *testing.T) {
	for _, ok := range []string{
		"http://127.0.0.1:8080/v1", "http://127.8.9.10/v1", "http://[::1]:9000", "http://localhost:1234", "http://LocalHost",
		"https://fleet.example/v1", "https://10.0.0.7/v1",
	} {
		if _, err := checkRESTURL(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"http://fleet.example/v1", "http://10.0.0.7", "http://[::2]:80", "http://localhost.example", "http://127.0.0.1.nip.io",
		"http://0.0.0.0:8080", "http://[::ffff:10.0.0.1]/",
	} {
		if _, err := checkRESTURL(bad); err == nil || !strings.Contains(err.Error(), "use https://") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	for _, ok := range []string{"tcp://127.0.0.1:1883", "mqtt://localhost:1883", "ws://[::1]:8080/mqtt", "ssl://mqtt.example:8883", "wss://mqtt.example/mqtt"} {
		if err := checkBrokerURL(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"tcp://mqtt.example:1883", "mqtt://192.168.1.2:1883", "ws://mqtt.example/mqtt"} {
		if err := checkBrokerURL(bad); err == nil || !strings.Contains(err.Error(), "only for loopback") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// Validate applies the same rule to a Config built in code.
	cfg := &Config{Commands: &Commands{BaseURL: "http://api.mobway.cloud"}, Audit: Audit{Path: "/abs/audit.db"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "commands.base_url: plain http:// is only for loopback") {
		t.Errorf("Validate: %v", err)
	}
}

func TestAppIDShapesTopic(t *testing.T) {
	for _, id := range []string{"A/B", "A+", "#", " A"} {
		t.Run(id, func(t *testing.T) {
			isolate(t)
			_, path, err := loadString(t, "[telemetry]\nbroker = \"ssl://h.example:8883\"\napp_id = \""+id+"\"\n")
			if err == nil || !strings.Contains(err.Error(), "config file "+path+":3: telemetry.app_id: must not") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestClientCredentialsWithEnvSecret(t *testing.T) {
	isolate(t)
	t.Setenv(EnvFleetClientSecret, "from-env")
	cfg, _, err := loadString(t, "[fleet]\nbase_url = \"https://x.example\"\nclient_id = \"cid\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := cfg.Fleet.ClientSecret(); err != nil || s != "from-env" {
		t.Errorf("ClientSecret() from env: ok=%v, %v", s == "from-env", err)
	}
}

func TestSecretInConfigRefused(t *testing.T) {
	const value = "s3cr3t-VALUE"
	for _, tc := range []struct {
		name, content, hint string
	}{
		{"commands.token", commandsOK + "token = \"" + value + "\"\n", EnvCommandsToken},
		{"commands.sign_secret", commandsOK + "sign_secret = \"" + value + "\"\n", EnvCommandsSignSecret},
		{"platform.api_key", platformOK + "api_key = \"" + value + "\"\n", EnvPlatformAPIKey},
		{"fleet.client_secret", fleetOK + "client_secret = \"" + value + "\"\n", EnvFleetClientSecret},
		{"platform.password", platformOK + "password = \"" + value + "\"\n", "fleetdeck platform login"},
		{"fleet.private_key", fleetOK + "private_key = \"" + value + "\"\n", "fleet.service_account"},
		{"password", "password = \"" + value + "\"\n", "never stores passwords"},
		// a bare value is a syntax error whose message would quote it
		{"commands.token", commandsOK + "token = " + value + "\n", EnvCommandsToken},
		// an unterminated string, likewise
		{"commands.token", commandsOK + "token = \"" + value + "\n", EnvCommandsToken},
		// reported even when another key is wrong too
		{"commands.token", "[commands]\nbase_url = 7\ntoken = \"" + value + "\"\n", EnvCommandsToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolate(t)
			_, path, err := loadString(t, tc.content)
			if err == nil {
				t.Fatal("secret in config accepted")
			}
			msg := err.Error()
			for _, w := range []string{"config file " + path, tc.name + ": secrets do not belong in the config file", tc.hint} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, value) || strings.Contains(msg, "s3cr3t") {
				t.Errorf("error leaks the secret: %q", msg)
			}
		})
	}
}

func TestSecretAccessors(t *testing.T) {
	type accessor struct {
		name    string
		env     string
		fileKey string
		get     func(dir string) (string, error)
	}
	accessors := []accessor{
		{"commands.token", EnvCommandsToken, "commands.token_file", func(dir string) (string, error) {
			return (&Commands{TokenFile: filepath.Join(dir, "s")}).Token()
		}},
		{"commands.sign_secret", EnvCommandsSignSecret, "commands.sign_secret_file", func(dir string) (string, error) {
			return (&Commands{SignSecretFile: filepath.Join(dir, "s")}).SignSecret()
		}},
		{"platform.api_key", EnvPlatformAPIKey, "platform.api_key_file", func(dir string) (string, error) {
			return (&Platform{APIKeyFile: filepath.Join(dir, "s")}).APIKey()
		}},
		{"fleet.client_secret", EnvFleetClientSecret, "fleet.client_secret_file", func(dir string) (string, error) {
			return (&Fleet{ClientSecretFile: filepath.Join(dir, "s")}).ClientSecret()
		}},
	}
	for _, a := range accessors {
		t.Run(a.name, func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				env      string
				file     string // "" = no file
				mode     os.FileMode
				want     string
				wantErrs []string
			}{
				{name: "file", file: "from-file\n", mode: 0o600, want: "from-file"},
				{name: "file crlf", file: "from-file \r\n", mode: 0o400, want: "from-file"},
				{name: "env wins", env: "from-env", file: "from-file\n", mode: 0o600, want: "from-env"},
				{name: "env without file", env: "from-env\n", want: "from-env"},
				{name: "env beats a bad file", env: "from-env", file: "from-file", mode: 0o644, want: "from-env"},
				{name: "missing file", wantErrs: []string{a.name + ": ", "no such file"}},
				{name: "too open", file: "from-file", mode: 0o644, wantErrs: []string{a.name + ": ", "permissions 0644 are too open", "chmod 600 "}},
				{name: "group readable", file: "from-file", mode: 0o640, wantErrs: []string{"permissions 0640 are too open", "chmod 600 "}},
				{name: "empty", file: "\n", mode: 0o600, wantErrs: []string{a.name + ": ", "is empty"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					isolate(t)
					dir := t.TempDir()
					t.Setenv(a.env, tc.env)
					if tc.file != "" {
						writeFile(t, filepath.Join(dir, "s"), tc.file, tc.mode)
					}
					got, err := a.get(dir)
					if tc.wantErrs == nil {
						if err != nil || got != tc.want {
							t.Fatalf("got %q, %v; want %q", got, err, tc.want)
						}
						return
					}
					if err == nil {
						t.Fatal("no error")
					}
					for _, w := range tc.wantErrs {
						if strings.Contains(w, "chmod 600 ") {
							w += filepath.Join(dir, "s")
						}
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not contain %q", err, w)
						}
					}
					if strings.Contains(err.Error(), "from-file") {
						t.Errorf("error leaks the secret: %q", err)
					}
				})
			}
		})
		t.Run(a.name+"/not configured", func(t *testing.T) {
			isolate(t)
			var err error
			switch a.name {
			case "commands.token":
				_, err = (&Commands{}).Token()
			case "commands.sign_secret":
				_, err = (&Commands{}).SignSecret()
			case "platform.api_key":
				_, err = (&Platform{}).APIKey()
			case "fleet.client_secret":
				_, err = (&Fleet{}).ClientSecret()
			}
			if err == nil || !strings.Contains(err.Error(), a.fileKey) || !strings.Contains(err.Error(), a.env) {
				t.Errorf("got %v; want it to name %s and %s", err, a.fileKey, a.env)
			}
		})
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	isolate(t)
	cfg := &Config{
		Fleet:     &Fleet{BaseURL: "https://f.example", ServiceAccount: "relative.json", Audience: "a", JWTVersion: 1, PollInterval: 100 * time.Millisecond},
		Telemetry: &Telemetry{Broker: "ssl://h.example:8883", AppID: "A", QoS: 5, Pseudonymized: "maybe"},
		Audit:     Audit{Path: DefaultAuditPath()},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"config: fleet.poll_interval: must be at least 1s",
		"config: fleet.service_account: must be an absolute path",
		"config: telemetry.qos: must be 0, 1 or 2",
		"config: telemetry.pseudonymized: must be true, false or \"auto\"",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	cfg.Fleet.ServiceAccount = "/abs/sa.json"
	cfg.Fleet.PollInterval = time.Second
	cfg.Telemetry.QoS = 2
	cfg.Telemetry.Pseudonymized = PseudoFalse
	if err := cfg.Validate(); err != nil {
		t.Errorf("fixed config: %v", err)
	}
}

func TestErrorIsTerminalSafe(t *testing.T) {
	isolate(t)
	_, _, err := loadString(t, "[fleet]\n\"evil\\u001b[2J\" = 1\n")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("error carries an escape sequence: %q", err)
	}
	if !strings.Contains(err.Error(), "unknown key") {
		t.Errorf("got %q", err)
	}
}

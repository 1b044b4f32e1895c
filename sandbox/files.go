package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/fleetdeck/fleetdeck/sandbox/fleetsim"
	"github.com/fleetdeck/fleetdeck/sandbox/internal/privatefile"
)

// serviceAccountJSON is the file High Mobility's console hands out, field
// order included.
type serviceAccountJSON struct {
	InsertedAt string `json:"inserted_at"`
	PrivateKey string `json:"private_key"`
	ID         string `json:"id"`
}

// writeFiles writes the credentials, config.toml and README.txt, each 0600.
func (s *Sandbox) writeFiles(c *credentials) error {
	sa, err := json.Marshal(serviceAccountJSON{
		InsertedAt: c.insertedAt.Format(fleetsim.TimeFormat),
		PrivateKey: string(c.keyPEM),
		ID:         c.serviceAccountID,
	})
	if err != nil {
		return fmt.Errorf("encode service account: %w", err)
	}
	// The OAuth2 private key as HM's console hands it out for an app's
	// OAuth client: the same {id, private_key} shape.
	oauthKey, err := json.Marshal(struct {
		ID         string `json:"id"`
		PrivateKey string `json:"private_key"`
	}{c.oauthKeyID, string(c.oauthKeyPEM)})
	if err != nil {
		return fmt.Errorf("encode OAuth2 key: %w", err)
	}
	// Secret files end without a newline, so that curl's name@file and
	// similar tools read exactly the secret.
	files := []struct {
		name string
		data []byte
	}{
		{ServiceAccountFile, sa},
		{FleetClientSecret, []byte(c.fleetClientSecret)},
		{FleetOAuthKeyFile, oauthKey},
		{CommandsTokenFile, []byte(c.commandsToken)},
		{CommandsSecretFile, []byte(c.commandsSecret)},
		{PlatformKeyFile, []byte(s.platform.Token())},
		{PlatformPasswordFile, []byte(c.platformPassword)},
	}
	ca, cert, key := s.broker.Files()
	host, port, err := net.SplitHostPort(s.broker.Addr())
	if err != nil {
		return fmt.Errorf("broker address: %w", err)
	}
	approved := s.fleet.Approved()
	exampleVIN := ""
	if len(approved) > 0 {
		exampleVIN = approved[0].VIN
	}
	data := templateData{
		Written:        time.Now().UTC().Format(time.RFC3339),
		HTTP:           s.httpURL,
		MQTTHost:       host,
		MQTTPort:       port,
		Fleet:          s.httpURL + PrefixFleet,
		Commands:       s.httpURL + PrefixCommands,
		MRV:            s.httpURL + PrefixMRV,
		Login:          s.httpURL + PrefixLogin,
		Broker:         s.mqttURL,
		AppID:          c.appID,
		Pseudonymized:  s.pseudonymized,
		V2:             s.v2,
		SeedTopics:     s.seedTopics,
		CA:             relTo(s.dir, ca),
		Cert:           relTo(s.dir, cert),
		Key:            relTo(s.dir, key),
		ClientID:       c.fleetClientID,
		MQTTClientID:   s.broker.ClientID(),
		Email:          DemoEmail,
		ExampleVIN:     exampleVIN,
		ServiceAccount: ServiceAccountFile,
		FleetSecret:    FleetClientSecret,
		FleetOAuthKey:  FleetOAuthKeyFile,
		CmdToken:       CommandsTokenFile,
		CmdSecret:      CommandsSecretFile,
		PlatformKey:    PlatformKeyFile,
		PlatformPass:   PlatformPasswordFile,
	}
	for _, t := range []struct {
		name string
		tmpl *template.Template
	}{{ConfigFile, configTemplate}, {ReadmeFile, readmeTemplate}} {
		var b strings.Builder
		if err := t.tmpl.Execute(&b, data); err != nil {
			return fmt.Errorf("render %s: %w", t.name, err)
		}
		files = append(files, struct {
			name string
			data []byte
		}{t.name, []byte(b.String())})
	}
	for _, f := range files {
		if err := privatefile.Write(filepath.Join(s.dir, f.name), f.data); err != nil {
			return err
		}
	}
	return nil
}

type templateData struct {
	Written, HTTP, MQTTHost, MQTTPort, Fleet, Commands, MRV, Login, Broker, AppID string
	Pseudonymized, V2, SeedTopics                                                 bool
	CA, Cert, Key, ClientID, MQTTClientID, Email, ExampleVIN                      string
	ServiceAccount, FleetSecret, FleetOAuthKey, CmdToken, CmdSecret               string
	PlatformKey, PlatformPass                                                     string
}

// relTo makes path relative to dir when it lies inside it (config paths are
// relative to the config file).
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var funcs = template.FuncMap{"q": tomlString}

// configTemplate is design.md §3's format. Secrets stay in the files it names.
var configTemplate = template.Must(template.New("config").Funcs(funcs).Parse(`# Written by the fleetdeck sandbox at {{.Written}}.
# Every endpoint below is a simulator on loopback; the credentials are the
# files beside this one (0600). See README.txt.

# fleetdeck calls this profile SANDBOX: nothing here reaches a real vehicle.
sandbox = true

[fleet]
base_url = {{q .Fleet}}
service_account = {{q .ServiceAccount}}
# OAuth2 client credentials work too (instead of service_account), with the
# client secret or with a client_assertion signed by the OAuth2 private key:
# client_id = {{q .ClientID}}
# client_secret_file = {{q .FleetSecret}}
# private_key_file = {{q .FleetOAuthKey}}
poll_interval = "5s"

[telemetry]
broker = {{q .Broker}}
app_id = {{q .AppID}}{{if .V2}}   # the application id: MQTT V2 publishes on live/level13/{app_id}{{end}}
# topic: the default subscribes to live/level13/{app_id}/# and /live/level13/{app_id}/#.
ca_file = {{q .CA}}
cert_file = {{q .Cert}}
key_file = {{q .Key}}
qos = 1
pseudonymized = "{{.Pseudonymized}}"

[commands]
base_url = {{q .Commands}}
token_file = {{q .CmdToken}}
sign_secret_file = {{q .CmdSecret}}

[platform]
base_url = {{q .MRV}}
login_url = {{q .Login}}
api_key_file = {{q .PlatformKey}}

[audit]
# Simulated actions are journaled here, apart from real ones.
path = "audit.db"
`))

var readmeTemplate = template.Must(template.New("readme").Parse(`fleetdeck sandbox
=================

Simulated APIs on loopback, written {{.Written}}. Nothing here reaches a real
vehicle. Run the examples from this directory; every secret is read from its
file (mode 0600), never typed on the command line.

  fleet (High Mobility)    {{.Fleet}}
  commands (mobway)        {{.Commands}}
  platform MRV API         {{.MRV}}
  platform login           {{.Login}}
  MQTT broker (TLS)        {{.Broker}}   app id {{.AppID}}

Console:

  fleetdeck --config config.toml

Fleet: the service account in {{.ServiceAccount}} signs an ES256 JWT for
POST /auth_tokens; the OAuth2 client {{.ClientID}} authenticates at
POST /access_tokens with its secret ({{.FleetSecret}}) or with a
client_assertion signed by its private key ({{.FleetOAuthKey}}). From a
shell the secret is simplest (a form, or the same fields as JSON):

  TOKEN=$(curl -s {{.Fleet}}/access_tokens \
    -d grant_type=client_credentials -d client_id={{.ClientID}} \
    --data-urlencode client_secret@{{.FleetSecret}} | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
  curl -s -H "Authorization: Bearer $TOKEN" {{.Fleet}}/fleets/vehicles
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"vehicles":[{"vin":"WBA5R1C51KAJ98124","brand":"bmw"}]}' {{.Fleet}}/fleets/vehicles
  curl -s -X DELETE -H "Authorization: Bearer $TOKEN" {{.Fleet}}/fleets/vehicles/WBA5R1C51KAJ98124

  New vehicles are pending for a few seconds, then approved; VINs ending in
  "000" are rejected, and mercedes-benz needs control_measures.odometer.
  Cancelling a pending vehicle works for the brands High Mobility lists
  (mercedes-benz, volkswagen, audi, skoda, seat, cupra and the Stellantis
  brands) and answers 422 for the others. GET /fleets/vehicles/{vin} allows
  60 requests a minute per client.

Commands (X-Signature is the HMAC-SHA256 of the exact body, keys sorted):

  BODY='{"command":"lock_door","vin":"{{.ExampleVIN}}"}'
  SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$(cat {{.CmdSecret}})" | sed 's/^.* //')
  curl -s {{.Commands}}/vehicle-command -H "Authorization: Bearer $(cat {{.CmdToken}})" \
    -H "X-Signature: $SIG" -H 'Content-Type: application/json' -d "$BODY"
  curl -s -H "Authorization: Bearer $(cat {{.CmdToken}})" {{.Commands}}/vehicle-command/<id>

Platform (user {{.Email}}, password in {{.PlatformPass}}):

  curl -s -H "ApiKey: $(cat {{.PlatformKey}})" {{.MRV}}/fields
  curl -s {{.Login}}/login -H 'Content-Type: application/json' \
    -d "{\"email\":\"{{.Email}}\",\"password\":\"$(cat {{.PlatformPass}})\"}"

Telemetry ({{if .V2}}MQTT V2: one topic for the application, several capabilities a message{{else}}MQTT V1: one property a message, topics {{if .SeedTopics}}with{{else}}without{{end}} the leading slash{{end}}):

  mosquitto_sub -h {{.MQTTHost}} -p {{.MQTTPort}} --cafile {{.CA}} --cert {{.Cert}} --key {{.Key}} \
    -i {{.MQTTClientID}} -q 1 -v -t '{{if .SeedTopics}}/{{end}}live/level13/{{.AppID}}{{if not .V2}}/#{{end}}'
`))

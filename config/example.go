package config

// Example returns a commented example config.toml (design.md §3). README
// and `fleetdeck` help print it; a test loads it so it cannot rot.
func Example() string {
	return `# fleetdeck configuration. Relative paths are relative to this file.
# Secrets never go in here: they live in 0600 files or environment variables.
# A section left out disables that provider.

# production = true              # this profile talks to real vehicles: the console frames itself in red

[fleet]                          # High Mobility fleet clearance (documents 000 and 001)
base_url = "https://sandbox.api.high-mobility.com/v1"
service_account = "service-account.json"   # the JSON the console hands out: id, private_key (PKCS#8 PEM), inserted_at
# client_id = "..."              # OAuth2 client credentials instead of the (deprecated) service account,
# client_secret_file = "fleet.secret"      #   with the client secret (or FLEETDECK_FLEET_CLIENT_SECRET)
# private_key_file = "oauth-key.json"      #   or with a client_assertion signed by the app's OAuth2 private key ({id, private_key}, 0600)
# audience = ""                  # default: base_url (aud of the assertions)
# jwt_version = 1                # 1 or 2: the service account's assertion (a client_assertion is always 2)
poll_interval = "10s"            # at least 1s; HM asks for moderate use (GET of one vehicle: 60 calls a minute)

[telemetry]                      # MQTT feed (document 001): V1 and V2, told apart by the payload
broker = "ssl://mqtt.example.com:8883"     # ssl://, mqtts://, wss:// (TLS); tcp://, mqtt://, ws:// only on loopback
app_id = "1FBBEDED80595912588FF4FF"   # V1 app id, or for the MQTT V2 broker the application id (topic live/level13/{app_id})
# topic = ["live/level13/{app_id}/#", "/live/level13/{app_id}/#"]   # the default: both forms (+ "sandbox/level13/{app_id}/#" on sandbox.mqtt.high-mobility.com)
ca_file = "ca.pem"
cert_file = "client.pem"
key_file = "client-key.pem"
# client_id = ""                 # High Mobility: your certificate's id (required). Unset: a new id per process, no persistent session
qos = 1                          # 0, 1 or 2
pseudonymized = "auto"           # true | false | "auto" (auto: a vin field that is not a valid VIN is a pseudonym)

[commands]                       # mobway remote commands (document 002)
base_url = "https://api.mobway.cloud"
token_file = "commands.token"              # or FLEETDECK_COMMANDS_TOKEN
sign_secret_file = "commands.secret"       # or FLEETDECK_COMMANDS_SIGN_SECRET
# approval = ["disable_ignition"]  # four eyes: a second operator approves these before the code is requested
# confirm = ["unlock_door"]        # a y/n confirmation, with the vehicle's facts, before these are sent

[platform]                       # MRV API (document 003)
base_url = "https://mrv-gateway.prod.hummingbirdtech.com/v1"
login_url = "https://gateway.prod.hummingbirdtech.com/api/v1"
api_key_file = "platform.key"              # or FLEETDECK_PLATFORM_API_KEY; fleetdeck platform login writes it

[audit]
# path = ""                      # default: $XDG_STATE_HOME/fleetdeck/audit.db (SQLite)
# dsn = "postgres://fleetdeck@db.example.com/fleetdeck"   # PostgreSQL instead, shared by every ops box; never a password here
# password_file = "audit.pgpass" # the DSN's password (0600), or PGPASSWORD
# key_file = ""                  # Ed25519 key signing each entry (0600, made on first use); default: $XDG_STATE_HOME/fleetdeck/audit_ed25519_key, or beside serve's host key

[keys]                           # optional overrides: action = ["key", ...]
# revoke = ["D"]

[theme]                          # optional: the console's colours
# name = "auto"                  # auto (follows the terminal's background) | dark | light | high-contrast
# accent = "#FF8700"             # any role: text, dim, accent, ok, warning, alert, error,
#                                # selected_fg, selected_bg, changed_bg, border ("#RRGGBB", "#RGB" or "0"-"255")
`
}

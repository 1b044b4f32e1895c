package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The file is decoded into these raw types. Every leaf implements
// toml.Unmarshaler, so a type or value error comes back from the decoder as a
// toml.ParseError that carries the key and its line.

type rawFile struct {
	Production tomlBool           `toml:"production"`
	Sandbox    tomlBool           `toml:"sandbox"`
	Fleet      *rawFleet          `toml:"fleet"`
	Telemetry  *rawTelemetry      `toml:"telemetry"`
	Commands   *rawCommands       `toml:"commands"`
	Platform   *rawPlatform       `toml:"platform"`
	Audit      *rawAudit          `toml:"audit"`
	Keys       map[string]keyList `toml:"keys"`
	Theme      *rawTheme          `toml:"theme"`
}

type rawFleet struct {
	BaseURL          restURL      `toml:"base_url"`
	ServiceAccount   tomlString   `toml:"service_account"`
	ClientID         tomlString   `toml:"client_id"`
	ClientSecretFile tomlString   `toml:"client_secret_file"`
	PrivateKeyFile   tomlString   `toml:"private_key_file"`
	Audience         tomlString   `toml:"audience"`
	JWTVersion       jwtVersion   `toml:"jwt_version"`
	PollInterval     pollInterval `toml:"poll_interval"`
}

type rawTelemetry struct {
	Broker        brokerURL     `toml:"broker"`
	AppID         appID         `toml:"app_id"`
	Topic         topicFilters  `toml:"topic"`
	CAFile        tomlString    `toml:"ca_file"`
	CertFile      tomlString    `toml:"cert_file"`
	KeyFile       tomlString    `toml:"key_file"`
	ClientID      tomlString    `toml:"client_id"`
	QoS           qosLevel      `toml:"qos"`
	Pseudonymized pseudonymized `toml:"pseudonymized"`
}

type rawCommands struct {
	BaseURL        restURL     `toml:"base_url"`
	TokenFile      tomlString  `toml:"token_file"`
	SignSecretFile tomlString  `toml:"sign_secret_file"`
	Approval       commandList `toml:"approval"`
	Confirm        commandList `toml:"confirm"`
}

type rawPlatform struct {
	BaseURL    restURL    `toml:"base_url"`
	LoginURL   restURL    `toml:"login_url"`
	APIKeyFile tomlString `toml:"api_key_file"`
}

type rawAudit struct {
	Path         tomlString `toml:"path"`
	DSN          tomlString `toml:"dsn"`
	PasswordFile tomlString `toml:"password_file"`
	KeyFile      tomlString `toml:"key_file"`
}

func describe(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	default:
		return "a date or time"
	}
}

func wrongType(want string, v any) error {
	return fmt.Errorf("must be %s, not %s", want, describe(v))
}

type tomlString string

func (s *tomlString) UnmarshalTOML(v any) error {
	x, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	*s = tomlString(x)
	return nil
}

type tomlBool bool

func (b *tomlBool) UnmarshalTOML(v any) error {
	x, ok := v.(bool)
	if !ok {
		return wrongType("true or false", v)
	}
	*b = tomlBool(x)
	return nil
}

type restURL string

func (u *restURL) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return wrongType("a URL string", v)
	}
	n, err := checkRESTURL(s)
	if err != nil {
		return err
	}
	*u = restURL(n)
	return nil
}

type brokerURL string

func (u *brokerURL) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return wrongType("a URL string", v)
	}
	if err := checkBrokerURL(s); err != nil {
		return err
	}
	*u = brokerURL(s)
	return nil
}

type appID string

func (a *appID) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return wrongType("a string", v)
	}
	if s == "" {
		return errors.New("must not be empty")
	}
	if err := checkAppID(s); err != nil {
		return err
	}
	*a = appID(s)
	return nil
}

// topicFilters is `topic`: one filter, or a list of them.
type topicFilters []string

func (t *topicFilters) UnmarshalTOML(v any) error {
	var list []string
	switch x := v.(type) {
	case string:
		list = []string{x}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return fmt.Errorf("must be a filter or a list of filters (strings), but element %d is %s", i+1, describe(e))
			}
			list = append(list, s)
		}
	default:
		return wrongType(`a filter such as "live/level13/{app_id}/#", or a list of them`, v)
	}
	// {app_id} is a plain level here; the final filters are checked again by Validate.
	if err := checkTopicFilters(list); err != nil {
		return err
	}
	*t = list
	return nil
}

// pollInterval is zero when absent: a configured zero is refused.
type pollInterval time.Duration

func (p *pollInterval) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return wrongType(`a duration string such as "10s"`, v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`%q is not a duration: use a number with a unit, such as "10s" or "1m"`, s)
	}
	if err := checkPollInterval(d); err != nil {
		return err
	}
	*p = pollInterval(d)
	return nil
}

// jwtVersion is zero when absent.
type jwtVersion int

func (j *jwtVersion) UnmarshalTOML(v any) error {
	n, ok := v.(int64)
	if !ok {
		return wrongType("an integer (1 or 2)", v)
	}
	if err := checkJWTVersion(n); err != nil {
		return err
	}
	*j = jwtVersion(n)
	return nil
}

type qosLevel struct {
	v   byte
	set bool
}

func (q *qosLevel) UnmarshalTOML(v any) error {
	n, ok := v.(int64)
	if !ok {
		return wrongType("an integer (0, 1 or 2)", v)
	}
	if n < 0 || n > 2 {
		return fmt.Errorf("must be 0, 1 or 2 (got %d)", n)
	}
	q.v, q.set = byte(n), true
	return nil
}

type pseudonymized Pseudonymized

func (p *pseudonymized) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case bool:
		if x {
			*p = pseudonymized(PseudoTrue)
		} else {
			*p = pseudonymized(PseudoFalse)
		}
		return nil
	case string:
		switch Pseudonymized(x) {
		case PseudoAuto, PseudoTrue, PseudoFalse:
			*p = pseudonymized(x)
			return nil
		}
		return fmt.Errorf(`must be true, false or "auto" (got %q)`, x)
	}
	return wrongType(`true, false or "auto"`, v)
}

type keyList []string

func (k *keyList) UnmarshalTOML(v any) error {
	out, err := stringList(v, `an array of key names such as ["D"]`, checkKeyList)
	if err == nil {
		*k = out
	}
	return err
}

// stringList decodes an array of strings (want says which, for the error)
// and checks it.
func stringList(v any, want string, check func([]string) error) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, wrongType(want, v)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("must be an array of strings, but holds %s", describe(e))
		}
		out = append(out, s)
	}
	if err := check(out); err != nil {
		return nil, err
	}
	return out, nil
}

// schema lists the keys each table accepts, taken from the raw types' tags
// so it cannot drift from what is decoded. "" is the top level.
func schema() map[string]map[string]bool {
	tags := func(t reflect.Type) map[string]bool {
		m := make(map[string]bool, t.NumField())
		for i := range t.NumField() {
			m[t.Field(i).Tag.Get("toml")] = true
		}
		return m
	}
	top := reflect.TypeFor[rawFile]()
	s := map[string]map[string]bool{"": tags(top)}
	for i := range top.NumField() {
		f := top.Field(i)
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct {
			s[f.Tag.Get("toml")] = tags(f.Type.Elem())
		}
	}
	return s
}

// secretAdvice recognises a key that would put a secret into config.toml and
// says where the secret goes instead.
func secretAdvice(key toml.Key) (string, bool) {
	section := ""
	if len(key) > 1 {
		section = key[0]
	}
	if section == "keys" {
		return "", false // action names, not secrets
	}
	switch name := key[len(key)-1]; name {
	case "token", "sign_secret", "api_key", "client_secret", "secret", "apikey", "auth_token", "access_token":
		switch {
		case section == "commands" && name == "token":
			return "put the token in a 0600 file named by commands.token_file, or set $" + EnvCommandsToken, true
		case section == "commands" && (name == "sign_secret" || name == "secret"):
			return "put the sign secret in a 0600 file named by commands.sign_secret_file, or set $" + EnvCommandsSignSecret, true
		case section == "platform":
			return "put the API key in a 0600 file named by platform.api_key_file (fleetdeck platform login writes it), or set $" + EnvPlatformAPIKey, true
		case section == "fleet":
			return "put the client secret in a 0600 file named by fleet.client_secret_file, or set $" + EnvFleetClientSecret, true
		}
		return "put it in a 0600 file named by the matching *_file key, or in its environment variable", true
	case "password":
		if section == "audit" {
			return "put the PostgreSQL password in a 0600 file named by audit.password_file, or set $PGPASSWORD", true
		}
		return "fleetdeck never stores passwords: `fleetdeck platform login` asks for it and saves only the API key", true
	case "private_key":
		return "name the key's JSON file (0600) with fleet.service_account, or with fleet.private_key_file beside fleet.client_id", true
	}
	return "", false
}

// checkKeys refuses secrets and unknown keys before any value is looked at,
// in file order, so the first message is the first offending line.
func checkKeys(file string, md toml.MetaData, decodeOK bool) error {
	sch := schema()
	undecoded := map[string]bool{}
	if decodeOK {
		for _, k := range md.Undecoded() {
			undecoded[k.String()] = true
		}
	}
	// The decoder silently skips a map field given a non-table (keys = 1).
	if t := md.Type("keys"); t != "" && t != "Hash" {
		return &Error{File: file, Key: "keys", Msg: `must be a table ([keys] with action = ["key", ...])`}
	}
	var unknown []error
	for _, k := range md.Keys() {
		if advice, ok := secretAdvice(k); ok {
			return &Error{File: file, Key: k.String(), Msg: "secrets do not belong in the config file: " + advice}
		}
		if known(sch, k) && !undecoded[k.String()] {
			continue
		}
		// One message for a whole unknown table, not one per key inside it.
		if len(k) > 1 && !known(sch, k[:len(k)-1]) {
			continue
		}
		msg := "unknown key"
		if hint := suggest(sch, k); hint != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", hint)
		}
		unknown = append(unknown, &Error{File: file, Key: k.String(), Msg: msg})
	}
	return errors.Join(unknown...)
}

func known(sch map[string]map[string]bool, k toml.Key) bool {
	switch len(k) {
	case 1:
		return sch[""][k[0]]
	case 2:
		if k[0] == "keys" {
			return true
		}
		return sch[k[0]][k[1]]
	}
	// Deeper keys exist only under [keys], where the decoder refuses them
	// with a better message than "unknown".
	return k[0] == "keys"
}

// suggest names a known key one or two edits away from a typo.
func suggest(sch map[string]map[string]bool, k toml.Key) string {
	var table map[string]bool
	prefix := ""
	switch len(k) {
	case 1:
		table = sch[""]
	case 2:
		table, prefix = sch[k[0]], k[0]+"."
	default:
		return ""
	}
	best, bestDist := "", 3
	for name := range table {
		if d := editDistance(strings.ToLower(k[len(k)-1]), name); d < bestDist || (d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	return prefix + best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// decodeError turns the decoder's error into an *Error naming file, line and key.
func decodeError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		if pe.LastKey != "" {
			k := strings.Split(pe.LastKey, ".")
			if advice, ok := secretAdvice(toml.Key(k)); ok {
				// A syntax error after a secret key may quote the value.
				e.Msg = "secrets do not belong in the config file: " + advice
			}
		}
		return e
	}
	// The decoder's own type errors read
	// `toml: line N (last key "a.b"): type mismatch for *config.rawFleet: expected table but found string`.
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	e := &Error{File: file, Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		var n int
		if _, scanErr := fmt.Sscanf(rest, "%d", &n); scanErr == nil {
			e.Line = n
		}
	}
	if _, after, ok := strings.Cut(msg, `(last key "`); ok {
		if key, rest, ok := strings.Cut(after, `"): `); ok {
			e.Key = key
			e.Msg = rest
		}
	}
	switch {
	case strings.Contains(e.Msg, "expected table"), strings.Contains(e.Msg, "destination has type map"):
		e.Msg = "must be a table ([" + e.Key + "])"
	}
	return e
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// Redacted replaces every secret value.
const Redacted = "[REDACTED]"

var secretHeaders = map[string]bool{
	"Authorization":       true,
	"X-Signature":         true,
	"Apikey":              true, // canonical form of ApiKey
	"Cookie":              true,
	"Set-Cookie":          true,
	"Proxy-Authorization": true,
}

// RedactHeader returns a copy of h with every credential-bearing header's
// value replaced.
func RedactHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			out[k] = []string{Redacted}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// jwtLike matches anything shaped like a JWT (an assertion, an idToken),
// which a server might echo back in an error message.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// Scrub returns s, a server's error text, with every non-empty secret and
// anything shaped like a JWT replaced by Redacted: a server may echo what it
// was sent.
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return jwtLike.ReplaceAllString(s, Redacted)
}

// SecretKey reports whether a JSON or form field of this name holds a secret.
func SecretKey(name string) bool {
	n := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(name))
	switch n {
	case "assertion", "clientassertion", "password", "secret", "clientsecret", "signsecret",
		"token", "authtoken", "accesstoken", "refreshtoken", "idtoken", "apikey", "privatekey", "code":
		return true
	}
	return strings.HasSuffix(n, "secret") || strings.HasSuffix(n, "token") || strings.HasSuffix(n, "password")
}

// RedactJSON returns body with the values of secret fields replaced. A body
// that is not JSON is form-decoded if it looks like a form, and otherwise
// replaced entirely: unknown text may hold anything.
func RedactJSON(body []byte) []byte {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil
	}
	if b[0] != '{' && b[0] != '[' {
		if bytes.ContainsRune(b, '=') && !bytes.ContainsAny(b, " <>\n") {
			return redactForm(b)
		}
		return []byte(Redacted + " (non-JSON body)")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return []byte(Redacted + " (unparsable body)")
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return []byte(Redacted)
	}
	return out
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if SecretKey(k) {
				t[k] = Redacted
				continue
			}
			t[k] = redactValue(x)
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	}
	return v
}

func redactForm(b []byte) []byte {
	parts := bytes.Split(b, []byte("&"))
	for i, p := range parts {
		k, _, ok := bytes.Cut(p, []byte("="))
		if ok && SecretKey(string(k)) {
			parts[i] = append(append([]byte(nil), k...), "="+Redacted...)
		}
	}
	return bytes.Join(parts, []byte("&"))
}

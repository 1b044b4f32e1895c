package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
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

// Secrets lists every secret value a request carries, longest first: the
// values of its credential headers (and the credential after a scheme such
// as Bearer), the secret-named fields of a JSON or form body (at any depth),
// and secret-named query parameters, each also as URL-encoded when that
// differs. A server may echo any of them, in any field.
func Secrets(req Request) []string {
	seen := map[string]bool{}
	add := func(v string) {
		if v = strings.TrimSpace(v); v == "" {
			return
		}
		seen[v] = true
		if e := url.QueryEscape(v); e != v {
			seen[e] = true
		}
	}
	for k, vs := range req.Header {
		if !secretHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		for _, v := range vs {
			add(v)
			if _, cred, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
				add(cred) // "Bearer <token>", "Basic <credentials>"
			}
		}
	}
	if u, err := url.Parse(req.URL); err == nil {
		addSecretValues(u.Query(), add)
	}
	if b := bytes.TrimSpace(req.Body); len(b) > 0 {
		if b[0] == '{' || b[0] == '[' {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			var v any
			if d.Decode(&v) == nil {
				secretLeaves(v, false, add)
			}
		} else if form, err := url.ParseQuery(string(b)); err == nil {
			addSecretValues(form, add)
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	// Longest first: a secret that contains another is replaced whole.
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return out
}

func addSecretValues(vals url.Values, add func(string)) {
	for k, vs := range vals {
		if SecretKey(k) {
			for _, v := range vs {
				add(v)
			}
		}
	}
}

// secretLeaves calls add with every scalar under a secret-named key.
func secretLeaves(v any, secret bool, add func(string)) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			secretLeaves(x, secret || SecretKey(k), add)
		}
	case []any:
		for _, x := range t {
			secretLeaves(x, secret, add)
		}
	case string:
		if secret {
			add(t)
		}
	case json.Number:
		if secret {
			add(t.String())
		}
	}
}

// ScrubHeader returns h with every credential header redacted (RedactHeader)
// and every secret replaced in the other values.
func ScrubHeader(h http.Header, secrets ...string) http.Header {
	out := RedactHeader(h)
	for k, vs := range out {
		for i, v := range vs {
			vs[i] = Scrub(v, secrets...)
		}
		out[k] = vs
	}
	return out
}

// RedactJSON returns body with the values of secret fields replaced, and
// every given secret replaced wherever else it shows up (in any value or
// field name). A body that is not JSON is form-decoded if it looks like a
// form, and otherwise replaced entirely: unknown text may hold anything.
func RedactJSON(body []byte, secrets ...string) []byte {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil
	}
	if b[0] != '{' && b[0] != '[' {
		if bytes.ContainsRune(b, '=') && !bytes.ContainsAny(b, " <>\n") {
			return redactForm(b, secrets)
		}
		return []byte(Redacted + " (non-JSON body)")
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return []byte(Redacted + " (unparsable body)")
	}
	out, err := json.Marshal(redactValue(v, secrets))
	if err != nil {
		return []byte(Redacted)
	}
	return out
}

func redactValue(v any, secrets []string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if sk := Scrub(k, secrets...); sk != k {
				delete(t, k)
				k = sk
			}
			if SecretKey(k) {
				t[k] = Redacted
				continue
			}
			t[k] = redactValue(x, secrets)
		}
	case []any:
		for i := range t {
			t[i] = redactValue(t[i], secrets)
		}
	case string:
		return Scrub(t, secrets...)
	}
	return v
}

func redactForm(b []byte, secrets []string) []byte {
	parts := bytes.Split(b, []byte("&"))
	for i, p := range parts {
		k, _, ok := bytes.Cut(p, []byte("="))
		if ok && SecretKey(string(k)) {
			parts[i] = append(append([]byte(nil), k...), "="+Redacted...)
			continue
		}
		parts[i] = []byte(Scrub(string(p), secrets...))
	}
	return bytes.Join(parts, []byte("&"))
}

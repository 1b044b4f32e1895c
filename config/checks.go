package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Value checks shared by the decoder (which knows the line) and Validate
// (which checks a Config however it was built). Messages never echo a URL:
// one pasted with user:password@ in it would leak the password.

// checkRESTURL accepts an absolute http(s) URL and returns it without a
// trailing slash, so clients can append "/path".
func checkRESTURL(s string) (string, error) {
	if s == "" {
		return "", errors.New("must not be empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("is not a valid URL")
	}
	if u.User != nil {
		return "", errors.New("must not contain credentials (user:password@); secrets belong in 0600 files or environment variables")
	}
	switch u.Scheme {
	case "https", "http":
	case "":
		return "", errors.New("must be an absolute URL such as https://api.example.com/v1")
	default:
		return "", fmt.Errorf("scheme %q is not supported: use https:// (or http:// for a local sandbox)", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return "", errors.New("has no host")
	}
	// The bearer token, the API key and the HMAC signature go with every
	// request: in cleartext only where they never leave the machine.
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", errors.New(cleartextOnlyLoopback("http", "https"))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", errors.New("must not have a query or fragment")
	}
	return strings.TrimRight(s, "/"), nil
}

// checkBrokerURL accepts the schemes paho dials.
func checkBrokerURL(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials (user:password@); the broker authenticates with cert_file and key_file")
	}
	switch u.Scheme {
	case "tcp", "ssl", "mqtt", "mqtts":
		if u.Host == "" || u.Opaque != "" {
			return errors.New("has no host")
		}
		// paho dials u.Host as is: without a port the connection fails late
		// with "missing port in address".
		if u.Port() == "" {
			return fmt.Errorf("needs a port, e.g. %s://%s:%s", u.Scheme, u.Hostname(), defaultBrokerPort(u.Scheme))
		}
		if u.Path != "" && u.Path != "/" {
			return errors.New("must not have a path (only ws:// and wss:// do)")
		}
	case "ws", "wss":
		if u.Host == "" || u.Opaque != "" {
			return errors.New("has no host")
		}
	case "":
		return errors.New("must be a URL such as ssl://mqtt.example.com:8883")
	default:
		return fmt.Errorf("scheme %q is not supported: use ssl://, mqtts://, wss:// (TLS) or tcp://, mqtt://, ws://", u.Scheme)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must not have a query or fragment")
	}
	// Client certificates need TLS anyway (Validate says so); a cleartext
	// broker elsewhere would carry the vehicles' VINs and positions across
	// the network for anyone on the path to read or forge.
	if !brokerTLS(s) && !loopback(u.Hostname()) {
		return errors.New(cleartextOnlyLoopback(u.Scheme, tlsScheme(u.Scheme)))
	}
	return nil
}

// loopback reports a host that is this machine: 127.0.0.0/8, ::1 (also as
// an IPv4-mapped address) or the name localhost.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func cleartextOnlyLoopback(scheme, instead string) string {
	return fmt.Sprintf("plain %s:// is only for loopback addresses (127.0.0.1, ::1, localhost): use %s://", scheme, instead)
}

// tlsScheme is the TLS form of a cleartext broker scheme.
func tlsScheme(scheme string) string {
	switch scheme {
	case "ws":
		return "wss"
	case "mqtt":
		return "mqtts"
	}
	return "ssl"
}

func defaultBrokerPort(scheme string) string {
	if scheme == "ssl" || scheme == "mqtts" {
		return "8883"
	}
	return "1883"
}

func brokerTLS(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "ssl", "mqtts", "wss":
		return true
	}
	return false
}

// checkAppID keeps the app id from changing the shape of the topic filter.
func checkAppID(s string) error {
	if strings.ContainsAny(s, "/+#\x00") {
		return errors.New(`must not contain "/", "+", "#" or NUL (it becomes one topic level)`)
	}
	if strings.TrimSpace(s) != s {
		return errors.New("must not start or end with spaces")
	}
	return nil
}

// checkTopicFilter applies MQTT's rules for subscription filters.
func checkTopicFilter(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if strings.ContainsRune(s, 0) {
		return errors.New("must not contain NUL")
	}
	if len(s) > 65535 {
		return errors.New("is too long")
	}
	levels := strings.Split(s, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return errors.New(`"#" must be a whole level and the last one`)
		}
		if strings.Contains(l, "+") && l != "+" {
			return errors.New(`"+" must be a whole level`)
		}
	}
	return nil
}

// checkTopicFilters checks a list of filters: at least one, each valid,
// none twice.
func checkTopicFilters(list []string) error {
	if len(list) == 0 {
		return errors.New("must name at least one filter")
	}
	seen := make(map[string]bool, len(list))
	for i, s := range list {
		if err := checkTopicFilter(s); err != nil {
			if len(list) == 1 {
				return err
			}
			return fmt.Errorf("filter %d (%q): %w", i+1, s, err)
		}
		if seen[s] {
			return fmt.Errorf("filter %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

func checkPollInterval(d time.Duration) error {
	if d < MinPollInterval {
		return fmt.Errorf("must be at least %s (got %s)", MinPollInterval, d)
	}
	return nil
}

func checkJWTVersion(v int64) error {
	if v != 1 && v != 2 {
		return errors.New("must be 1 or 2")
	}
	return nil
}

func checkKeyList(keys []string) error {
	for _, k := range keys {
		if strings.TrimSpace(k) == "" {
			return errors.New("key names must not be empty")
		}
	}
	return nil
}

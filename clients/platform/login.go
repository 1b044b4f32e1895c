// Package platform holds the Hummingbird MRV API credentials (document
// 003): logging in for an idToken, picking a client and creating its API
// token (shown once), and calling the MRV API with the ApiKey header, where
// a 503 means "could not verify the key right now", never "invalid".
package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// ErrLoginRefused is a login the platform turned down (400/401/403).
var ErrLoginRefused = errors.New("login refused: check the email and password")

// ErrSessionRefused is an idToken the platform no longer accepts.
var ErrSessionRefused = errors.New("the platform refused the login session: log in again")

// ClientInfo is a platform client (organisation) the user belongs to.
type ClientInfo struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// Login exchanges email and password for an idToken.
func Login(ctx context.Context, hc *httpapi.Client, loginURL, email, password string) (string, error) {
	if email == "" || password == "" {
		return "", errors.New("login: email and password are required")
	}
	body, err := json.Marshal(struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	resp, err := client(hc).Do(ctx, httpapi.Request{
		Method: http.MethodPost, URL: join(loginURL, "login"), Body: body, ContentType: "application/json",
	})
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	switch {
	case resp.Status == http.StatusBadRequest || resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return "", fmt.Errorf("login (HTTP %d): %w", resp.Status, ErrLoginRefused)
	case !ok(resp):
		return "", fmt.Errorf("login: %w", apiError(resp, password))
	}
	var out struct {
		IDToken string `json:"idToken"`
	}
	if !resp.JSON() || json.Unmarshal(resp.Body, &out) != nil {
		return "", fmt.Errorf("login: %w", httpapi.Unexpected(resp))
	}
	if out.IDToken == "" {
		return "", errors.New("login: the answer carried no idToken")
	}
	return out.IDToken, nil
}

// ListClients lists the clients the logged-in user belongs to.
func ListClients(ctx context.Context, hc *httpapi.Client, loginURL, idToken string) ([]ClientInfo, error) {
	resp, err := getWithSession(ctx, hc, join(loginURL, "clients"), idToken)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	var out []ClientInfo
	if !resp.JSON() || json.Unmarshal(resp.Body, &out) != nil {
		return nil, fmt.Errorf("list clients: %w", httpapi.Unexpected(resp))
	}
	for i := range out {
		out[i].Name = termsafe.String(out[i].Name)
		out[i].UID = termsafe.String(out[i].UID)
	}
	return out, nil
}

// CreateAPIToken creates a new MRV API token for the client, which
// invalidates the previous one at once. The platform shows it only this
// once: save it (SaveNewToken) before anything else can fail.
func CreateAPIToken(ctx context.Context, hc *httpapi.Client, loginURL, idToken, clientUID string) (string, error) {
	if clientUID == "" {
		return "", errors.New("create API token: no client chosen")
	}
	resp, err := getWithSession(ctx, hc, join(loginURL, "clients", url.PathEscape(clientUID), "api-token"), idToken)
	if err != nil {
		return "", fmt.Errorf("create API token for client %s: %w", termsafe.String(clientUID), err)
	}
	var out struct {
		Token     string `json:"token"`
		ClientUID string `json:"client_uid"`
	}
	if !resp.JSON() || json.Unmarshal(resp.Body, &out) != nil {
		return "", fmt.Errorf("create API token for client %s: %w", termsafe.String(clientUID), httpapi.Unexpected(resp))
	}
	token := strings.TrimSpace(out.Token)
	if token == "" || !headerSafe(token) {
		return "", fmt.Errorf("create API token for client %s: the answer carried no usable token", termsafe.String(clientUID))
	}
	return token, nil
}

// getWithSession is a GET authorised by the login idToken, as the document's
// examples send it (Content-Type included).
func getWithSession(ctx context.Context, hc *httpapi.Client, u, idToken string) (*httpapi.Response, error) {
	if idToken == "" {
		return nil, errors.New("not logged in")
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+idToken)
	resp, err := client(hc).Do(ctx, httpapi.Request{Method: http.MethodGet, URL: u, Header: h, ContentType: "application/json"})
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		return nil, fmt.Errorf("HTTP %d: %w", resp.Status, ErrSessionRefused)
	case !ok(resp):
		return nil, apiError(resp, idToken)
	}
	return resp, nil
}

func client(hc *httpapi.Client) *httpapi.Client {
	if hc == nil {
		return httpapi.New(httpapi.Options{})
	}
	return hc
}

func join(base string, parts ...string) string {
	return strings.TrimRight(base, "/") + "/" + strings.Join(parts, "/")
}

func ok(resp *httpapi.Response) bool { return resp.Status >= 200 && resp.Status <= 299 }

// headerSafe reports whether s can travel in a header unchanged.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// maxMessage bounds a server's message in our errors.
const maxMessage = 300

// apiError explains a failed answer: the server's own message when it sent
// one as JSON (sanitized, bounded, and with the given secrets and anything
// shaped like a JWT blanked out in case the server echoed them), else
// "unexpected response".
func apiError(resp *httpapi.Response, secrets ...string) error {
	if resp.JSON() {
		var m map[string]any
		if json.Unmarshal(resp.Body, &m) == nil {
			for _, k := range []string{"detail", "message", "error", "error_description", "title"} {
				if s, isStr := m[k].(string); isStr && strings.TrimSpace(s) != "" {
					s = httpapi.Scrub(s, secrets...)
					s = termsafe.Clip(termsafe.String(strings.TrimSpace(s)), maxMessage)
					return fmt.Errorf("HTTP %d: %s", resp.Status, s)
				}
			}
		}
	}
	return httpapi.Unexpected(resp)
}

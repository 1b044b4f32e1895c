package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// ErrNeedsOdometer is returned, without a request, when a Mercedes-Benz
// vehicle is added without its odometer reading: the clearance procedure
// compares it with the car's own.
var ErrNeedsOdometer = errors.New("mercedes-benz needs the current odometer reading (control measure)")

// ErrorItem is one entry of the API's {"errors":[...]} body. Its strings are
// sanitized for the terminal.
type ErrorItem struct {
	Title  string `json:"title"`
	Source string `json:"source"`
	Detail string `json:"detail"`
}

// APIError is an error response in the API's own JSON shape.
type APIError struct {
	Status int
	Errors []ErrorItem
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if len(e.Errors) == 0 {
		if t := http.StatusText(e.Status); t != "" {
			b.WriteString(" " + t)
		}
	}
	for i, it := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(it.text())
	}
	return b.String()
}

func (it ErrorItem) text() string {
	var parts []string
	if it.Title != "" {
		parts = append(parts, it.Title)
	}
	if it.Detail != "" && !strings.EqualFold(it.Detail, it.Title) {
		parts = append(parts, it.Detail)
	}
	s := strings.Join(parts, ": ")
	if it.Source != "" {
		s += " (" + it.Source + ")"
	}
	return s
}

// Detail returns the first non-empty detail (or title), for one-line display.
func (e *APIError) Detail() string {
	for _, it := range e.Errors {
		if it.Detail != "" {
			return it.Detail
		}
	}
	for _, it := range e.Errors {
		if it.Title != "" {
			return it.Title
		}
	}
	return ""
}

// IsConflict reports a 409 from DELETE: the clearance is already removed or
// is in transition.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsUnsupported reports a 422 from DELETE: cancelling is not supported for
// this vehicle (or not yet possible).
func IsUnsupported(err error) bool { return hasStatus(err, http.StatusUnprocessableEntity) }

// IsRateLimited reports a 429 that outlasted the client's retries.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// IsUnauthorized reports a 401 or 403, or an OAuth2 error that refuses the
// client whatever the status (RFC 6749 lets a token endpoint answer
// invalid_client with a 400): the credentials were refused.
func IsUnauthorized(err error) bool {
	if hasStatus(err, http.StatusUnauthorized) || hasStatus(err, http.StatusForbidden) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) && len(ae.Errors) > 0 {
		switch ae.Errors[0].Title {
		case "invalid_client", "unauthorized_client", "invalid_grant":
			return true
		}
	}
	return false
}

func hasStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// maxText bounds every string taken from an error body.
const maxText = 300

// responseError turns a non-2xx response into an *APIError when the body is
// one of the shapes High Mobility answers errors with: {"errors":[...]}, a
// bare array [{title, source, detail}] (422 on /auth_tokens, for one), or
// OAuth2's {"error","error_description"} (/access_tokens); anything else
// becomes httpapi's "unexpected response". Every secret passed in is removed
// from the text, as is anything shaped like a JWT.
func responseError(resp *httpapi.Response, secrets ...string) error {
	if !resp.JSON() {
		return httpapi.Unexpected(resp)
	}
	items, ok := errorItems(resp.Body)
	if !ok || len(items) == 0 {
		return httpapi.Unexpected(resp)
	}
	if len(items) > 10 {
		items = items[:10]
	}
	out := make([]ErrorItem, len(items))
	for i, it := range items {
		out[i] = ErrorItem{
			Title:  scrub(it.Title, secrets),
			Source: scrub(it.Source, secrets),
			Detail: scrub(it.Detail, secrets),
		}
	}
	return &APIError{Status: resp.Status, Errors: out}
}

// errorItems reads the error entries of a JSON error body, whichever of the
// three shapes it has. Entries with no text at all are dropped.
func errorItems(body []byte) ([]ErrorItem, bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, false
	}
	var items []ErrorItem
	if trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, false
		}
	} else {
		var obj struct {
			Errors           []ErrorItem `json:"errors"`
			Error            string      `json:"error"`
			ErrorDescription string      `json:"error_description"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, false
		}
		items = obj.Errors
		if len(items) == 0 && (obj.Error != "" || obj.ErrorDescription != "") {
			items = []ErrorItem{{Title: obj.Error, Detail: obj.ErrorDescription}}
		}
	}
	kept := items[:0]
	for _, it := range items {
		if it.Title != "" || it.Detail != "" || it.Source != "" {
			kept = append(kept, it)
		}
	}
	return kept, true
}

func scrub(s string, secrets []string) string {
	s = httpapi.Scrub(s, secrets...)
	return termsafe.Clip(strings.TrimSpace(termsafe.String(s)), maxText)
}

// safe makes a string from the network fit for an error message.
func safe(s string) string { return termsafe.Clip(termsafe.String(s), maxText) }

package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/fleetdeck/fleetdeck/clients/internal/httpapi"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The documented error details of POST /vehicle-command. A *DetailError
// unwraps to one of them, so errors.Is(err, ErrConfirmationUsed) works.
var (
	ErrInvalidVIN          = errors.New("invalid VIN")
	ErrInvalidCommand      = errors.New("invalid command")
	ErrVINNotFound         = errors.New("VIN not found or unauthorized access")
	ErrCommandNotFound     = errors.New("command not found or unauthorized access")
	ErrSignSecretNotFound  = errors.New("sign secret not found")
	ErrSignatureInvalid    = errors.New("X-Signature invalid")
	ErrOEMSend             = errors.New("failed to send command to the OEM")
	ErrOEMInitiate         = errors.New("failed to initiate command with the OEM")
	ErrConfirmationInvalid = errors.New("confirmation invalid")
	ErrConfirmationUsed    = errors.New("confirmation already used")
)

// ErrUnauthorized is a 401/403 that carried no documented detail: the
// bearer token was refused.
var ErrUnauthorized = errors.New("the command API refused the token")

// ErrCodeFormat is returned, before anything is sent, for a confirmation code
// that is not exactly six digits.
var ErrCodeFormat = errors.New("confirmation code must be exactly 6 digits")

// DetailError is an error answer of the command API. Kind is the sentinel
// of a documented detail (nil for one we do not know); Detail is the
// server's text, sanitized; Hint says what the operator can do about it.
type DetailError struct {
	HTTPStatus int
	Kind       error
	Detail     string
	Hint       string
}

func (e *DetailError) Error() string {
	var b strings.Builder
	b.WriteString("command API")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Kind != nil:
		b.WriteString(": " + e.Kind.Error())
	}
	if e.Hint != "" {
		b.WriteString(" — " + e.Hint)
	}
	return b.String()
}

func (e *DetailError) Unwrap() error { return e.Kind }

// RestartsFlow reports whether err means the confirmation code is spent or
// wrong, so the two-step flow must start again without a code.
func RestartsFlow(err error) bool {
	return errors.Is(err, ErrConfirmationInvalid) || errors.Is(err, ErrConfirmationUsed)
}

const secretHint = "check sign_secret_file / FLEETDECK_COMMANDS_SIGN_SECRET: it must be the sign secret mobway gave for this application, with no stray whitespace"

// details maps each documented detail, normalized, to its sentinel and hint.
var details = []struct {
	text string // normalized: lower case, no trailing period
	kind error
	hint string
}{
	{"invalid vin. vin must be a string. at least one vin is required", ErrInvalidVIN,
		"the request carried no usable VIN: give the vehicle's VIN"},
	{"invalid command. command must be a string. at least one command is required", ErrInvalidCommand,
		"the request carried no usable command: name one, e.g. lock_door or diagnostics"},
	{"vin not found or unauthorized access", ErrVINNotFound,
		"this VIN is not associated with your company, or its ownership type does not allow commands: check the VIN"},
	{"command not found or unauthorized access", ErrCommandNotFound,
		"this command is not available for this vehicle (OEM restriction or not in your package plan): pick another command or ask mobway"},
	{"sign-secret not found", ErrSignSecretNotFound,
		"the signature matches no application of your company: " + secretHint},
	{"x-signature invalid", ErrSignatureInvalid,
		"the signature does not match the request: " + secretHint},
	{"failed to send command to the oem", ErrOEMSend,
		"the manufacturer's system did not take the command: try again in a moment"},
	{"failed to initiate command with the oem or retrieve status url", ErrOEMInitiate,
		"the manufacturer's system did not start the command: try again later, and contact mobway if it persists"},
	{"confirmation invalid", ErrConfirmationInvalid,
		"the code is not valid: send the command again without a code to get a new one"},
	{"confirmation already used", ErrConfirmationUsed,
		"each code works once: send the command again without a code to get a new one"},
}

// Hint says what to do about a documented error detail, such as the detail
// of a command that ended in Error; "" when the detail is not documented.
func Hint(detail string) string {
	_, hint := matchDetail(detail)
	return hint
}

// matchDetail finds the documented detail text refers to, tolerating case,
// surrounding space and a missing or extra trailing period; the two
// "Invalid …" details are matched on their first sentence, since the rest is
// prose the server may reword.
func matchDetail(text string) (kind error, hint string) {
	n := strings.ToLower(strings.Join(strings.Fields(text), " "))
	n = strings.TrimRight(n, ". ")
	for _, d := range details {
		if n == d.text {
			return d.kind, d.hint
		}
	}
	for _, d := range details[:2] {
		first, _, _ := strings.Cut(d.text, ".")
		if n == first || strings.HasPrefix(n, first+".") {
			return d.kind, d.hint
		}
	}
	return nil, ""
}

// maxDetail bounds a server's error text in our errors.
const maxDetail = 300

// detailError builds the error for an answer that carries "detail", with
// secrets blanked out should the server echo one. It returns nil when the
// body has no usable detail.
func detailError(status int, raw json.RawMessage, secrets ...string) *DetailError {
	text := detailString(raw)
	if text == "" {
		return nil
	}
	kind, hint := matchDetail(text)
	detail := termsafe.Clip(termsafe.String(httpapi.Scrub(text, secrets...)), maxDetail)
	return &DetailError{HTTPStatus: status, Kind: kind, Detail: detail, Hint: hint}
}

// detailString reads "detail" as mobway writes it (a string) or as a
// FastAPI validation error does (a list of {msg, loc}).
func detailString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var items []struct {
		Msg string `json:"msg"`
		Loc []any  `json:"loc"`
	}
	if json.Unmarshal(raw, &items) == nil {
		var parts []string
		for _, it := range items {
			if it.Msg == "" {
				continue
			}
			if len(it.Loc) > 0 {
				parts = append(parts, fmt.Sprint(it.Loc[len(it.Loc)-1])+": "+it.Msg)
			} else {
				parts = append(parts, it.Msg)
			}
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

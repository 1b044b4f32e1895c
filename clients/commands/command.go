// Package commands is the client for mobway's remote vehicle commands
// (document 002): HMAC-signed POST /vehicle-command with the two-step
// confirmation for ignition commands, and GET /vehicle-command/{id} to
// follow a command to its end.
package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// KnownCommands are the commands the documents name. mobway may offer
// others for some vehicles: Send accepts any non-empty command.
var KnownCommands = []string{
	"lock_door", "unlock_door", "location", "diagnostics", "enable_ignition", "disable_ignition",
}

// NeedsConfirmation reports whether command runs only after the operator
// resends it with the code of the first step. The server decides in the
// end: Send handles a "Confirmation" answer for any command.
func NeedsConfirmation(command string) bool {
	return command == "enable_ignition" || command == "disable_ignition"
}

// Status is a command's state as mobway reports it.
type Status string

// The documented statuses. Unknown values are kept as the server sent them.
const (
	StatusPending      Status = "Pending"
	StatusSuccess      Status = "Success"
	StatusError        Status = "Error"
	StatusConfirmation Status = "Confirmation"
)

// parseStatus maps the documented statuses whatever their case and keeps
// anything else verbatim (sanitized).
func parseStatus(s string) Status {
	s = strings.TrimSpace(s)
	for _, known := range []Status{StatusPending, StatusSuccess, StatusError, StatusConfirmation} {
		if strings.EqualFold(s, string(known)) {
			return known
		}
	}
	return Status(termsafe.String(s))
}

// SendResult is what Send got back: exactly one of the two is set.
type SendResult struct {
	Confirmation *Confirmation `json:"confirmation,omitempty"` // first step of an ignition command
	Command      *Command      `json:"command,omitempty"`      // the command was registered (Pending, or Error)
}

// LogValue keeps the confirmation code out of structured logs.
func (r SendResult) LogValue() slog.Value {
	switch {
	case r.Confirmation != nil:
		return slog.GroupValue(slog.Any("confirmation", *r.Confirmation))
	case r.Command != nil:
		return slog.GroupValue(slog.String("id", r.Command.ID), slog.String("status", string(r.Command.Status)))
	}
	return slog.StringValue("none")
}

// Confirmation is the first step of a two-step command: nothing ran yet.
// Code is shown to the operator, who types it back; it is data for the UI
// and never goes into logs, so String, GoString and LogValue leave it out.
// JSON keeps it: `fleetdeck command send --json` prints it by design.
type Confirmation struct {
	VIN     string `json:"vin"`
	Command string `json:"command"`
	Code    string `json:"code"`
	Message string `json:"message"` // Portuguese, as the platform wrote it (sanitized)
}

func (c Confirmation) String() string {
	return fmt.Sprintf("confirmation required for %s on %s (code withheld): %s", c.Command, c.VIN, c.Message)
}

func (c Confirmation) GoString() string {
	return fmt.Sprintf("commands.Confirmation{VIN:%q, Command:%q, Code:\"[REDACTED]\", Message:%q}", c.VIN, c.Command, c.Message)
}

// LogValue keeps the code out of structured logs (slog's JSON handler would
// otherwise marshal it).
func (c Confirmation) LogValue() slog.Value {
	return slog.GroupValue(slog.String("vin", c.VIN), slog.String("command", c.Command),
		slog.String("code", "[REDACTED]"), slog.String("message", c.Message))
}

// Command is a registered command and its state. Created and Updated are
// instants converted from mobway's UTC-3 wall clock to the local zone.
type Command struct {
	ID      string          `json:"id"`
	VIN     string          `json:"vin"`
	Command string          `json:"command"`
	Status  Status          `json:"status"`
	Detail  json.RawMessage `json:"detail,omitempty"` // error text, or vehicle data on success; raw from the server
	Created time.Time       `json:"created,omitzero"`
	Updated time.Time       `json:"updated,omitzero"`
}

// Terminal reports whether the command has ended.
func (c Command) Terminal() bool {
	return c.Status == StatusSuccess || c.Status == StatusError
}

// maxDetailText bounds DetailText: vehicle data can be large and the text
// is meant for one pane.
const maxDetailText = 4096

// DetailText renders Detail for a terminal: a JSON string as its text, an
// object or array as compact JSON, null, nothing or an empty object (what
// mobway sends while a command is Pending, or when it has nothing to add)
// as "". Always sanitized.
func (c Command) DetailText() string {
	d := bytes.TrimSpace(c.Detail)
	if len(d) == 0 || bytes.Equal(d, []byte("null")) || emptyObject(d) {
		return ""
	}
	var s string
	if d[0] == '"' && json.Unmarshal(d, &s) == nil {
		return termsafe.Clip(termsafe.String(s), maxDetailText)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, d) == nil {
		return termsafe.Clip(termsafe.String(buf.String()), maxDetailText)
	}
	return termsafe.Clip(termsafe.String(string(d)), maxDetailText)
}

func emptyObject(d []byte) bool {
	if len(d) < 2 || d[0] != '{' || d[len(d)-1] != '}' {
		return false
	}
	return len(bytes.TrimSpace(d[1:len(d)-1])) == 0
}

// mobwayZone is the zone of mobway's "YYYY-MM-DD HH:MM:SS" timestamps.
var mobwayZone = time.FixedZone("UTC-3", -3*3600)

// parseTime reads a mobway timestamp. The documented form has no zone and is
// UTC-3; a value that carries its own offset is taken as written. An
// unreadable value gives the zero time rather than failing the response.
func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Local()
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, mobwayZone); err == nil {
			return t.Local()
		}
	}
	return time.Time{}
}

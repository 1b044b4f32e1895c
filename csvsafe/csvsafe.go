// Package csvsafe makes values safe for a CSV cell: the CLI's --csv output
// and the console's export write the same vehicles and journal, from the
// network and from a journal that may have been edited by hand, and a file
// is as likely to be cat'ed in a terminal as opened in a spreadsheet.
package csvsafe

import (
	"time"

	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Cell returns s made terminal-safe (package termsafe) and, when a
// spreadsheet would read it as a formula (it starts with = + - @, or a tab
// or carriage return), with a leading ' as OWASP advises, so that it cannot
// run in one. Controls are stripped first: "\x1b[0m=1" is a formula once
// the sequence is gone.
func Cell(s string) string {
	s = termsafe.String(s)
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// Time is t in a CSV cell: RFC 3339 in UTC, "" when unknown, so a
// spreadsheet or a script reads the same instant whatever the zone.
func Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

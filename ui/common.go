package ui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/keymap"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// Common is what every component shares (soft-serve's pattern): the
// session's context, styles, keys, logger and clock.
type Common struct {
	Ctx    context.Context
	Styles *Styles
	Keys   *keymap.KeyMap
	Logger *slog.Logger
	Now    func() time.Time
	// ReadOnly hides and refuses every mutating action.
	ReadOnly bool
	// Zone is the operator's time zone (nil: time.Local); tests pin it.
	Zone *time.Location
	// timer replaces after in tests (nil: real timers).
	timer func(d time.Duration, msg tea.Msg) tea.Cmd

	// What every confirmation shows about a vehicle (facts.go): its
	// clearance from the Clearance list, its live state from the feed, and
	// whether it is immobilised. The root sets them; nil means unknown.
	lookup func(vin string) (fleet.Vehicle, bool)
	live   TelemetrySource
	immob  *immobilisedSet
	// clip receives a copy's OSC 52 sequence: the session's output (nil:
	// copying is not possible).
	clip io.Writer
	// marks are the vehicles marked for a bulk action, in every view.
	marks *markSet
	// sandbox: the console runs on a sandbox (the add form proposes the
	// sandbox brand for a sandbox VIN).
	sandbox bool
	// exportDir: "" lets an export write any path the operator names (the
	// local console); set (an SSH session), files go there, by name only.
	exportDir string
}

func (c *Common) zone() *time.Location {
	if c.Zone == nil {
		return time.Local
	}
	return c.Zone
}

// localTime renders t in the operator's zone.
func (c *Common) localTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.zone()).Format("2006-01-02 15:04")
}

// component is one pane of the console: a tea.Model that draws itself into
// the size it is given and tells help which keys it listens to.
type component interface {
	tea.Model
	help.KeyMap
	SetSize(width, height int)
	// Capturing reports whether the pane is taking text (a filter, a form,
	// a code): global single-letter keys then belong to it.
	Capturing() bool
}

// paneID names the pane a request came from, so its answer goes back there.
type paneID uint8

const (
	paneClearance paneID = iota
	paneTelemetry
	paneCommands
	paneMap
	paneCount
	// paneModal addresses the console-wide overlay on top (its timers).
	paneModal = paneCount
	// paneRoot addresses the root itself: the journal watch, approval
	// requests, immobilised vehicles.
	paneRoot = paneModal + 1
)

func (p paneID) String() string {
	switch p {
	case paneClearance:
		return "Clearance"
	case paneTelemetry:
		return "Telemetry"
	case paneCommands:
		return "Commands"
	case paneMap:
		return "Map"
	}
	return "?"
}

// envelope carries an asynchronous result back to the pane that asked
// (gh-dash's SectionMsg). seq is the request's number: a pane drops a reply
// older than the newest one it has applied.
type envelope struct {
	pane paneID
	seq  uint64
	msg  tea.Msg
}

// Timeouts for the blocking calls behind each kind of request.
const (
	listTimeout    = 30 * time.Second
	mutateTimeout  = 30 * time.Second
	commandTimeout = 30 * time.Second
)

// call runs fn on Bubble Tea's command goroutine with a bounded context and
// wraps its result for pane.
func (c *Common) call(pane paneID, seq uint64, timeout time.Duration, fn func(ctx context.Context) tea.Msg) tea.Cmd {
	parent := c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		return envelope{pane: pane, seq: seq, msg: fn(ctx)}
	}
}

// after delivers msg once d has passed, or nothing if the session ends
// first (unlike tea.Tick, whose goroutine outlives the program).
func (c *Common) after(d time.Duration, msg tea.Msg) tea.Cmd {
	if c.timer != nil {
		return c.timer(d, msg)
	}
	ctx := c.Ctx
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return msg
		case <-ctx.Done():
			return nil
		}
	}
}

// provider names a service whose credentials the status bar reports.
type provider uint8

const (
	providerFleet provider = iota
	providerCommands
)

// providerMsg tells the status bar how the last call to a provider went.
type providerMsg struct {
	provider provider
	err      error // nil: the call succeeded
	invalid  bool  // the credentials were refused
}

func reportProvider(provider provider, err error, invalid bool) tea.Cmd {
	return func() tea.Msg { return providerMsg{provider: provider, err: err, invalid: invalid} }
}

// errorText renders err for one line of the terminal.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	if err == context.DeadlineExceeded || strings.HasSuffix(err.Error(), context.DeadlineExceeded.Error()) {
		return "timed out: " + termsafe.String(err.Error())
	}
	return termsafe.String(err.Error())
}

// pad truncates plain or styled s to width w cells and pads it with spaces
// to exactly w.
func pad(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := cellWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = cellWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// padLeft is pad with the text aligned right.
func padLeft(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := cellWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return strings.Repeat(" ", w-sw) + s
}

// truncate shortens s to at most w cells.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if cellWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fit makes s exactly w cells wide and h lines high: the layout depends on
// it, and a line one cell too wide would wrap and push the whole screen.
func fit(s string, w, h int) string {
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	b.Grow(max((w+16)*h, len(s)+w+2*h))
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(pad(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	return b.String()
}

// wrapText word-wraps plain text to w cells and returns at most max lines.
func wrapText(s string, w, max int) []string {
	if w <= 0 || max <= 0 {
		return nil
	}
	lines := strings.Split(ansi.Wrap(s, w, " "), "\n")
	if len(lines) > max {
		lines = lines[:max]
		lines[max-1] = truncate(lines[max-1]+" …", w)
	}
	return lines
}

// age renders how long ago t was, coarsely: "4s ago", "3m ago", "2h ago".
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return shortDuration(d) + " ago"
}

// shortDuration renders d with one unit ("4s", "3m", "2h", "5d").
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// countdown renders a remaining time the status bar way: "4m12s", "1h05m".
func countdown(d time.Duration) string {
	if d <= 0 {
		return "expired"
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// abbrev shortens an identifier to its first n characters and an ellipsis.
func abbrev(s string, n int) string {
	if ansi.StringWidth(s) <= n {
		return s
	}
	return ansi.Truncate(s, n+1, "…")
}

// clamp keeps v within [lo, hi] (lo wins when hi < lo).
func clamp(v, lo, hi int) int {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}

// styleInput puts a text input on the session's renderer with a cursor that
// does not blink (a blinking cursor would redraw the screen twice a second).
func styleInput(ti *textinput.Model, st *Styles) {
	n := st.Renderer().NewStyle
	ti.PromptStyle = n().Foreground(st.col.accent)
	ti.TextStyle = n()
	ti.PlaceholderStyle = n().Foreground(st.col.dim)
	ti.CompletionStyle = n().Foreground(st.col.dim)
	ti.Cursor.Style = n().Reverse(true)
	ti.Cursor.TextStyle = n()
	ti.Cursor.SetMode(cursor.CursorStatic)
}

// rule is title followed by a horizontal line, exactly w cells wide.
func rule(title string, w int) string {
	title = truncate(title, w)
	return title + strings.Repeat("─", max(w-ansi.StringWidth(title), 0))
}

package ui

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/theme"
)

func profileRenderer(p termenv.Profile, dark bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(dark)
	return r
}

var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// sgrParams lists every SGR parameter set in s ("1", "97", "44", …).
func sgrParams(s string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Split(m[1], ";")...)
	}
	return out
}

// On TERM=xterm (16 colours) the selected row has a background a dark
// terminal shows (blue, not black), and canceling and rejected differ.
func TestSixteenColours(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.fleet.vehicles[3].Status = "canceling"
	e.opts.Renderer = profileRenderer(termenv.ANSI, true)
	m := started(t, e, 80, 24)
	v := m.View()
	sel := sgrParams(rowWith(v, "▸ 1FTFW1ET5DFC10312"))
	if !slices.Contains(sel, "44") || slices.Contains(sel, "40") {
		t.Fatalf("selected row SGR %v: want background 44 (blue), never 40 (black)", sel)
	}
	canceling, rejected := sgrParams(rowWith(v, "WVWZZZ1KZAW000001")), sgrParams(rowWith(v, "VF1AB000123456789"))
	if !slices.Contains(canceling, "95") || !slices.Contains(rejected, "91") {
		t.Fatalf("canceling %v, rejected %v: want 95 (magenta) and 91 (red)", canceling, rejected)
	}
}

// Styles belong to each session's renderer: two sessions, two profiles,
// each drawn for its own terminal.
func TestStylesArePerRenderer(t *testing.T) {
	t.Parallel()
	a, b := newEnv(), newEnv()
	a.opts.Renderer = profileRenderer(termenv.TrueColor, true)
	b.opts.Renderer = profileRenderer(termenv.ANSI, true)
	va, vb := started(t, a, 80, 24).View(), started(t, b, 80, 24).View()
	if !strings.Contains(va, "48;2;") || strings.Contains(vb, "48;2;") || !slices.Contains(sgrParams(vb), "44") {
		t.Fatal("a true-colour session and a 16-colour one must each get their own colours")
	}
}

func TestThemeFromOptions(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Renderer = profileRenderer(termenv.ANSI, true)
	e.opts.Theme = theme.Spec{Name: theme.HighContrast, Colors: map[theme.Role]string{theme.SelectedBg: "1"}}
	sel := sgrParams(rowWith(started(t, e, 80, 24).View(), "▸ 1FTFW1ET5DFC10312"))
	if !slices.Contains(sel, "41") || !slices.Contains(sel, "30") {
		t.Fatalf("selected row SGR %v: want the override's red background and high-contrast's black text", sel)
	}
	e.opts.Theme = theme.Spec{Name: "neon"}
	if _, err := New(t.Context(), e.opts); err == nil || !strings.Contains(err.Error(), `ui: [theme]: theme.name: unknown theme "neon"`) {
		t.Fatalf("bad theme: %v", err)
	}
}

// Goldens of each theme on a 16-colour terminal (the escape sequences are
// part of the golden), small and large, with a toast and a dialog open so
// that every role shows.
func TestThemeGolden(t *testing.T) {
	for _, name := range []string{theme.Dark, theme.Light, theme.HighContrast} {
		for _, sz := range [][2]int{{80, 24}, {200, 50}} {
			t.Run(name+"_"+fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
				t.Parallel()
				e := newEnv()
				e.fleet.vehicles[3].Status = "canceling"
				e.opts.Renderer = profileRenderer(termenv.ANSI, name != theme.Light)
				e.opts.Theme = theme.Spec{Name: name}
				m := e.model(t)
				m.c.timer = nil
				tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(sz[0], sz[1]))
				t.Cleanup(func() { _ = tm.Quit() })
				waitPlain(t, tm, "8 vehicles", "fleet ok")
				tm.Send(notifyMsg{level: levelError, text: "list vehicles: connection refused"})
				tm.Send(notifyMsg{level: levelInfo, text: "copied the VIN"})
				tm.Send(keyMsg("j"))
				waitPlain(t, tm, "copied the VIN")
				view := finalView(t, tm)
				checkFrame(t, view, sz[0], sz[1])
				teatest.RequireEqualOutput(t, []byte(view))
			})
		}
	}
}

// waitPlain is waitOutput on the output without its escape sequences (a
// coloured "fleet ok" is "fleet " ESC[92m "ok").
func waitPlain(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		plain := ansi.Strip(string(b))
		for _, w := range want {
			if !strings.Contains(plain, w) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// Goldens of the toasts, small and large.
func TestToastGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Parallel()
			e := newEnv()
			m := e.model(t)
			tm := runProgram(t, m, sz[0], sz[1])
			tm.Send(notifyMsg{level: levelError, text: "revoke WBA12345678901234: fleet API (HTTP 409): the vehicle is already in transition; wait until it is revoked before trying again"})
			tm.Send(notifyMsg{level: levelInfo, text: "lock_door → 1FTFW1ET5DFC10312: Success"})
			tm.Send(notifyMsg{level: levelError, text: "list vehicles: timed out"})
			tm.Send(notifyMsg{level: levelError, text: "list vehicles: timed out"})
			tm.Send(keyMsg("2"))
			waitOutput(t, tm, "[2 Telemetry]")
			view := finalView(t, tm)
			checkFrame(t, view, sz[0], sz[1])
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

package ui

import (
	"io"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// NO_COLOR (https://no-color.org) is honoured by the renderer the session
// hands us; the production frame stays unmistakable without colour.
func TestNoColor(t *testing.T) {
	t.Setenv("COLORTERM", "truecolor")
	t.Setenv("TERM", "xterm-256color")
	render := func() string {
		e := newEnv()
		e.opts.Renderer = lipgloss.NewRenderer(io.Discard, termenv.WithTTY(true))
		e.opts.Production, e.opts.Sandbox = true, false
		return started(t, e, 80, 24).View()
	}
	t.Setenv("NO_COLOR", "")
	if !strings.Contains(render(), "\x1b[") {
		t.Fatal("colours expected on a true-colour terminal (the test would prove nothing)")
	}
	t.Setenv("NO_COLOR", "1")
	v := render()
	if strings.Contains(v, "\x1b") {
		t.Fatalf("NO_COLOR set, yet escape sequences drawn:\n%q", v)
	}
	mustContain(t, v, "┏━ PRODUCTION", " PRODUCTION  │")
}

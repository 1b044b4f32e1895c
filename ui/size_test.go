package ui_test

import (
	"context"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/fleetdeck/fleetdeck/ui"
)

// A terminal size comes from the client (an SSH pty-req or window-change
// carries any uint32): the console lays out at most ui.MaxWidth×MaxHeight
// whatever it is told, so a huge size costs what a large screen costs.
func TestHugeWindowIsClamped(t *testing.T) {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	m, err := ui.New(context.Background(), ui.Options{Renderer: r})
	if err != nil {
		t.Fatal(err)
	}
	frame := func(w, h int) (lines, width int) {
		m.Update(tea.WindowSizeMsg{Width: w, Height: h})
		v := m.View()
		for _, l := range strings.Split(v, "\n") {
			width = max(width, ansi.StringWidth(l))
		}
		return strings.Count(v, "\n") + 1, width
	}
	if lines, width := frame(3000, 2000); lines != ui.MaxHeight || width != ui.MaxWidth {
		t.Fatalf("3000×2000 drew %d lines of up to %d cells, want %d×%d", lines, width, ui.MaxWidth, ui.MaxHeight)
	}

	// What the pty-req sent, and a window-change's largest size.
	for _, size := range [][2]int{{math.MaxUint32, math.MaxUint32}, {65535, 65535}, {math.MaxInt, 1}, {1, math.MaxInt}} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		lines, width := frame(size[0], size[1])
		runtime.ReadMemStats(&after)
		if lines > ui.MaxHeight || width > ui.MaxWidth {
			t.Errorf("%d×%d drew %d lines of up to %d cells", size[0], size[1], lines, width)
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		if alloc > 64<<20 {
			t.Errorf("%d×%d: laying out and drawing allocated %d MiB", size[0], size[1], alloc>>20)
		}
		t.Logf("%d×%d: one layout and frame allocated %.1f MiB", size[0], size[1], float64(alloc)/(1<<20))
	}
	// A normal size afterwards is drawn at that size.
	if lines, width := frame(80, 24); lines != 24 || width != 80 {
		t.Errorf("80×24 after the huge sizes drew %d lines of up to %d cells", lines, width)
	}
}

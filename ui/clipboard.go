package ui

import (
	"fmt"
	"io"
	"sync"

	"github.com/aymanbagabas/go-osc52/v2"
	tea "github.com/charmbracelet/bubbletea"
)

// Copying uses OSC 52: an escape sequence that asks the terminal to put
// text on its clipboard. It goes out through the session's own output, so
// over SSH it is the operator's terminal, on the operator's machine, that
// copies. Terminals may refuse it (tmux needs `set -g set-clipboard on`).

// SerialWriter serialises writes to its writer. The program writes its
// frames from the renderer's goroutine and a copy writes its sequence from
// a command's; an SSH channel must not be written from two goroutines at
// once, and a sequence written in the middle of a frame would break the
// frame's own escape sequences. Give the same SerialWriter to
// tea.WithOutput and to Options.Clipboard. (An *os.File needs none: the
// runtime serialises its writes, and Bubble Tea writes a frame in one call.)
type SerialWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSerialWriter wraps w.
func NewSerialWriter(w io.Writer) *SerialWriter { return &SerialWriter{w: w} }

func (s *SerialWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// copy puts text on the operator's clipboard; what names it in the
// notification ("the VIN", "the command id").
func (c *Common) copy(what, text string) tea.Cmd {
	if text == "" {
		return notify(levelInfo, "nothing to copy here")
	}
	w := c.clip
	if w == nil {
		return notify(levelError, "copy "+what+": this console has no terminal output to send the clipboard sequence to")
	}
	return func() tea.Msg {
		if _, err := osc52.New(text).WriteTo(w); err != nil {
			return notifyMsg{level: levelError, text: fmt.Sprintf("copy %s: %v", what, err)}
		}
		return notifyMsg{level: levelInfo, text: "copied " + what + " to the clipboard (OSC 52): " + abbrev(text, 48)}
	}
}

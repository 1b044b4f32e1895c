package ui

// MaxWidth and MaxHeight bound the screen the console lays out, whatever
// size the terminal claims (over SSH the client sends any uint32): beyond
// what xterm and tmux allow, a frame would cost memory for nothing.
const (
	MaxWidth  = 1000
	MaxHeight = 500
)

// ClampSize bounds a terminal size to MaxWidth×MaxHeight.
func ClampSize(w, h int) (int, int) { return min(w, MaxWidth), min(h, MaxHeight) }

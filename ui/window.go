package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/keymap"
)

// window is the scrolling state of a list that may hold many thousands of
// rows: only rows [offset, offset+height) are ever rendered.
type window struct {
	cursor, offset int
	height, count  int
}

func (w *window) setHeight(h int) {
	w.height = max(h, 1)
	w.clampOffset()
}

func (w *window) setCount(n int) {
	w.count = max(n, 0)
	w.cursor = clamp(w.cursor, 0, w.count-1)
	w.clampOffset()
}

func (w *window) move(delta int) {
	if w.count == 0 {
		return
	}
	w.cursor = clamp(w.cursor+delta, 0, w.count-1)
	w.clampOffset()
}

// navigate moves the cursor for the list keys (up, down, page, top,
// bottom) and reports whether msg was one of them.
func (w *window) navigate(msg tea.KeyMsg, k *keymap.KeyMap) bool {
	switch {
	case key.Matches(msg, k.Up):
		w.move(-1)
	case key.Matches(msg, k.Down):
		w.move(1)
	case key.Matches(msg, k.PageUp):
		w.page(-1)
	case key.Matches(msg, k.PageDown):
		w.page(1)
	case key.Matches(msg, k.Top):
		w.top()
	case key.Matches(msg, k.Bottom):
		w.bottom()
	default:
		return false
	}
	return true
}

func (w *window) page(dir int) { w.move(dir * max(w.height-1, 1)) }
func (w *window) top()         { w.move(-w.count) }
func (w *window) bottom()      { w.move(w.count) }

// scroll moves the view without moving the cursor further than needed to
// keep it visible (mouse wheel).
func (w *window) scroll(delta int) {
	w.offset = clamp(w.offset+delta, 0, max(w.count-w.height, 0))
	if w.cursor < w.offset {
		w.cursor = w.offset
	}
	if w.cursor >= w.offset+w.height {
		w.cursor = w.offset + w.height - 1
	}
	w.cursor = clamp(w.cursor, 0, w.count-1)
}

// wheelStep is how many rows one notch of the mouse wheel scrolls.
const wheelStep = 3

// wheel scrolls for a mouse-wheel event and reports whether msg was one.
func (w *window) wheel(msg tea.MouseMsg) bool {
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		w.scroll(-wheelStep)
	case tea.MouseButtonWheelDown:
		w.scroll(wheelStep)
	default:
		return false
	}
	return true
}

// click selects the row drawn at line y of the list (0 = first row).
func (w *window) click(y int) bool {
	i := w.offset + y
	if y < 0 || y >= w.height || i >= w.count {
		return false
	}
	w.cursor = i
	return true
}

func (w *window) set(i int) {
	w.cursor = clamp(i, 0, w.count-1)
	w.clampOffset()
}

func (w *window) clampOffset() {
	if w.cursor < w.offset {
		w.offset = w.cursor
	}
	if w.height > 0 && w.cursor >= w.offset+w.height {
		w.offset = w.cursor - w.height + 1
	}
	w.offset = clamp(w.offset, 0, max(w.count-w.height, 0))
}

// visible returns the half-open range of rows to draw.
func (w *window) visible() (int, int) {
	end := min(w.offset+w.height, w.count)
	return w.offset, max(end, w.offset)
}

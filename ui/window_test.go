package ui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// The bulk list, the timeline and the items view scroll through window.wheel:
// a notch moves the view by wheelStep rows and drags the cursor along only as
// far as it must to stay visible.
func TestWindowWheel(t *testing.T) {
	w := window{}
	w.setHeight(5)
	w.setCount(20)

	if !w.wheel(tea.MouseMsg{Button: tea.MouseButtonWheelDown}) {
		t.Fatal("wheel down not taken")
	}
	if w.offset != wheelStep || w.cursor != wheelStep {
		t.Fatalf("after one notch down: offset %d cursor %d, want %d and %d", w.offset, w.cursor, wheelStep, wheelStep)
	}
	for range 10 {
		w.wheel(tea.MouseMsg{Button: tea.MouseButtonWheelDown})
	}
	if w.offset != 15 || w.cursor != 15 {
		t.Fatalf("at the end: offset %d cursor %d, want 15 and 15", w.offset, w.cursor)
	}
	w.move(4) // cursor on the last row
	w.wheel(tea.MouseMsg{Button: tea.MouseButtonWheelUp})
	if w.offset != 15-wheelStep || w.cursor != 15-wheelStep+4 {
		t.Fatalf("one notch up: offset %d cursor %d, want %d and %d", w.offset, w.cursor, 15-wheelStep, 15-wheelStep+4)
	}
	if w.wheel(tea.MouseMsg{Button: tea.MouseButtonLeft, Action: tea.MouseActionPress}) {
		t.Fatal("a click is not a wheel event")
	}
}

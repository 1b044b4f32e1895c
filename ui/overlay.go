package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// overlay is a modal state: a dialog, a form, a message, a prompt, a detail
// screen. While one is open its host (a pane, or the root for a
// console-wide modal) hands it the keys, draws it instead of its own screen
// (the Commands pane draws its prompts in its flow area), and shows its keys
// in the help line. Each kind is a small model in its own file (confirm.go,
// form.go, message.go, prompt.go, clearance_detail.go); the host knows none
// of their insides.
//
// How to add an overlay to a pane:
//
//  1. Write a type with the methods below in its own file (message.go is
//     the smallest). Give its constructor what it needs to draw and closures
//     for what happens next (onYes, submit, accept, cancel): the closures run
//     inside Update, on the program's goroutine, so they may change the pane
//     and open further overlays on the same stack (they stay above it).
//  2. Return nil from Update to close it, itself to stay open, or another
//     overlay to be replaced by it (a multi-step modal is a chain of them).
//  3. Open it from the pane with m.overlays.open(ov), which sizes it and
//     returns its Init command. Keys, view, help and Capturing then follow
//     from the stack; the pane's Update hands the stack widget messages
//     (huh's, a text input's) and, where the overlay wants them, mouse
//     events.
//
// How to add a console-wide modal (over every pane: a full-screen
// confirmation, a command palette, a full-screen chart): write the overlay
// as above and return openModal(ov) from any pane's Update. The root pushes
// it on its own stack (Model.modals), sizes it to the whole body (the tab
// bar, the status bar and the help line stay: the status bar must always
// show the profile), hands it every key but ctrl+c (and q, when it does not
// capture) until it returns nil, and gives it mouse events in body
// coordinates. Its own timers (a countdown) travel in an envelope addressed
// to paneModal, which the top console-wide overlay receives.
//
// How to add a view (a fourth pane, e.g. Map): write a component (common.go)
// in one file with its model, update and view; compute its geometry in
// SetSize into a layout struct that View and the mouse handler both read
// (View changes nothing); send its asynchronous results in envelopes with
// its own paneID (add one before paneCount in common.go); add it to
// Model.panes in root.go and its width to newRootLayout (layout.go), and
// bind a key to it in keymap (like pane_commands).
type overlay interface {
	Init() tea.Cmd
	// Update handles a message and returns the overlay that stays open: nil
	// closes it, another overlay replaces it.
	Update(msg tea.Msg) (overlay, tea.Cmd)
	// View draws the overlay in the size SetSize gave it. It changes nothing.
	View() string
	SetSize(width, height int)
	ShortHelp() []key.Binding
	// Capturing reports whether the overlay takes every key, the global
	// single letters (q, ?, 1-3) included: text entry, and "any other key
	// aborts" dialogs.
	Capturing() bool
}

// overlays is a host's stack of open overlays; the top one is live. A pane
// usually has at most one or two (a detail screen with a dialog over it).
type overlays struct {
	stack []overlay
	w, h  int
}

// open pushes ov on top, sized for the host, and returns its Init command.
func (o *overlays) open(ov overlay) tea.Cmd {
	ov.SetSize(o.w, o.h)
	o.stack = append(o.stack, ov)
	return ov.Init()
}

// top is the live overlay, or nil when none is open.
func (o *overlays) top() overlay {
	if len(o.stack) == 0 {
		return nil
	}
	return o.stack[len(o.stack)-1]
}

func (o *overlays) active() bool { return len(o.stack) > 0 }

// capturing reports whether the live overlay takes every key.
func (o *overlays) capturing() bool {
	top := o.top()
	return top != nil && top.Capturing()
}

func (o *overlays) setSize(w, h int) {
	o.w, o.h = w, h
	for _, ov := range o.stack {
		ov.SetSize(w, h)
	}
}

// update hands msg to the live overlay and puts what it returns in its
// place. Its closures may have opened overlays above it meanwhile: those
// stay on top.
func (o *overlays) update(msg tea.Msg) tea.Cmd {
	top := o.top()
	if top == nil {
		return nil
	}
	next, cmd := top.Update(msg)
	if next == top {
		return cmd
	}
	for i := len(o.stack) - 1; i >= 0; i-- {
		if o.stack[i] != top {
			continue
		}
		if next == nil {
			o.stack = append(o.stack[:i], o.stack[i+1:]...)
			return cmd
		}
		next.SetSize(o.w, o.h)
		o.stack[i] = next
		return tea.Batch(cmd, next.Init())
	}
	return cmd
}

// shortHelp is the live overlay's keys (nil when none is open).
func (o *overlays) shortHelp() []key.Binding {
	if top := o.top(); top != nil {
		return top.ShortHelp()
	}
	return nil
}

// openModalMsg asks the root to open a console-wide overlay.
type openModalMsg struct{ ov overlay }

// openModal is the command a pane returns to open ov over the whole console.
func openModal(ov overlay) tea.Cmd {
	return func() tea.Msg { return openModalMsg{ov: ov} }
}

// remove takes ov off the stack wherever it stands (a flow that ends while
// something else is stacked above its modal).
func (o *overlays) remove(ov overlay) {
	for i := len(o.stack) - 1; i >= 0; i-- {
		if o.stack[i] == ov {
			o.stack = append(o.stack[:i], o.stack[i+1:]...)
			return
		}
	}
}

// closeModalMsg asks the root to close a console-wide overlay that the
// pane owning it has finished with.
type closeModalMsg struct{ ov overlay }

// closeModal is the command a pane returns to close its console-wide
// overlay ov from outside (its flow ended on an answer from the network):
// an overlay can only close itself from its own Update, which needs a key.
func closeModal(ov overlay) tea.Cmd {
	return func() tea.Msg { return closeModalMsg{ov: ov} }
}

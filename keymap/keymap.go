// Package keymap holds fleetdeck's key bindings (bubbles/key) and applies the
// overrides a config file's [keys] table asks for.
package keymap

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Scope says where an action is listened for. Two actions may share a key
// only when no scope has both of them.
type Scope uint16

const (
	ScopeGlobal Scope = 1 << iota
	ScopeClearance
	ScopeTelemetry
	ScopeCommands
	ScopeDialog
	// ScopeApprovals is the list of approval requests (four eyes).
	ScopeApprovals
	ScopeMap
	// ScopeTimeline is the full-screen timeline (and the other full-screen
	// views: chart, items).
	ScopeTimeline
	// ScopePalette is the command palette: back closes it, send runs the
	// command, complete takes the highlighted entry.
	ScopePalette

	scopePanes = ScopeClearance | ScopeTelemetry | ScopeCommands | ScopeMap
	scopeLists = scopePanes | ScopeTimeline
)

// KeyMap is every binding the console knows. Fields are exported so views can
// match with key.Matches and render help; change them with Apply.
type KeyMap struct {
	Quit, Help, NextPane, PrevPane             key.Binding
	PaneClearance, PaneTelemetry, PaneCommands key.Binding
	PaneMap, Timeline                          key.Binding
	Up, Down, PageUp, PageDown, Top, Bottom    key.Binding
	Left, Right                                key.Binding
	Filter, Back, Open                         key.Binding
	Sort, SortReverse, Refresh, Add, Revoke    key.Binding
	Eligibility                                key.Binding
	Pause                                      key.Binding
	Send                                       key.Binding
	Confirm                                    key.Binding
	// The approval requests and immobilised vehicles (four eyes).
	Approvals, Approve, Reject, Withdraw key.Binding

	// Console-wide tools: the command palette, the notification history
	// and its dismissal, and whether a selection follows across the views.
	Palette, Notifications, Dismiss, Link key.Binding
	// Complete takes the highlighted completion in the palette.
	Complete key.Binding
	// Row tools of every pane: copy, export, mark for a bulk action.
	Copy, Export, Mark, ClearMarks key.Binding
	// The Map, and the timeline's kind filter and jump to now.
	ZoomIn, ZoomOut, Fit, Centre key.Binding
	Kind, Now                    key.Binding
}

type action struct {
	name  string
	scope Scope
	get   func(*KeyMap) *key.Binding
}

// yielding are the actions whose default keys give way to a config that
// binds them to another action (see yield): those added after configs were
// already written, so that those keep working.
var yielding = []string{"palette", "notifications", "dismiss", "link", "complete", "copy", "export", "mark", "clear_marks",
	"pane_map", "timeline", "zoom_in", "zoom_out", "fit", "centre", "kind", "now"}

// actions is the table of names the [keys] config table may use, in the
// order help and error messages list them.
var actions = []action{
	{"quit", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Quit }},
	{"help", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Help }},
	{"next_pane", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.NextPane }},
	{"prev_pane", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.PrevPane }},
	{"pane_clearance", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.PaneClearance }},
	{"pane_telemetry", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.PaneTelemetry }},
	{"pane_commands", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.PaneCommands }},
	{"pane_map", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.PaneMap }},
	{"timeline", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Timeline }},
	{"up", scopeLists | ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Up }},
	{"down", scopeLists | ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Down }},
	{"page_up", scopeLists, func(k *KeyMap) *key.Binding { return &k.PageUp }},
	{"page_down", scopeLists, func(k *KeyMap) *key.Binding { return &k.PageDown }},
	{"top", scopeLists, func(k *KeyMap) *key.Binding { return &k.Top }},
	{"bottom", scopeLists, func(k *KeyMap) *key.Binding { return &k.Bottom }},
	{"left", ScopeTelemetry | ScopeCommands | ScopeMap, func(k *KeyMap) *key.Binding { return &k.Left }},
	{"right", ScopeTelemetry | ScopeCommands | ScopeMap, func(k *KeyMap) *key.Binding { return &k.Right }},
	{"filter", ScopeClearance | ScopeTelemetry | ScopeCommands, func(k *KeyMap) *key.Binding { return &k.Filter }},
	// Back closes every dialog too (the send modal, a bulk action, a
	// message): it must not share a key with confirm or copy.
	{"back", scopeLists | ScopeApprovals | ScopePalette | ScopeDialog, func(k *KeyMap) *key.Binding { return &k.Back }},
	{"open", ScopeClearance | ScopeTelemetry | ScopeMap | ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Open }},
	{"sort", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.Sort }},
	{"sort_reverse", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.SortReverse }},
	{"refresh", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.Refresh }},
	{"add", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.Add }},
	{"revoke", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.Revoke }},
	{"eligibility", ScopeClearance, func(k *KeyMap) *key.Binding { return &k.Eligibility }},
	{"pause", ScopeTelemetry, func(k *KeyMap) *key.Binding { return &k.Pause }},
	{"send", ScopeCommands | ScopePalette, func(k *KeyMap) *key.Binding { return &k.Send }},
	{"confirm", ScopeDialog, func(k *KeyMap) *key.Binding { return &k.Confirm }},
	{"approvals", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Approvals }},
	{"approve", ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Approve }},
	{"reject", ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Reject }},
	{"withdraw", ScopeApprovals, func(k *KeyMap) *key.Binding { return &k.Withdraw }},
	{"palette", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Palette }},
	{"notifications", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Notifications }},
	{"dismiss", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Dismiss }},
	{"link", ScopeGlobal, func(k *KeyMap) *key.Binding { return &k.Link }},
	{"complete", ScopePalette, func(k *KeyMap) *key.Binding { return &k.Complete }},
	// Copy also works in the dialogs that show text (a message, the
	// notification history).
	{"copy", scopePanes | ScopeDialog | ScopeTimeline, func(k *KeyMap) *key.Binding { return &k.Copy }},
	{"export", ScopeClearance | ScopeTelemetry | ScopeCommands, func(k *KeyMap) *key.Binding { return &k.Export }},
	{"mark", ScopeClearance | ScopeCommands, func(k *KeyMap) *key.Binding { return &k.Mark }},
	{"clear_marks", ScopeClearance | ScopeCommands, func(k *KeyMap) *key.Binding { return &k.ClearMarks }},
	{"zoom_in", ScopeMap, func(k *KeyMap) *key.Binding { return &k.ZoomIn }},
	{"zoom_out", ScopeMap, func(k *KeyMap) *key.Binding { return &k.ZoomOut }},
	{"fit", ScopeMap, func(k *KeyMap) *key.Binding { return &k.Fit }},
	{"centre", ScopeMap, func(k *KeyMap) *key.Binding { return &k.Centre }},
	{"kind", ScopeTimeline, func(k *KeyMap) *key.Binding { return &k.Kind }},
	{"now", ScopeTimeline, func(k *KeyMap) *key.Binding { return &k.Now }},
}

// Default returns the built-in bindings: arrows and vim keys for movement.
func Default() *KeyMap {
	b := func(desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKeys(keys), desc))
	}
	return &KeyMap{
		Quit:          b("quit", "q", "ctrl+c"),
		Help:          b("help", "?"),
		NextPane:      b("next pane", "tab"),
		PrevPane:      b("previous pane", "shift+tab"),
		PaneClearance: b("clearance", "1"),
		PaneTelemetry: b("telemetry", "2"),
		PaneCommands:  b("commands", "3"),
		PaneMap:       b("map", "4"),
		Timeline:      b("timeline", "t"),
		Up:            b("up", "up", "k"),
		Down:          b("down", "down", "j"),
		PageUp:        b("page up", "pgup", "ctrl+b"),
		PageDown:      b("page down", "pgdown", "ctrl+f"),
		Top:           b("top", "home", "g"),
		Bottom:        b("bottom", "end", "G"),
		Left:          b("left", "left", "h"),
		Right:         b("right", "right", "l"),
		Filter:        b("filter", "/"),
		Back:          b("back", "esc"),
		Open:          b("details", "enter"),
		Sort:          b("sort column", "s"),
		SortReverse:   b("reverse sort", "S"),
		Refresh:       b("refresh", "r"),
		Add:           b("add vehicle", "a"),
		Revoke:        b("revoke/cancel", "d"),
		Eligibility:   b("eligibility", "e"),
		Pause:         b("pause view", "p"),
		Send:          b("send", "enter"),
		Confirm:       b("confirm", "y"),
		Approvals:     b("approvals", "A"),
		Approve:       b("approve", "y"),
		Reject:        b("reject", "n"),
		Withdraw:      b("withdraw", "w"),
		Palette:       b("command palette", ":"),
		Notifications: b("notifications", "n"),
		Dismiss:       b("dismiss toasts", "N"),
		Link:          b("link selection on/off", "L"),
		Complete:      b("complete", "tab"),
		Copy:          b("copy (OSC 52)", "c"),
		Export:        b("export view", "x"),
		Mark:          b("mark row", " "),
		ZoomIn:        b("zoom in", "+", "="),
		ZoomOut:       b("zoom out", "-"),
		Fit:           b("fit the fleet", "f"),
		Centre:        b("go to the selected", "."),
		Kind:          b("kind", "f"),
		Now:           b("jump to now", "n"),
		ClearMarks:    b("unmark all", "U"),
	}
}

// Actions lists the action names a [keys] table may use.
func Actions() []string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = a.name
	}
	return names
}

// Scoped returns the bindings of the actions listened for in scope s, in
// the table's order, as pointers into k (a caller may tell them apart):
// help lists them from here, so that an action added to a scope cannot be
// left out of it.
func (k *KeyMap) Scoped(s Scope) []*key.Binding {
	var out []*key.Binding
	for _, a := range actions {
		if a.scope&s != 0 {
			out = append(out, a.get(k))
		}
	}
	return out
}

// Apply replaces the keys of the named actions. Every problem is reported
// (unknown action, unknown key name, no keys, a key taken by another action
// in the same scope) and on error k is left unchanged.
func (k *KeyMap) Apply(overrides map[string][]string) error {
	if len(overrides) == 0 {
		return nil
	}
	next := *k
	var errs []error
	names := make([]string, 0, len(overrides))
	for name := range overrides {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a, ok := lookup(name)
		if !ok {
			errs = append(errs, fmt.Errorf("keys.%s: unknown action (known: %s)", name, strings.Join(Actions(), ", ")))
			continue
		}
		keys := make([]string, 0, len(overrides[name]))
		for _, raw := range overrides[name] {
			kn, err := Normalize(raw)
			if err != nil {
				errs = append(errs, fmt.Errorf("keys.%s: %w", name, err))
				continue
			}
			if !slices.Contains(keys, kn) {
				keys = append(keys, kn)
			}
		}
		if len(overrides[name]) == 0 {
			errs = append(errs, fmt.Errorf("keys.%s: give at least one key", name))
			continue
		}
		bnd := a.get(&next)
		bnd.SetKeys(keys...)
		bnd.SetHelp(helpKeys(keys), bnd.Help().Desc)
	}
	if len(errs) == 0 {
		next.yield(overrides)
		errs = append(errs, next.conflicts()...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*k = next
	return nil
}

// yield gives a key the config bound to an action to it when the key is
// the default of a yielding action the config left alone: that action loses
// the key (and is switched off if it had no other). New actions get default
// keys in new releases, and a config written before them must keep
// working. Taking the key of an original action, or binding two actions to
// one key in the config, is still a conflict.
func (k *KeyMap) yield(overrides map[string][]string) {
	for _, a := range actions {
		if _, mine := overrides[a.name]; !mine {
			continue
		}
		for _, b := range actions {
			if _, theirs := overrides[b.name]; theirs || !slices.Contains(yielding, b.name) || b.name == a.name || !overlap(a.scope, b.scope) {
				continue
			}
			bb := b.get(k)
			kept := slices.DeleteFunc(slices.Clone(bb.Keys()), func(key string) bool { return slices.Contains(a.get(k).Keys(), key) })
			if len(kept) == len(bb.Keys()) {
				continue
			}
			bb.SetKeys(kept...)
			bb.SetHelp(helpKeys(kept), bb.Help().Desc)
			if len(kept) == 0 {
				bb.SetEnabled(false)
			}
		}
	}
}

// conflicts reports keys bound to two actions that are listened for at the
// same time (the global scope is live in every pane).
func (k *KeyMap) conflicts() []error {
	var errs []error
	for i, a := range actions {
		for _, b := range actions[i+1:] {
			if !overlap(a.scope, b.scope) {
				continue
			}
			for _, ka := range a.get(k).Keys() {
				if slices.Contains(b.get(k).Keys(), ka) {
					errs = append(errs, fmt.Errorf("keys: %q is bound to both %s and %s", display(ka), a.name, b.name))
				}
			}
		}
	}
	return errs
}

func overlap(a, b Scope) bool {
	if a&b != 0 {
		return true
	}
	// The global scope is live wherever a pane is, but not inside a dialog.
	return (a == ScopeGlobal && b&scopePanes != 0) || (b == ScopeGlobal && a&scopePanes != 0)
}

func lookup(name string) (action, bool) {
	for _, a := range actions {
		if a.name == name {
			return a, true
		}
	}
	return action{}, false
}

// Normalize turns a key name from a config file into the string Bubble Tea
// reports for it ("space" → " ", "Ctrl+X" → "ctrl+x"), or says why it is not a key.
func Normalize(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty key name")
	}
	if utf8.RuneCountInString(s) == 1 {
		r, _ := utf8.DecodeRuneInString(s)
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("key %q: control characters are written like ctrl+x", s)
		}
		return s, nil
	}
	lower := strings.ToLower(s)
	if lower == "space" {
		return " ", nil
	}
	if rest, ok := strings.CutPrefix(lower, "alt+"); ok {
		var inner string
		if utf8.RuneCountInString(s[4:]) == 1 {
			inner = s[4:] // alt+G differs from alt+g
		} else {
			var err error
			if inner, err = Normalize(rest); err != nil {
				return "", err
			}
		}
		return "alt+" + inner, nil
	}
	if named()[lower] {
		return lower, nil
	}
	return "", fmt.Errorf("unknown key %q (a single character, or a name like enter, esc, tab, shift+tab, up, pgdown, home, f5, ctrl+x, alt+x, space)", s)
}

// named is every key name Bubble Tea can report, taken from tea.Key itself
// so the list never drifts from the library.
func named() map[string]bool {
	m := make(map[string]bool, 128)
	for t := tea.KeyType(-128); t <= 127; t++ {
		if s := (tea.Key{Type: t}).String(); s != "" && s != "runes" && s != " " {
			m[s] = true
		}
	}
	return m
}

func display(k string) string {
	if k == " " {
		return "space"
	}
	return k
}

// helpKeys renders the keys the way help shows them: "↑/k".
func helpKeys(keys []string) string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		switch k {
		case "up":
			k = "↑"
		case "down":
			k = "↓"
		case "left":
			k = "←"
		case "right":
			k = "→"
		case " ":
			k = "space"
		}
		out = append(out, k)
	}
	return strings.Join(out, "/")
}

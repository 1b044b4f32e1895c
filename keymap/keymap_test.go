package keymap

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "f5":
		return tea.KeyMsg{Type: tea.KeyF5}
	case " ":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func TestDefaultsHaveArrowsAndVim(t *testing.T) {
	k := Default()
	if !key.Matches(tea.KeyMsg{Type: tea.KeyDown}, k.Down) || !key.Matches(press("j"), k.Down) {
		t.Fatal("down must answer to ↓ and j")
	}
	if !key.Matches(press("?"), k.Help) {
		t.Fatal("? must open help")
	}
	if err := k.conflicts(); len(err) > 0 {
		t.Fatalf("default bindings conflict: %v", err)
	}
}

func TestApplyOverrides(t *testing.T) {
	k := Default()
	if err := k.Apply(map[string][]string{"revoke": {"D"}, "pause": {"space", "F5"}}); err != nil {
		t.Fatal(err)
	}
	if !key.Matches(press("D"), k.Revoke) || key.Matches(press("d"), k.Revoke) {
		t.Fatal("revoke should be D only")
	}
	if !key.Matches(press(" "), k.Pause) || !key.Matches(press("f5"), k.Pause) {
		t.Fatal("pause should answer to space and f5")
	}
	if got := k.Pause.Help().Key; got != "space/f5" {
		t.Fatalf("help key = %q", got)
	}
}

func TestApplyErrors(t *testing.T) {
	cases := []struct {
		name string
		in   map[string][]string
		want string
	}{
		{"unknown action", map[string][]string{"revok": {"x"}}, `keys.revok: unknown action`},
		{"unknown key", map[string][]string{"quit": {"ctrl+shift+banana"}}, `unknown key "ctrl+shift+banana"`},
		{"no keys", map[string][]string{"quit": {}}, "at least one key"},
		{"conflict in pane", map[string][]string{"revoke": {"a"}}, `"a" is bound to both add and revoke`},
		{"conflict with global", map[string][]string{"pause": {"q"}}, `"q" is bound to both quit and pause`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := Default()
			before := k.Revoke.Keys()
			err := k.Apply(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Join(k.Revoke.Keys(), ",") != strings.Join(before, ",") {
				t.Fatal("a failed Apply must leave the keymap unchanged")
			}
		})
	}
}

func TestSameKeyInDisjointScopes(t *testing.T) {
	k := Default()
	// pause lives in Telemetry, refresh in Clearance: they may share a key.
	if err := k.Apply(map[string][]string{"pause": {"r"}}); err != nil {
		t.Fatal(err)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"space": " ", "Enter": "enter", "alt+G": "alt+G", "ctrl+X": "ctrl+x", "é": "é", "PgDown": "pgdown"} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "\x1b", "hyper+x", "ctrl+"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
}

// A config written before an action existed keeps working: the key it
// gives one action is taken from the default of an action it does not
// mention (here back = x takes x from export), while two keys the config
// itself clashes are still refused.
func TestOverrideTakesADefaultKey(t *testing.T) {
	k := Default()
	if err := k.Apply(map[string][]string{"back": {"x"}}); err != nil {
		t.Fatal(err)
	}
	if !key.Matches(press("x"), k.Back) || key.Matches(press("x"), k.Export) {
		t.Fatal("x should go back, not export")
	}
	if k.Export.Enabled() {
		t.Fatal("export lost its only key and should be off (help then hides it)")
	}
	k = Default()
	if err := k.Apply(map[string][]string{"up": {"c", "up"}}); err != nil {
		t.Fatal(err)
	}
	if !key.Matches(press("c"), k.Up) || key.Matches(press("c"), k.Copy) {
		t.Fatal("c should move up, not copy")
	}
	err := Default().Apply(map[string][]string{"back": {"x"}, "export": {"x"}})
	if err == nil || !strings.Contains(err.Error(), `"x" is bound to both`) {
		t.Fatalf("two overrides on one key: %v", err)
	}
}

// The palette listens for back, send and complete at once, a dialog for
// back and confirm: one key for two of them is refused (complete on enter
// would leave the palette unable to run anything), as in any other place
// where both are listened for.
func TestPaletteAndDialogKeysClash(t *testing.T) {
	for _, c := range []struct {
		in   map[string][]string
		want string
	}{
		{map[string][]string{"complete": {"enter"}}, `"enter" is bound to both send and complete`},
		{map[string][]string{"complete": {"esc"}}, `"esc" is bound to both back and complete`},
		// The send modal and a bulk action listen for back and confirm
		// together: back would win, and nothing could be confirmed.
		{map[string][]string{"confirm": {"esc"}}, `"esc" is bound to both back and confirm`},
	} {
		err := Default().Apply(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.in, err, c.want)
		}
	}
}

// Scoped hands out the KeyMap's own bindings (an override shows) of
// exactly the actions of the scope.
func TestScoped(t *testing.T) {
	k := Default()
	if err := k.Apply(map[string][]string{"prev_pane": {"ctrl+p"}}); err != nil {
		t.Fatal(err)
	}
	var descs []string
	for _, b := range k.Scoped(ScopeGlobal) {
		descs = append(descs, b.Help().Key+" "+b.Help().Desc)
	}
	got := strings.Join(descs, ", ")
	want := "q/ctrl+c quit, ? help, tab next pane, ctrl+p previous pane, 1 clearance, 2 telemetry, 3 commands, 4 map, t timeline, " +
		"A approvals, : command palette, n notifications, N dismiss toasts, L link selection on/off"
	if got != want {
		t.Fatalf("global:\n got %s\nwant %s", got, want)
	}
	if s := k.Scoped(ScopeGlobal); s[0] != &k.Quit {
		t.Fatal("Scoped copied the bindings instead of pointing at k's")
	}
	if p := k.Scoped(ScopePalette); len(p) != 3 || p[0] != &k.Back || p[1] != &k.Send || p[2] != &k.Complete {
		t.Fatalf("palette: %v", p)
	}
}

package theme

import (
	"strings"
	"testing"
)

func TestResolveNamedThemes(t *testing.T) {
	for _, name := range append(Names(), "") {
		p, err := Resolve(Spec{Name: name})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		for _, side := range []map[Role]Color{p.Dark, p.Light} {
			for _, r := range Roles() {
				c, ok := side[r]
				if !ok || c.TrueColor == "" || c.ANSI256 == "" || c.ANSI == "" {
					t.Errorf("%q: role %s has no colour at some depth: %+v", name, r, c)
				}
			}
			// On 16 colours a change under way and a refusal must differ,
			// and the selection must have a background of its own.
			if side[Alert].ANSI == side[Error].ANSI {
				t.Errorf("%q: alert and error share ANSI colour %s", name, side[Alert].ANSI)
			}
			if side[SelectedBg].ANSI == side[SelectedFg].ANSI {
				t.Errorf("%q: selection text and background are both %s", name, side[SelectedBg].ANSI)
			}
		}
		if p.Dark[SelectedBg].ANSI == "0" {
			t.Errorf("%q: a black selection is invisible on a dark terminal", name)
		}
	}
}

func TestResolveOverrides(t *testing.T) {
	p, err := Resolve(Spec{Name: Light, Colors: map[Role]string{Accent: "#FF8700", SelectedBg: "4"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Dark[Accent] != Solid("#FF8700") || p.Light[SelectedBg] != Solid("4") {
		t.Fatalf("overrides not applied: %+v %+v", p.Dark[Accent], p.Light[SelectedBg])
	}
	// The built-in theme is not changed by an override.
	q, _ := Resolve(Spec{Name: Light})
	if q.Dark[Accent] == Solid("#FF8700") {
		t.Fatal("an override leaked into the built-in theme")
	}
}

func TestResolveErrors(t *testing.T) {
	_, err := Resolve(Spec{Name: "neon", Colors: map[Role]string{"shadow": "1"}})
	if err == nil || !strings.Contains(err.Error(), `unknown theme "neon"`) {
		t.Fatalf("unknown name: %v", err)
	}
	_, err = Resolve(Spec{Colors: map[Role]string{"shadow": "1", Error: "red", Accent: "#GGGGGG"}})
	for _, w := range []string{"theme.shadow: unknown role", `theme.error: "red" is not a colour`, `theme.accent: "#GGGGGG" is not a colour`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestCheckColor(t *testing.T) {
	for _, ok := range []string{"#FF8700", "#fff", "0", "15", "255"} {
		if err := CheckColor(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "red", "#FF870", "#FF87000", "256", "-1", "07", "1.5", "#"} {
		if err := CheckColor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

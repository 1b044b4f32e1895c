package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fleetdeck/fleetdeck/theme"
)

func TestThemeTable(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, "[theme]\nname = \"high-contrast\"\naccent = \"#FF8700\"\nselected_bg = \"4\"\n")
	if err != nil {
		t.Fatal(err)
	}
	want := theme.Spec{Name: "high-contrast", Colors: map[theme.Role]string{theme.Accent: "#FF8700", theme.SelectedBg: "4"}}
	if !reflect.DeepEqual(cfg.Theme, want) {
		t.Fatalf("theme = %+v, want %+v", cfg.Theme, want)
	}
	if _, err := theme.Resolve(cfg.Theme); err != nil {
		t.Fatal(err)
	}
}

func TestThemeErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{"[theme]\nname = \"solarized\"\n", `FILE:2: theme.name: unknown theme "solarized" (themes: auto, dark, light, high-contrast)`},
		{"[theme]\naccent = \"purple\"\n", `FILE:2: theme.accent: "purple" is not a colour: write #RRGGBB (or #RGB) or an ANSI number 0-255`},
		{"[theme]\naccent = \"#12345\"\n", `FILE:2: theme.accent: "#12345" is not a colour`},
		{"[theme]\naccent = \"256\"\n", `FILE:2: theme.accent: "256" is not a colour`},
		{"[theme]\naccent = 208\n", `FILE:2: theme.accent: write the ANSI colour as a string: "208"`},
		{"[theme]\naccentt = \"#FFFFFF\"\n", `FILE: theme.accentt: unknown key (did you mean theme.accent?)`},
		{"theme = \"dark\"\n", `FILE:1: theme: must be a table`},
	} {
		isolate(t)
		_, path, err := loadString(t, tc.content)
		want := strings.ReplaceAll(tc.want, "FILE", "config file "+path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", tc.content, err, want)
		}
	}
}

// A theme built in code is checked by Validate too.
func TestValidateTheme(t *testing.T) {
	isolate(t)
	cfg, _, err := loadString(t, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Theme = theme.Spec{Name: "neon", Colors: map[theme.Role]string{"shadow": "1", theme.Error: "red"}}
	err = cfg.Validate()
	for _, w := range []string{"theme.name: unknown theme", "theme.shadow: unknown role", `theme.error: "red" is not a colour`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate: %v; want %q", err, w)
		}
	}
}

// The table has a key for every role the console colours.
func TestThemeTableHasEveryRole(t *testing.T) {
	tags := []theme.Role{}
	rt := reflect.TypeFor[rawTheme]()
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("toml"); tag != "name" {
			tags = append(tags, theme.Role(tag))
		}
	}
	if !slices.Equal(tags, theme.Roles()) {
		t.Fatalf("[theme] keys %v, roles %v", tags, theme.Roles())
	}
}

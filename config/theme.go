package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/fleetdeck/fleetdeck/theme"
)

// The [theme] table: a named theme and colours per role.
//
//	[theme]
//	name = "high-contrast"   # auto (default), dark, light, high-contrast
//	accent = "#FF8700"       # any role: "#RRGGBB", "#RGB" or an ANSI number 0-255

// rawTheme has one field per theme.Role (TestThemeTableHasEveryRole keeps
// them in step); the tags are the role names.
type rawTheme struct {
	Name       themeName  `toml:"name"`
	Text       themeColor `toml:"text"`
	Dim        themeColor `toml:"dim"`
	Accent     themeColor `toml:"accent"`
	OK         themeColor `toml:"ok"`
	Warning    themeColor `toml:"warning"`
	Alert      themeColor `toml:"alert"`
	Error      themeColor `toml:"error"`
	SelectedFg themeColor `toml:"selected_fg"`
	SelectedBg themeColor `toml:"selected_bg"`
	ChangedBg  themeColor `toml:"changed_bg"`
	Border     themeColor `toml:"border"`
}

type themeName string

func (n *themeName) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return wrongType("a theme name", v)
	}
	if err := checkThemeName(s); err != nil {
		return err
	}
	*n = themeName(s)
	return nil
}

func checkThemeName(s string) error {
	if !slices.Contains(theme.Names(), s) {
		return fmt.Errorf("unknown theme %q (themes: %s)", s, strings.Join(theme.Names(), ", "))
	}
	return nil
}

type themeColor string

func (c *themeColor) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		if n, isInt := v.(int64); isInt {
			return fmt.Errorf("write the ANSI colour as a string: \"%d\"", n)
		}
		return wrongType(`a colour string such as "#FF8700" or "208"`, v)
	}
	if err := theme.CheckColor(s); err != nil {
		return err
	}
	*c = themeColor(s)
	return nil
}

// buildTheme turns the table into the console's theme.Spec.
func buildTheme(raw *rawTheme) theme.Spec {
	spec := theme.Spec{Name: string(raw.Name)}
	v := reflect.ValueOf(*raw)
	t := v.Type()
	for i := range t.NumField() {
		c, ok := v.Field(i).Interface().(themeColor)
		if !ok || c == "" {
			continue
		}
		if spec.Colors == nil {
			spec.Colors = map[theme.Role]string{}
		}
		spec.Colors[theme.Role(t.Field(i).Tag.Get("toml"))] = string(c)
	}
	return spec
}

// checkTheme reports what is wrong with a Config's theme (one built in
// code; a file's is checked as it is read).
func checkTheme(s theme.Spec) []error {
	var errs []error
	if s.Name != "" {
		if err := checkThemeName(s.Name); err != nil {
			errs = append(errs, &Error{Key: "theme.name", Msg: err.Error()})
		}
	}
	for _, r := range slices.Sorted(maps.Keys(s.Colors)) {
		if !slices.Contains(theme.Roles(), r) {
			errs = append(errs, &Error{Key: "theme." + string(r), Msg: "unknown role"})
			continue
		}
		if err := theme.CheckColor(s.Colors[r]); err != nil {
			errs = append(errs, &Error{Key: "theme." + string(r), Msg: err.Error()})
		}
	}
	return errs
}

// Package theme holds the console's named colour themes and reads the
// colours a config file's [theme] table gives per role. It knows nothing of
// terminals: the console turns a Palette into styles for each session's
// renderer, and the config package checks a [theme] table with it.
package theme

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Role is what a colour is for.
type Role string

// The roles a [theme] table may colour.
const (
	Text       Role = "text"        // ordinary text
	Dim        Role = "dim"         // secondary text, stale rows, hints
	Accent     Role = "accent"      // titles, keys in help, focused borders
	OK         Role = "ok"          // approved, Success, connected, fresh
	Warning    Role = "warning"     // pending, late data, retrying
	Alert      Role = "alert"       // revoking, canceling: a change under way
	Error      Role = "error"       // rejected, Error, failures
	SelectedFg Role = "selected_fg" // the selected row's text
	SelectedBg Role = "selected_bg" // the selected row's background
	ChangedBg  Role = "changed_bg"  // the background of a row that just changed
	Border     Role = "border"      // pane borders, separators
)

// Roles lists every role, in the order the README and errors name them.
func Roles() []Role {
	return []Role{Text, Dim, Accent, OK, Warning, Alert, Error, SelectedFg, SelectedBg, ChangedBg, Border}
}

// Color is one role's colour for each kind of terminal: 24-bit, 256
// colours and the 16 ANSI colours. Each is a lipgloss colour string ("#RRGGBB"
// or an ANSI number); "" leaves the terminal's default. Giving the 16-colour
// value explicitly is what keeps a theme readable on TERM=xterm, where an
// automatic downgrade would make the selection background black and two
// reds the same.
type Color struct {
	TrueColor, ANSI256, ANSI string
}

// Solid is a colour that is the same string at every depth (the terminal
// library degrades it where needed): what a config file's role gives.
func Solid(s string) Color { return Color{TrueColor: s, ANSI256: s, ANSI: s} }

// Palette is a colour per role for a dark and for a light background. A
// fixed theme has the same colours on both.
type Palette struct {
	Name        string
	Dark, Light map[Role]Color
}

// Names of the built-in themes; Auto (the default) follows the terminal's
// background.
const (
	Auto         = "auto"
	Dark         = "dark"
	Light        = "light"
	HighContrast = "high-contrast"
)

// Names lists the built-in themes.
func Names() []string { return []string{Auto, Dark, Light, HighContrast} }

// Spec is what a [theme] table says: a theme's name ("" is Auto) and
// colours per role that replace the theme's.
type Spec struct {
	Name   string
	Colors map[Role]string
}

var dark = map[Role]Color{
	Text:       {"#D0D0D0", "252", "7"},
	Dim:        {"#767676", "243", "8"},
	Accent:     {"#7571F9", "99", "12"},
	OK:         {"#04B575", "35", "10"},
	Warning:    {"#E5C07B", "186", "11"},
	Alert:      {"#FF9F43", "215", "13"},
	Error:      {"#FF5F5F", "203", "9"},
	SelectedFg: {"#FFFFFF", "231", "15"},
	SelectedBg: {"#3A3A3A", "237", "4"},
	ChangedBg:  {"#3A3420", "58", "3"},
	Border:     {"#585858", "240", "8"},
}

var light = map[Role]Color{
	Text:       {"#262626", "235", "0"},
	Dim:        {"#8A8A8A", "245", "8"},
	Accent:     {"#5A56E0", "62", "4"},
	OK:         {"#00875F", "29", "2"},
	Warning:    {"#9A6700", "136", "3"},
	Alert:      {"#B5540A", "130", "5"},
	Error:      {"#C0161E", "160", "1"},
	SelectedFg: {"#000000", "16", "0"},
	SelectedBg: {"#E4E4E4", "254", "6"},
	ChangedBg:  {"#FFF3C4", "230", "11"},
	Border:     {"#BCBCBC", "250", "7"},
}

// highContrast is for dark backgrounds and poor eyes or screens: the 16
// bright colours, white text, and a white selection with black text.
var highContrast = map[Role]Color{
	Text:       {"#FFFFFF", "231", "15"},
	Dim:        {"#C0C0C0", "250", "7"},
	Accent:     {"#00FFFF", "51", "14"},
	OK:         {"#00FF00", "46", "10"},
	Warning:    {"#FFFF00", "226", "11"},
	Alert:      {"#FF00FF", "201", "13"},
	Error:      {"#FF0000", "196", "9"},
	SelectedFg: {"#000000", "16", "0"},
	SelectedBg: {"#FFFFFF", "231", "15"},
	ChangedBg:  {"#5F5F00", "58", "3"},
	Border:     {"#FFFFFF", "231", "15"},
}

// Resolve returns the palette s asks for: its named theme with the role
// colours replaced. Every problem is reported.
func Resolve(s Spec) (Palette, error) {
	name := s.Name
	if name == "" {
		name = Auto
	}
	var p Palette
	switch name {
	case Auto:
		p = Palette{Dark: dark, Light: light}
	case Dark:
		p = Palette{Dark: dark, Light: dark}
	case Light:
		p = Palette{Dark: light, Light: light}
	case HighContrast:
		p = Palette{Dark: highContrast, Light: highContrast}
	default:
		return Palette{}, fmt.Errorf("theme.name: unknown theme %q (known: %s)", s.Name, strings.Join(Names(), ", "))
	}
	p.Name = name
	if len(s.Colors) == 0 {
		return p, nil
	}
	p.Dark, p.Light = maps.Clone(p.Dark), maps.Clone(p.Light)
	var errs []error
	roles := make([]Role, 0, len(s.Colors))
	for r := range s.Colors {
		roles = append(roles, r)
	}
	slices.Sort(roles)
	for _, r := range roles {
		if !slices.Contains(Roles(), r) {
			errs = append(errs, fmt.Errorf("theme.%s: unknown role (known: %s)", r, roleList()))
			continue
		}
		if err := CheckColor(s.Colors[r]); err != nil {
			errs = append(errs, fmt.Errorf("theme.%s: %w", r, err))
			continue
		}
		p.Dark[r], p.Light[r] = Solid(s.Colors[r]), Solid(s.Colors[r])
	}
	if len(errs) > 0 {
		return Palette{}, errors.Join(errs...)
	}
	return p, nil
}

// CheckColor accepts what a config file may give a role: "#RRGGBB", "#RGB",
// or an ANSI colour number from 0 to 255.
func CheckColor(s string) error {
	if hex, ok := strings.CutPrefix(s, "#"); ok {
		if len(hex) != 6 && len(hex) != 3 {
			return fmt.Errorf("%q is not a colour: write #RRGGBB (or #RGB) or an ANSI number 0-255", s)
		}
		if _, err := strconv.ParseUint(hex, 16, 32); err != nil {
			return fmt.Errorf("%q is not a colour: %q is not hexadecimal", s, hex)
		}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != s {
		return fmt.Errorf("%q is not a colour: write #RRGGBB (or #RGB) or an ANSI number 0-255", s)
	}
	return nil
}

func roleList() string {
	names := make([]string, 0, len(Roles()))
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

package ui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"github.com/fleetdeck/fleetdeck/theme"
)

// colProdRed is the production frame's red, the same on every background
// and in every theme: it must not be missed.
var colProdRed = lipgloss.Color("#E0001B")

// colors are the session's theme as lipgloss colours: each adapts to the
// terminal's background and carries its own 256- and 16-colour value.
type colors struct {
	text, dim, accent, ok, warning, alert, error lipgloss.TerminalColor
	selFg, selBg, changedBg, border              lipgloss.TerminalColor
}

func newColors(p theme.Palette) colors {
	c := func(r theme.Role) lipgloss.TerminalColor {
		d, l := p.Dark[r], p.Light[r]
		return lipgloss.CompleteAdaptiveColor{
			Dark:  lipgloss.CompleteColor{TrueColor: d.TrueColor, ANSI256: d.ANSI256, ANSI: d.ANSI},
			Light: lipgloss.CompleteColor{TrueColor: l.TrueColor, ANSI256: l.ANSI256, ANSI: l.ANSI},
		}
	}
	return colors{
		text: c(theme.Text), dim: c(theme.Dim), accent: c(theme.Accent), ok: c(theme.OK),
		warning: c(theme.Warning), alert: c(theme.Alert), error: c(theme.Error),
		selFg: c(theme.SelectedFg), selBg: c(theme.SelectedBg), changedBg: c(theme.ChangedBg), border: c(theme.Border),
	}
}

// Styles are built once per session from that session's renderer, so an SSH
// client gets colours for its own terminal, not the server's.
type Styles struct {
	r   *lipgloss.Renderer
	col colors

	Title, TabActive, TabInactive        lipgloss.Style
	PaneTitle, PaneTitleFocused          lipgloss.Style
	Border, BorderFocused                lipgloss.Style
	Header, Selected, Changed, Dim, Bold lipgloss.Style
	Error, Warning, OK, Accent           lipgloss.Style
	Notice                               lipgloss.Style
	Dialog                               lipgloss.Style
	Code                                 lipgloss.Style
	StatusBar, StatusSandbox, StatusProd lipgloss.Style
	Production                           lipgloss.Style
	Help                                 help.Styles

	statusStyles map[string]lipgloss.Style
	badgeCache   map[badgeKey]string
	// freshGlyph is each freshness's mark, rendered once (a row per
	// vehicle draws one).
	freshGlyph [stale + 1]string
}

type badgeKey struct {
	status string
	width  int
}

// maxBadgeCache bounds the cache of rendered badges: unknown statuses come
// from the network and must not grow it without end.
const maxBadgeCache = 128

// NewStyles builds the console's styles for renderer r in the colours of
// palette p (the zero Palette is the default theme).
func NewStyles(r *lipgloss.Renderer, p theme.Palette) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if p.Dark == nil {
		p, _ = theme.Resolve(theme.Spec{})
	}
	n := r.NewStyle
	s := &Styles{r: r, col: newColors(p)}
	col := s.col
	colText, colDim, colAccent, colBorder := col.text, col.dim, col.accent, col.border
	colGreen, colYellow, colOrange, colRed := col.ok, col.warning, col.alert, col.error
	s.Title = n().Bold(true).Foreground(colAccent)
	s.TabActive = n().Bold(true).Foreground(colAccent)
	s.TabInactive = n().Foreground(colDim)
	s.PaneTitle = n().Foreground(colDim)
	s.PaneTitleFocused = n().Bold(true).Foreground(colAccent)
	s.Border = n().Foreground(colBorder)
	s.BorderFocused = n().Foreground(colAccent)
	s.Header = n().Bold(true).Foreground(colText)
	s.Selected = n().Background(col.selBg).Foreground(col.selFg).Bold(true)
	s.Changed = n().Background(col.changedBg)
	s.Dim = n().Foreground(colDim)
	s.Bold = n().Bold(true)
	s.Error = n().Foreground(colRed)
	s.Warning = n().Foreground(colYellow)
	s.OK = n().Foreground(colGreen)
	s.Accent = n().Foreground(colAccent)
	s.Notice = n().Foreground(colYellow).Bold(true)
	s.Dialog = n().Border(lipgloss.DoubleBorder()).BorderForeground(colOrange).Padding(0, 1)
	s.Code = n().Bold(true).Foreground(colAccent)
	s.StatusBar = n().Foreground(colText)
	s.StatusSandbox = n().Bold(true).Foreground(colYellow)
	s.StatusProd = n().Bold(true).Foreground(lipgloss.Color("#FFFFFF")).Background(colProdRed)
	s.Production = n().Foreground(colProdRed).Bold(true)
	s.Help = help.Styles{
		Ellipsis:       n().Foreground(colDim),
		ShortKey:       n().Foreground(colAccent),
		ShortDesc:      n().Foreground(colDim),
		ShortSeparator: n().Foreground(colBorder),
		FullKey:        n().Foreground(colAccent),
		FullDesc:       n().Foreground(colDim),
		FullSeparator:  n().Foreground(colBorder),
	}
	s.statusStyles = map[string]lipgloss.Style{
		"approved":  n().Foreground(colGreen),
		"pending":   n().Foreground(colYellow),
		"revoking":  n().Foreground(colOrange),
		"canceling": n().Foreground(colOrange),
		"revoked":   n().Foreground(colDim),
		"canceled":  n().Foreground(colDim),
		"rejected":  n().Foreground(colRed).Bold(true),
		"error":     n().Foreground(colRed).Bold(true),
		// command statuses
		"Pending":      n().Foreground(colYellow),
		"Confirmation": n().Foreground(colOrange),
		"Success":      n().Foreground(colGreen),
		"Error":        n().Foreground(colRed).Bold(true),
	}
	s.badgeCache = make(map[badgeKey]string)
	s.freshGlyph = [...]string{fresh: s.OK.Render(fresh.glyph()), late: s.Warning.Render(late.glyph()), stale: stale.glyph()}
	return s
}

// Renderer returns the renderer the styles were built with.
func (s *Styles) Renderer() *lipgloss.Renderer { return s.r }

// Badge renders status padded to width in its state's colour; states we do
// not know are shown as they are, uncoloured.
func (s *Styles) Badge(status string, width int) string {
	k := badgeKey{status, width}
	if b, ok := s.badgeCache[k]; ok {
		return b
	}
	text := pad(status, width)
	b := text
	if st, ok := s.statusStyles[status]; ok {
		b = st.Render(text)
	}
	if len(s.badgeCache) < maxBadgeCache {
		s.badgeCache[k] = b
	}
	return b
}

// FormTheme is huh's Base theme redone on this session's renderer: huh's own
// themes are built on the global renderer, which is wrong over SSH.
func (s *Styles) FormTheme() *huh.Theme {
	n := s.r.NewStyle
	colText, colDim, colAccent, colGreen, colRed := s.col.text, s.col.dim, s.col.accent, s.col.ok, s.col.error
	var t huh.Theme
	t.Form.Base = n()
	t.Group.Base = n()
	t.Group.Title = n().Bold(true).Foreground(colAccent)
	t.Group.Description = n().Foreground(colDim)
	t.FieldSeparator = n().SetString("\n")
	button := n().Padding(0, 2).MarginRight(1)

	f := &t.Focused
	f.Base = n().PaddingLeft(1).BorderStyle(lipgloss.ThickBorder()).BorderLeft(true).BorderForeground(colAccent)
	f.Card = f.Base
	f.Title = n().Bold(true).Foreground(colAccent)
	f.NoteTitle = f.Title
	f.Description = n().Foreground(colDim)
	f.ErrorIndicator = n().Foreground(colRed).SetString(" *")
	f.ErrorMessage = n().Foreground(colRed).SetString(" *")
	f.SelectSelector = n().Foreground(colAccent).SetString("> ")
	f.NextIndicator = n().MarginLeft(1).SetString("→")
	f.PrevIndicator = n().MarginRight(1).SetString("←")
	f.Option = n().Foreground(colText)
	f.MultiSelectSelector = n().SetString("> ")
	f.SelectedOption = n().Foreground(colGreen)
	f.SelectedPrefix = n().SetString("[•] ")
	f.UnselectedOption = n().Foreground(colText)
	f.UnselectedPrefix = n().SetString("[ ] ")
	f.FocusedButton = button.Bold(true).Reverse(true)
	f.BlurredButton = button
	f.Next = f.FocusedButton
	f.TextInput.Cursor = n().Reverse(true)
	f.TextInput.CursorText = n()
	f.TextInput.Placeholder = n().Foreground(colDim)
	f.TextInput.Prompt = n().Foreground(colAccent)
	f.TextInput.Text = n().Foreground(colText)
	f.Directory = n()
	f.File = n()

	t.Blurred = t.Focused
	t.Blurred.Base = n().PaddingLeft(1).BorderStyle(lipgloss.HiddenBorder()).BorderLeft(true)
	t.Blurred.Card = t.Blurred.Base
	t.Blurred.Title = n().Foreground(colDim)
	t.Blurred.MultiSelectSelector = n().SetString("  ")
	t.Blurred.NextIndicator = n()
	t.Blurred.PrevIndicator = n()
	t.Blurred.TextInput.Cursor = n()
	t.Help = s.Help
	return &t
}

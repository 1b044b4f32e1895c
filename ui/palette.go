package ui

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/sahilm/fuzzy"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/config"
)

// The palette (`:`) is a console-wide prompt for what the keys reach less
// directly: jump to a vehicle in every view, send a command (through the
// Commands pane's own flow: its prompts and confirmations apply), filter,
// sort, profiles, linking, export, help. The first word is the verb; the
// list under the input completes the word being typed, fuzzily (sahilm/fuzzy,
// as bubbles' list uses), and the tab key takes the highlighted entry.

// paletteItem is one completion: what it inserts, and a hint beside it.
type paletteItem struct {
	value, detail string
	lower         string // value lower-cased, for matching ("" : compute)
}

func (it paletteItem) key() string {
	if it.lower != "" {
		return it.lower
	}
	return strings.ToLower(it.value)
}

// paletteVerb is one thing the palette does.
type paletteVerb struct {
	name, args, help string
	// items lists the argument's completions (nil: none).
	items func() []paletteItem
	// exact: the argument must be typed in full or completed: a typo is
	// refused rather than taken for the nearest entry (send).
	exact bool
	// free: any argument goes (filter text, a file name).
	free bool
	// run does it; a problem keeps the palette open and says why.
	run func(arg string) (tea.Cmd, string)
	// preview says what enter would do with arg.
	preview func(arg string) string
}

// paletteSource lets fuzzy search items without copying their values.
type paletteSource []paletteItem

func (s paletteSource) String(i int) string { return s[i].value }
func (s paletteSource) Len() int            { return len(s) }

// maxPaletteList bounds the completions kept (the view shows what fits).
const maxPaletteList = 200

type palette struct {
	c       *Common
	input   textinput.Model
	verbs   []paletteVerb
	cache   map[string][]paletteItem // each verb's items, read once per opening
	list    []paletteItem
	cur     int
	problem string
	// preview says what enter would do now ("" : nothing yet). It is
	// worked out in Update: resolving reads a verb's items, which fills
	// the cache.
	preview string
	w, h    int
}

func newPalette(c *Common, verbs []paletteVerb) *palette {
	ti := textinput.New()
	ti.Prompt = ": "
	ti.Placeholder = "vin WBA…, send lock_door, filter status=pending, sort status, profile NAME, help"
	ti.CharLimit = 256
	styleInput(&ti, c.Styles)
	p := &palette{c: c, input: ti, verbs: verbs, cache: map[string][]paletteItem{}}
	p.refresh()
	return p
}

func (p *palette) Init() tea.Cmd { return p.input.Focus() }

func (p *palette) SetSize(w, h int) {
	p.w, p.h = w, h
	p.input.Width = max(w-4, 10)
}

func (p *palette) Capturing() bool { return true }
func (p *palette) TakesText() bool { return true }

func (p *palette) ShortHelp() []key.Binding {
	k := p.c.Keys
	return []key.Binding{withHelp(k.Send, "run"), withHelp(k.Complete, "complete"), arrowUp, arrowDown, withHelp(k.Back, "close")}
}

// Only the arrow keys move in the list: j and k are letters here.
var (
	arrowUp   = key.NewBinding(key.WithKeys("up", "ctrl+p"), key.WithHelp("↑", "previous"))
	arrowDown = key.NewBinding(key.WithKeys("down", "ctrl+n"), key.WithHelp("↓", "next"))
)

func (p *palette) Update(msg tea.Msg) (overlay, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return p, feedInput(&p.input, msg)
	}
	k := p.c.Keys
	switch {
	case key.Matches(km, k.Back):
		return nil, nil
	case key.Matches(km, arrowUp):
		p.cur = clamp(p.cur-1, 0, len(p.list)-1)
		p.previewNow()
		return p, nil
	case key.Matches(km, arrowDown):
		p.cur = clamp(p.cur+1, 0, len(p.list)-1)
		p.previewNow()
		return p, nil
	case key.Matches(km, k.Complete):
		p.complete()
		return p, nil
	case key.Matches(km, k.Send):
		cmd, problem := p.run()
		if problem != "" {
			p.problem = problem
			return p, nil
		}
		return nil, cmd
	}
	before := p.input.Value()
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(km)
	if p.input.Value() != before {
		p.problem = ""
		p.refresh()
	}
	return p, cmd
}

// parse splits the input into its verb and argument; spaced reports
// whether the verb is complete (a space follows it).
func (p *palette) parse() (verb, arg string, spaced bool) {
	text := strings.TrimLeft(p.input.Value(), " ")
	verb, arg, spaced = strings.Cut(text, " ")
	return strings.ToLower(verb), strings.TrimSpace(arg), spaced
}

func (p *palette) verb(name string) *paletteVerb {
	for i := range p.verbs {
		if p.verbs[i].name == name {
			return &p.verbs[i]
		}
	}
	// A unique prefix names a verb too (":fil status=pending").
	var found *paletteVerb
	for i := range p.verbs {
		if name != "" && strings.HasPrefix(p.verbs[i].name, name) {
			if found != nil {
				return nil
			}
			found = &p.verbs[i]
		}
	}
	return found
}

func (p *palette) items(v *paletteVerb) []paletteItem {
	if v.items == nil {
		return nil
	}
	if it, ok := p.cache[v.name]; ok {
		return it
	}
	it := v.items()
	p.cache[v.name] = it
	return it
}

// refresh recomputes the completions for the word being typed, and what
// enter would do.
func (p *palette) refresh() {
	p.listNow()
	p.previewNow()
}

// previewNow works out what enter would do with the input and the entry
// highlighted now.
func (p *palette) previewNow() {
	p.preview = ""
	if v, arg, problem := p.resolve(); problem == "" && v.preview != nil {
		p.preview = v.preview(arg)
	}
}

// listNow recomputes the completions for the word being typed.
func (p *palette) listNow() {
	verb, arg, spaced := p.parse()
	var all []paletteItem
	pattern := verb
	if !spaced {
		for _, v := range p.verbs {
			all = append(all, paletteItem{value: v.name, detail: strings.TrimSpace(v.args + "  " + v.help)})
		}
	} else if v := p.verb(verb); v != nil {
		all, pattern = p.items(v), arg
	}
	p.cur = 0
	if pattern == "" {
		p.list = all[:min(len(all), maxPaletteList)]
		return
	}
	// What holds the typed text as it is comes first (a VIN's start, a
	// command's name); fuzzy matching finds the rest.
	lower := strings.ToLower(pattern)
	p.list = p.list[:0:0]
	for _, it := range all {
		if strings.Contains(it.key(), lower) {
			p.list = append(p.list, it)
		}
		if len(p.list) == maxPaletteList {
			break
		}
	}
	if len(p.list) > 0 {
		slices.SortStableFunc(p.list, func(a, b paletteItem) int {
			ap, bp := strings.HasPrefix(a.key(), lower), strings.HasPrefix(b.key(), lower)
			switch {
			case ap && !bp:
				return -1
			case bp && !ap:
				return 1
			}
			return 0
		})
		return
	}
	matches := fuzzy.FindFrom(pattern, paletteSource(all))
	p.list = make([]paletteItem, 0, min(len(matches), maxPaletteList))
	for _, mt := range matches {
		if len(p.list) == maxPaletteList {
			break
		}
		p.list = append(p.list, all[mt.Index])
	}
}

// complete puts the highlighted entry in the input.
func (p *palette) complete() {
	if len(p.list) == 0 {
		return
	}
	verb, _, spaced := p.parse()
	pick := p.list[clamp(p.cur, 0, len(p.list)-1)].value
	if !spaced {
		p.input.SetValue(pick + " ")
	} else if v := p.verb(verb); v != nil {
		p.input.SetValue(v.name + " " + pick)
	}
	p.input.CursorEnd()
	p.problem = ""
	p.refresh()
}

// resolve is the verb and argument enter would run, or why it cannot.
func (p *palette) resolve() (*paletteVerb, string, string) {
	verb, arg, spaced := p.parse()
	if verb == "" {
		return nil, "", "type a command: " + p.verbNames()
	}
	v := p.verb(verb)
	if v == nil && !spaced && len(p.list) > 0 {
		v = p.verb(p.list[clamp(p.cur, 0, len(p.list)-1)].value)
	}
	if v == nil {
		return nil, "", fmt.Sprintf("unknown command %q: %s", verb, p.verbNames())
	}
	items := p.items(v)
	if v.free || items == nil || arg == "" {
		return v, arg, ""
	}
	for _, it := range items {
		if strings.EqualFold(it.value, arg) {
			return v, it.value, ""
		}
	}
	if v.exact {
		hint := ""
		if len(p.list) > 0 {
			hint = fmt.Sprintf("; did you mean %s? (%s completes)", p.list[0].value, keyName(p.c.Keys.Complete))
		}
		return nil, "", fmt.Sprintf("%s: %q is not one of them%s", v.name, arg, hint)
	}
	if len(p.list) > 0 && spaced {
		return v, p.list[clamp(p.cur, 0, len(p.list)-1)].value, ""
	}
	return nil, "", fmt.Sprintf("%s: nothing matches %q", v.name, arg)
}

func (p *palette) run() (tea.Cmd, string) {
	v, arg, problem := p.resolve()
	if problem != "" {
		return nil, problem
	}
	return v.run(arg)
}

func (p *palette) verbNames() string {
	names := make([]string, len(p.verbs))
	for i, v := range p.verbs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

func (p *palette) View() string {
	st := p.c.Styles
	lines := []string{st.Header.Render("Command palette") + st.Dim.Render(" — "+keyName(p.c.Keys.Complete)+" completes, ↑/↓ choose, "+keyName(p.c.Keys.Send)+" runs, "+keyName(p.c.Keys.Back)+" closes"), p.input.View()}
	switch {
	case p.problem != "":
		for _, l := range wrapText("✗ "+p.problem, max(p.w, 10), 3) {
			lines = append(lines, st.Error.Render(l))
		}
	case p.preview != "":
		for _, l := range wrapText("↵ "+p.preview, max(p.w, 10), 2) {
			lines = append(lines, st.Notice.Render(l))
		}
	default:
		lines = append(lines, "")
	}
	lines = append(lines, "")
	room := max(p.h-len(lines)-1, 1)
	first := max(p.cur-room+1, 0)
	valW := 0
	for _, it := range p.list[first:min(len(p.list), first+room)] {
		valW = max(valW, len([]rune(it.value)))
	}
	valW = min(valW, 40)
	for i := first; i < len(p.list) && i < first+room; i++ {
		it := p.list[i]
		marker := "  "
		if i == p.cur {
			marker = "▸ "
		}
		line := marker + pad(it.value, valW) + "  " + st.Dim.Render(it.detail)
		if i == p.cur {
			line = st.Selected.Render(pad(marker+pad(it.value, valW)+"  "+it.detail, p.w))
		}
		lines = append(lines, line)
	}
	if len(p.list) == 0 {
		if verb, _, spaced := p.parse(); spaced {
			if v := p.verb(verb); v != nil && v.items == nil && v.free {
				lines = append(lines, st.Dim.Render("  "+v.args+": "+v.help))
			}
		}
	} else if n := len(p.list); n > room {
		lines = append(lines, st.Dim.Render(fmt.Sprintf("  … %d entries", n)))
	}
	return fit(strings.Join(lines, "\n"), p.w, p.h)
}

// --- the verbs ---------------------------------------------------------

// openPalette builds the palette on the console as it is now.
func (m *Model) openPalette() tea.Cmd {
	return m.modals.open(newPalette(m.c, m.paletteVerbs()))
}

func (m *Model) paletteVerbs() []paletteVerb {
	return []paletteVerb{
		{name: "vin", args: "VIN", help: "jump to a vehicle in every view", items: m.vehicleItems,
			run: func(arg string) (tea.Cmd, string) {
				if arg == "" {
					return nil, "vin: type a VIN (or part of one)"
				}
				return m.jumpTo(arg), ""
			},
			preview: func(arg string) string {
				if arg == "" {
					return "type a VIN or part of one"
				}
				return "jump to " + arg + " in every view"
			}},
		{name: "send", args: "COMMAND", help: "send to the vehicle selected in Commands (or the marked ones), through the usual flow",
			items: commandItems, exact: true, run: m.paletteSend, preview: m.sendPreview},
		{name: "filter", args: "[TEXT | status=S brand=B]", help: "filter the view (status= and brand= filter Clearance); empty clears",
			items: m.filterItems, free: true, run: m.paletteFilter,
			preview: func(arg string) string {
				if arg == "" {
					return "clear the filter of " + m.focus.String()
				}
				return "filter " + m.filterTarget(arg).String() + " by " + arg
			}},
		{name: "sort", args: "COLUMN [desc]", help: "sort Clearance", items: sortItems, run: m.paletteSort,
			preview: func(arg string) string { return "sort Clearance by " + arg }},
		{name: "profile", args: "[NAME]", help: "profiles beside the config, and how to switch", items: m.profileItems, run: m.paletteProfile,
			preview: func(arg string) string {
				if arg == "" {
					return "show the profiles and how to switch"
				}
				return "how to switch to profile " + arg
			}},
		{name: "link", args: "[on|off]", help: "selecting a vehicle selects it in every view", items: func() []paletteItem {
			return []paletteItem{{value: "on", detail: "selection follows across the views"}, {value: "off", detail: "each view keeps its own"}}
		}, run: m.paletteLink, preview: func(arg string) string { return "link selection " + m.linkArg(arg) }},
		{name: "export", args: "FILE.csv|FILE.ndjson", help: "write the rows of the focused view", free: true,
			run: func(arg string) (tea.Cmd, string) {
				if arg == "" {
					return m.openExport(), ""
				}
				return m.exportTo(arg)
			},
			preview: func(arg string) string { return "export " + m.focus.String() + " to " + arg }},
		{name: "help", help: "every key, and what the numbers on screen mean", run: func(string) (tea.Cmd, string) {
			m.showHelp = true
			return nil, ""
		}, preview: func(string) string { return "show help" }},
	}
}

// vehicleItems is every vehicle the console knows: the clearance list and
// the feed.
func (m *Model) vehicleItems() []paletteItem {
	seen := make(map[string]int, len(m.clearance.rows)+len(m.telemetry.vehicles))
	var out []paletteItem
	for i := range m.clearance.rows {
		v := m.clearance.rows[i].v
		seen[v.VIN] = len(out)
		out = append(out, paletteItem{value: v.VIN, detail: v.Brand + " · " + string(v.Status), lower: strings.ToLower(v.VIN)})
	}
	for i := range m.telemetry.vehicles {
		v := &m.telemetry.vehicles[i]
		if j, ok := seen[v.ID]; ok {
			out[j].detail += " · on the feed"
			continue
		}
		d := "on the feed"
		if v.Pseudonym {
			d = "pseudonym on the feed"
		}
		out = append(out, paletteItem{value: v.ID, detail: d, lower: strings.ToLower(v.ID)})
	}
	slices.SortFunc(out, func(a, b paletteItem) int { return strings.Compare(a.value, b.value) })
	return out
}

func (m *Model) jumpTo(id string) tea.Cmd {
	found, missing := m.jump(id)
	if len(found) == 0 {
		return notify(levelError, "vin: "+id+" is in no view")
	}
	text := "jumped to " + id + ": selected in " + strings.Join(found, ", ")
	if len(missing) > 0 {
		text += "; not listed in " + strings.Join(missing, ", ")
	}
	return notify(levelInfo, text)
}

func commandItems() []paletteItem {
	var out []paletteItem
	for _, c := range commands.KnownCommands {
		d := ""
		if commands.NeedsConfirmation(c) {
			d = "asks for the platform's code"
		}
		out = append(out, paletteItem{value: c, detail: d})
	}
	return out
}

func (m *Model) paletteSend(name string) (tea.Cmd, string) {
	if name == "" {
		return nil, "send: name the command (" + keyName(m.c.Keys.Complete) + " completes)"
	}
	if why := m.commands.cannotSend(); why != "" {
		return nil, "send: " + why
	}
	m.focus = paneCommands
	return m.commands.sendNamed(name), ""
}

func (m *Model) sendPreview(name string) string {
	if name == "" {
		return "name the command"
	}
	if n := m.c.marks.len(); n > 0 {
		return fmt.Sprintf("send %s to the %d marked vehicles (one confirmation lists them)", name, n)
	}
	v := m.commands.selectedVIN()
	if v == "" {
		return "send " + name + ": Commands asks for the VIN first"
	}
	return "send " + name + " to " + v + " (selected in Commands), through the usual flow"
}

// filterable is a pane with a filter the palette can set.
type filterable interface {
	setFilter(q string)
}

// filterTarget: field terms (status=, brand=) are Clearance's; plain text
// filters the focused view.
func (m *Model) filterTarget(q string) paneID {
	if strings.Contains(q, "=") {
		return paneClearance
	}
	if _, ok := m.panes[m.focus].(filterable); ok {
		return m.focus
	}
	return paneClearance
}

func (m *Model) paletteFilter(q string) (tea.Cmd, string) {
	if strings.Contains(q, "=") {
		if err := checkFieldFilter(q); err != nil {
			return nil, "filter: " + err.Error()
		}
	}
	target := m.filterTarget(q)
	f, ok := m.panes[target].(filterable)
	if !ok {
		return nil, "filter: " + target.String() + " has no filter"
	}
	before := m.selectedIn(target)
	f.setFilter(q)
	m.focus = target
	m.follow(target, before)
	return nil, ""
}

func (m *Model) filterItems() []paletteItem {
	var out []paletteItem
	for _, s := range clearanceStatuses() {
		out = append(out, paletteItem{value: "status=" + s, detail: "Clearance rows in this state"})
	}
	brands := map[string]bool{}
	for i := range m.clearance.rows {
		brands[m.clearance.rows[i].v.Brand] = true
	}
	for _, b := range slices.Sorted(maps.Keys(brands)) {
		out = append(out, paletteItem{value: "brand=" + b, detail: "Clearance rows of this brand"})
	}
	return out
}

func sortItems() []paletteItem {
	var out []paletteItem
	for c, name := range sortNames {
		out = append(out, paletteItem{value: name, detail: "by " + strings.ToLower(columnNames[c]) + ", ascending"},
			paletteItem{value: name + " desc", detail: "by " + strings.ToLower(columnNames[c]) + ", descending"})
	}
	return out
}

func (m *Model) paletteSort(arg string) (tea.Cmd, string) {
	f := strings.Fields(strings.ToLower(arg))
	if len(f) == 0 {
		return nil, "sort: name a column: " + strings.Join(sortNames[:], ", ")
	}
	col := slices.Index(sortNames[:], f[0])
	if col < 0 {
		return nil, fmt.Sprintf("sort: no column %q (columns: %s)", f[0], strings.Join(sortNames[:], ", "))
	}
	desc := len(f) > 1 && f[1] == "desc"
	before := m.selectedIn(paneClearance)
	m.clearance.sortBy(col, desc)
	m.focus = paneClearance
	m.follow(paneClearance, before)
	return nil, ""
}

func (m *Model) profileItems() []paletteItem {
	var out []paletteItem
	for _, p := range m.profiles {
		d := ""
		if p == m.profile || (p == config.DefaultProfile && m.profile == "") {
			d = "running now"
		}
		out = append(out, paletteItem{value: p, detail: d})
	}
	return out
}

// paletteProfile explains how to switch: the backend (the API clients, the
// MQTT session, the journal) is built once per process and, over SSH,
// shared by every session, so a profile is chosen when fleetdeck starts.
func (m *Model) paletteProfile(name string) (tea.Cmd, string) {
	current := m.profile
	if current == "" {
		current = config.DefaultProfile
	}
	var lines []string
	if m.remote {
		lines = append(lines, "Every session on this ops box shares its profile ("+current+"): the API clients, the MQTT connection and the journal are built once for all of them.",
			"Another profile needs another `fleetdeck serve` (ask whoever runs the ops box).")
		return m.modals.open(newMessage(m.c, false, lines...)), ""
	}
	if len(m.profiles) == 0 {
		lines = append(lines, "No profiles: profiles are NAME.toml files beside config.toml, and this console runs without a config file (the embedded sandbox).")
		return m.modals.open(newMessage(m.c, false, lines...)), ""
	}
	lines = append(lines, "Profiles: "+strings.Join(m.profiles, ", ")+" (now: "+current+").",
		"A profile is read when fleetdeck starts (the API clients, the MQTT session and the journal are built once per process), so switching means starting again:")
	if name == "" {
		lines = append(lines, "Quit, then run:", "  "+m.profileCmd+" --profile NAME")
		return m.modals.open(newMessage(m.c, false, lines...)), ""
	}
	if !slices.Contains(m.profiles, name) {
		return nil, fmt.Sprintf("profile: no profile %q (profiles: %s)", name, strings.Join(m.profiles, ", "))
	}
	run := m.profileCmd + " --profile " + name
	if name == config.DefaultProfile {
		run = m.profileCmd
	}
	lines = append(lines, "Quit ("+keyName(m.c.Keys.Quit)+"), then run:", "  "+run, "("+keyName(m.c.Keys.Copy)+" copies this message)")
	return m.modals.open(newMessage(m.c, false, lines...)), ""
}

func (m *Model) linkArg(arg string) string {
	switch arg {
	case "on", "off":
		return arg
	}
	if m.linked {
		return "off"
	}
	return "on"
}

func (m *Model) paletteLink(arg string) (tea.Cmd, string) {
	m.linked = m.linkArg(arg) == "on"
	return notify(levelInfo, "linked selection "+onOff(m.linked)), ""
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

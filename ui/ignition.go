package ui

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The confirmation modal: one console-wide overlay per send flow that
// needs the operator (a policy confirmation, a reason, an ignition code,
// the moving-vehicle check). It shows, at every size, what is about to
// happen to which vehicle: the command, the VIN in full, brand and
// clearance, the vehicle's live state with the age of each value, the
// reason, the platform's alert in full with an English line beside it, and
// the code's remaining validity. It holds no flow logic: the Commands pane
// owns the flow (sendflow.go) and moves the modal from stage to stage.

// modalStage is what the modal asks for now.
type modalStage uint8

const (
	stageConfirm     modalStage = iota // y/n: the policy asks for a confirmation
	stageReason                        // one line: why
	stageRequest                       // the approval request is being written
	stageAwaitCode                     // step one in flight
	stageCode                          // type the code
	stageMoving                        // the vehicle moves (or nobody knows): type the VIN's last 4
	stageSendingCode                   // step two in flight
)

// busy reports a stage that waits for the network, not for the operator.
func (s modalStage) busy() bool {
	return s == stageRequest || s == stageAwaitCode || s == stageSendingCode
}

// Limits of what the modal's inputs take.
const (
	maxReasonRunes = 200
	modalMaxWidth  = 120 // wider lines are hard to read: the box stops here
	sideBySideMin  = 100 // inner width from which Portuguese and English stand side by side
	codeWarnLeft   = 30 * time.Second
)

type sendModal struct {
	c     *Common
	pane  *Commands
	f     *cmdFlow
	stage modalStage
	input textinput.Model
	note  string // why a step repeats, or what to fix; shown under the input
	facts vehicleFacts
	off   int // first content line shown, when the box is taller than the screen
	w, h  int
}

func newSendModal(pane *Commands, f *cmdFlow) *sendModal {
	md := &sendModal{c: pane.c, pane: pane, f: f}
	md.refresh()
	return md
}

// refresh reads the vehicle's facts again (on open, every second, on each
// key): ages are computed while drawing, values here.
func (md *sendModal) refresh() { md.facts = readFacts(md.c, md.f.vin) }

// enter moves the modal to stage s with a fresh, empty input where s takes
// one (never pre-filled: the operator types the code, the VIN, the reason).
func (md *sendModal) enter(s modalStage) tea.Cmd {
	md.stage = s
	md.refresh()
	ti := textinput.New()
	styleInput(&ti, md.c.Styles)
	ti.Prompt = "› "
	switch s {
	case stageReason:
		ti.Placeholder, ti.CharLimit = "one line: why this vehicle is being immobilised", maxReasonRunes
		if !md.isDisable() {
			ti.Placeholder = "one line: why this command is needed"
		}
	case stageCode:
		ti.Placeholder, ti.CharLimit = "6 digits", 6
	case stageMoving:
		ti.Placeholder, ti.CharLimit = "last 4 characters of the VIN", 4
	default:
		md.input = ti
		md.follow()
		return nil
	}
	ti.Width = max(md.innerWidth()-4, 8)
	md.input = ti
	md.follow()
	return md.input.Focus()
}

func (md *sendModal) isDisable() bool { return md.f.command == "disable_ignition" }

func (md *sendModal) takesText() bool {
	return md.stage == stageReason || md.stage == stageCode || md.stage == stageMoving
}

func (md *sendModal) Init() tea.Cmd {
	if md.takesText() {
		return md.input.Focus()
	}
	return nil
}

// Capturing: the modal takes every key (q included): it is typed into,
// or any other key answers its question.
func (md *sendModal) Capturing() bool { return true }

func (md *sendModal) SetSize(w, h int) {
	md.w, md.h = w, h
	md.input.Width = max(md.innerWidth()-4, 8)
	md.follow()
}

func (md *sendModal) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case clockMsg:
		md.refresh()
		return md, nil
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			md.scroll(-3)
		case tea.MouseButtonWheelDown:
			md.scroll(3)
		}
		return md, nil
	case tea.KeyMsg:
		return md.key(msg)
	}
	if md.takesText() {
		var cmd tea.Cmd
		md.input, cmd = md.input.Update(msg)
		return md, cmd
	}
	return md, nil
}

func (md *sendModal) key(k tea.KeyMsg) (overlay, tea.Cmd) {
	keys := md.c.Keys
	md.refresh()
	// Scrolling never answers a question: arrows and page keys that are
	// not typed letters (j and k are text here).
	if k.Type != tea.KeyRunes {
		switch {
		case key.Matches(k, keys.PageUp):
			md.scroll(-max(md.h-3, 1))
			return md, nil
		case key.Matches(k, keys.PageDown):
			md.scroll(max(md.h-3, 1))
			return md, nil
		case k.Type == tea.KeyUp:
			md.scroll(-1)
			return md, nil
		case k.Type == tea.KeyDown:
			md.scroll(1)
			return md, nil
		}
	}
	if key.Matches(k, keys.Back) {
		if md.stage.busy() && md.stage != stageAwaitCode {
			md.note = "waiting for the platform's answer: it cannot be called back"
			return md, nil
		}
		return nil, md.pane.abortFlow(md.f)
	}
	switch md.stage {
	case stageConfirm:
		if key.Matches(k, keys.Confirm) {
			return md, md.pane.confirmed(md.f)
		}
		// Any other key keeps things as they are.
		return nil, md.pane.abortFlow(md.f)
	case stageRequest, stageAwaitCode, stageSendingCode:
		return md, nil
	}
	if key.Matches(k, keys.Send) {
		value := md.input.Value()
		var cmd tea.Cmd
		var problem string
		switch md.stage {
		case stageReason:
			cmd, problem = md.pane.reasonGiven(md.f, value)
		case stageCode:
			cmd, problem = md.pane.codeTyped(md.f, value)
		case stageMoving:
			cmd, problem = md.pane.vinTyped(md.f, value)
		}
		if problem != "" {
			md.note = problem
		}
		md.follow()
		return md, cmd
	}
	k, ok := keepRunes(k, md.allow)
	if !ok {
		return md, nil
	}
	var cmd tea.Cmd
	md.input, cmd = md.input.Update(k)
	md.note = ""
	return md, cmd
}

// allow filters what each input takes: digits for the code, VIN
// characters for the VIN check, printable text for the reason.
func (md *sendModal) allow(r rune) bool {
	switch md.stage {
	case stageCode:
		return r >= '0' && r <= '9'
	case stageMoving:
		return r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
	}
	return termsafe.Safe(string(r)) && r != '\n' && r != '\r' && r != '\t'
}

func (md *sendModal) ShortHelp() []key.Binding {
	k := md.c.Keys
	switch md.stage {
	case stageConfirm:
		return []key.Binding{withHelp(k.Confirm, "send"), anyOtherKey}
	case stageReason:
		return []key.Binding{withHelp(k.Send, "continue"), withHelp(k.Back, "abort"), scrollKeys}
	case stageCode:
		return []key.Binding{withHelp(k.Send, "confirm with the code"), withHelp(k.Back, "abort"), scrollKeys}
	case stageMoving:
		return []key.Binding{withHelp(k.Send, "immobilise it"), withHelp(k.Back, "abort"), scrollKeys}
	case stageAwaitCode:
		return []key.Binding{withHelp(k.Back, "abort"), scrollKeys}
	}
	return []key.Binding{scrollKeys}
}

// Help-only bindings (help leaves out a binding without keys).
var (
	anyOtherKey = key.NewBinding(key.WithKeys("esc"), key.WithHelp("any other key", "keep it"))
	scrollKeys  = key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("↑/↓ pgup/pgdn", "scroll"))
)

// --- layout ----------------------------------------------------------------

// boxWidth is the modal's outer width: the whole body on a narrow screen,
// at most modalMaxWidth on a wide one.
func (md *sendModal) boxWidth() int { return clamp(md.w, 20, modalMaxWidth) }

// innerWidth is the text width inside the border and padding.
func (md *sendModal) innerWidth() int { return max(md.boxWidth()-4, 10) }

// visibleRows is how many content lines fit inside the border.
func (md *sendModal) visibleRows() int { return max(md.h-2, 1) }

func (md *sendModal) scroll(delta int) {
	lines, _ := md.content()
	md.off = clamp(md.off+delta, 0, max(len(lines)-md.visibleRows(), 0))
}

// follow scrolls so that the line the operator types on (or the question)
// is in view.
func (md *sendModal) follow() {
	lines, focus := md.content()
	rows := md.visibleRows()
	maxOff := max(len(lines)-rows, 0)
	// The input and the note under it stay clear of the "more" markers.
	if focus > md.off+rows-3 {
		md.off = focus - rows + 3
	}
	if focus < md.off+1 {
		md.off = focus - 1
	}
	md.off = clamp(md.off, 0, maxOff)
}

// content is every line of the modal for its inner width, and the index of
// the line the operator acts on.
func (md *sendModal) content() ([]string, int) {
	c, f := md.c, md.f
	st := c.Styles
	w := md.innerWidth()
	now := c.Now()
	const labelW = 10
	label := func(s string) string { return st.Dim.Render(pad(s, labelW)) }
	labelled := func(name, text string, style func(string) string) []string {
		var out []string
		for i, l := range wrapText(text, max(w-labelW, 10), 64) {
			if style != nil {
				l = style(l)
			}
			if i == 0 {
				out = append(out, label(name)+l)
			} else {
				out = append(out, strings.Repeat(" ", labelW)+l)
			}
		}
		return out
	}

	lines := []string{st.Notice.Render(truncate(md.title(), w)), ""}
	lines = append(lines, factLines(c, md.facts, w)...)
	if f.reason != "" {
		lines = append(lines, labelled("Reason", f.reason, nil)...)
	}
	if f.approvedBy != "" {
		lines = append(lines, labelled("Approved", f.approvedBy, nil)...)
	}
	if conf := f.conf; conf != nil {
		lines = append(lines, "")
		lines = append(lines, md.alertLines(conf.Message, w)...)
	}
	lines = append(lines, "")

	focus := len(lines)
	switch md.stage {
	case stageConfirm:
		q := "Send " + termsafe.String(f.command) + " to " + termsafe.String(f.vin) + "?"
		lines = append(lines, st.Bold.Render(truncate(q, w)),
			st.Dim.Render(keyName(c.Keys.Confirm)+": send · any other key: keep it"))
	case stageReason:
		ask := "Why is this vehicle being immobilised? One line, required: it goes into the journal and the history."
		if !md.isDisable() {
			ask = "Why is this command needed? One line, required: the approver reads it, and it goes into the journal."
		}
		for _, l := range wrapText(ask, w, 3) {
			lines = append(lines, st.Bold.Render(l))
		}
		focus = len(lines)
		lines = append(lines, md.input.View())
	case stageRequest:
		lines = append(lines, st.Dim.Render("Asking a second operator to approve…"))
	case stageAwaitCode:
		lines = append(lines, st.Dim.Render("Requesting a confirmation code from the platform…"))
	case stageCode, stageMoving:
		lines = append(lines, md.codeLine(now))
		if md.stage == stageCode {
			if f.conf != nil && (commands.IssuedCode{At: f.issued}).Expired(now) {
				lines = append(lines, st.Warning.Render(truncate(keyName(c.Keys.Send)+": request a new code · "+keyName(c.Keys.Back)+": abort", w)))
			} else {
				lines = append(lines, st.Bold.Render(truncate("Type the code to confirm:", w)))
			}
			focus = len(lines)
			lines = append(lines, md.input.View())
			break
		}
		for _, l := range wrapText("⚠ "+md.movingText(now), w, 3) {
			lines = append(lines, st.Warning.Render(l))
		}
		for _, l := range wrapText("Type the last 4 characters of the VIN above to immobilise it anyway:", w, 2) {
			lines = append(lines, st.Bold.Render(l))
		}
		focus = len(lines)
		lines = append(lines, md.input.View())
	case stageSendingCode:
		lines = append(lines, st.Dim.Render(truncate("Sending "+termsafe.String(f.command)+" with the code…", w)))
	}
	if md.note != "" {
		for _, l := range wrapText(md.note, w, 4) {
			lines = append(lines, st.Warning.Render(l))
		}
	}
	return lines, focus
}

// title says what the command does in words, not only its name.
func (md *sendModal) title() string {
	cmd := termsafe.String(md.f.command)
	switch md.f.command {
	case "disable_ignition":
		return "disable_ignition — switch the ignition off and immobilise the vehicle"
	case "enable_ignition":
		return "enable_ignition — switch the ignition back on"
	case "unlock_door":
		return "unlock_door — unlock the vehicle's doors"
	case "lock_door":
		return "lock_door — lock the vehicle's doors"
	}
	return cmd + " — remote command"
}

// alertLines is the platform's message in full and the English line beside
// it (side by side when there is room, one under the other when not).
func (md *sendModal) alertLines(message string, w int) []string {
	st := md.c.Styles
	pt := termsafe.String(message)
	en, known := commands.EnglishMessage(pt)
	if !known {
		en = "(no translation: this is the platform's message, in Portuguese)"
	}
	const labelW = 10
	if w >= sideBySideMin {
		col := (w - labelW - 3) / 2
		left := wrapText(pt, col, 64)
		right := wrapText(en, col, 64)
		out := []string{st.Dim.Render(pad("", labelW)) + st.Header.Render(pad("Platform (Portuguese)", col)) + "   " + st.Header.Render("In English")}
		for i := 0; i < max(len(left), len(right)); i++ {
			var l, r string
			if i < len(left) {
				l = left[i]
			}
			if i < len(right) {
				r = right[i]
				if !known {
					r = st.Dim.Render(r)
				}
			}
			out = append(out, strings.Repeat(" ", labelW)+st.Bold.Render(pad(l, col))+"   "+r)
		}
		return out
	}
	var out []string
	for i, l := range wrapText(pt, w-labelW, 64) {
		name := ""
		if i == 0 {
			name = "Platform"
		}
		out = append(out, st.Dim.Render(pad(name, labelW))+st.Bold.Render(l))
	}
	for i, l := range wrapText(en, w-labelW, 64) {
		name := ""
		if i == 0 {
			name = "English"
		}
		if !known {
			l = st.Dim.Render(l)
		}
		out = append(out, st.Dim.Render(pad(name, labelW))+l)
	}
	return out
}

// codeLine is the code and its remaining validity, counting down with the
// console's clock.
func (md *sendModal) codeLine(now time.Time) string {
	st := md.c.Styles
	f := md.f
	if f.conf == nil {
		return ""
	}
	left := f.issued.Add(commands.CodeTTL).Sub(now)
	valid := "valid " + countdown(left)
	switch {
	case left <= 0:
		valid = st.Error.Render("expired: codes are valid " + shortDuration(commands.CodeTTL))
	case left < codeWarnLeft:
		valid = st.Warning.Render(valid)
	}
	return st.Dim.Render(pad("Code", 10)) + st.Code.Render(termsafe.String(f.conf.Code)) + " · " + valid
}

// movingText says why the VIN check is asked: the vehicle moves, or the
// console cannot tell that it does not.
func (md *sendModal) movingText(now time.Time) string {
	f := md.facts
	text, _ := f.speed.describe(f, "speed", now)
	if f.motion(now) == motionMoving {
		return "The vehicle is moving: " + text + ". Switching its ignition off while it moves can put people in danger."
	}
	return "The console cannot tell that the vehicle is stopped: " + text + "."
}

func (md *sendModal) View() string {
	if md.w <= 0 || md.h <= 0 {
		return ""
	}
	st := md.c.Styles
	all, _ := md.content()
	rows := md.visibleRows()
	// The content may have changed since the last scroll: clamp in a copy.
	off := clamp(md.off, 0, max(len(all)-rows, 0))
	end := min(off+rows, len(all))
	lines := append([]string(nil), all[off:end]...)
	if off > 0 {
		lines[0] = st.Dim.Render("↑ more above (↑/pgup)")
	}
	if end < len(all) {
		lines[len(lines)-1] = st.Dim.Render("↓ more below (↓/pgdn)")
	}
	bw := md.boxWidth()
	for i, l := range lines {
		lines[i] = pad(l, bw-4)
	}
	box := strings.Split(st.Dialog.Width(bw-2).Render(strings.Join(lines, "\n")), "\n")
	// Centred across the body; from the top when it fills the height.
	left := strings.Repeat(" ", max((md.w-bw)/2, 0))
	var b strings.Builder
	b.WriteString(strings.Repeat("\n", max((md.h-len(box))/2, 0)))
	for i, l := range box {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(left + l)
	}
	return fit(b.String(), md.w, md.h)
}

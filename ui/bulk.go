package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// A bulk action (revoke or cancel the marked clearances, send a command to
// the marked vehicles) is a console-wide overlay: it lists every marked
// vehicle with what will be done to it (or why it will be skipped) behind
// one confirmation, then runs the calls one after the other, each row
// showing its own outcome as it comes. Each call goes through the same
// journaled service as a single action, so the journal has one record per
// vehicle. The back key stops it after the call in flight.

type bulkState uint8

const (
	bulkWaiting bulkState = iota
	bulkRunning
	bulkOK
	bulkFailed
	bulkSkipped
	bulkStopped
)

// bulkItem is one vehicle of a bulk action.
type bulkItem struct {
	vin    string
	label  string // what will be done to it ("revoke", "send lock_door")
	skip   string // why nothing will be done ("" when something will)
	state  bulkState
	result string
}

// bulkSpec is what a pane decides about a bulk action.
type bulkSpec struct {
	title string // the question
	verb  string // what the confirm key does ("revoke", "send")
	how   string // how it goes, under the question ("" : one call after the other)
	items []bulkItem
	// run makes one call, on a command goroutine; its text is the row's
	// outcome and payload goes to onResult.
	run func(ctx context.Context, it bulkItem) (text string, payload any, err error)
	// Or, instead of run: start hands every item to be acted on to
	// another flow (the Commands pane's send flow, which applies the
	// policy: its reasons, approvals and codes) and observe says where each
	// stands; dequeue takes back one that has not started (the back key).
	start   func(items []bulkItem) tea.Cmd
	observe func(it bulkItem) (bulkState, string)
	dequeue func(it bulkItem) bool
	// onResult and done run in Update: they may change the pane (record a
	// sent command, refresh the list).
	onResult func(it bulkItem, payload any) tea.Cmd
	// report tells the status bar how each call went (the provider's
	// state follows the last call).
	report  func(err error) tea.Cmd
	done    func(succeeded []string) tea.Cmd
	timeout time.Duration
}

// bulkResult is one call's answer, inside an envelope for the modal.
type bulkResult struct {
	i       int
	text    string
	payload any
	err     error
}

type bulkAction struct {
	c       *Common
	spec    bulkSpec
	started bool
	stop    bool
	// observing: the items were handed to start; observe reports them.
	observing bool
	next      int    // the item to run next
	seq       uint64 // the call in flight
	win       window
	w, h      int
}

func newBulk(c *Common, spec bulkSpec) *bulkAction {
	for i := range spec.items {
		if spec.items[i].skip != "" {
			spec.items[i].state = bulkSkipped
		}
	}
	if spec.timeout <= 0 {
		spec.timeout = mutateTimeout
	}
	b := &bulkAction{c: c, spec: spec}
	b.win.setCount(len(spec.items))
	return b
}

func (b *bulkAction) Init() tea.Cmd { return nil }

// runnable counts the items that will be acted on.
func (b *bulkAction) runnable() int {
	n := 0
	for _, it := range b.spec.items {
		if it.skip == "" {
			n++
		}
	}
	return n
}

// busy: a call is in flight, or handed items are not all done (a server
// shutting down waits for them).
func (b *bulkAction) busy() bool { return b.started && (b.seq != 0 || b.observing) }

func (b *bulkAction) finished() bool { return b.started && b.seq == 0 }

func (b *bulkAction) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k := b.c.Keys
	if b.observing {
		// Whatever arrives (the clock's tick at least), look again.
		if cmd := b.follow(); cmd != nil {
			return b, cmd
		}
	}
	switch msg := msg.(type) {
	case envelope:
		r, ok := msg.msg.(bulkResult)
		if !ok || msg.seq != b.seq {
			return b, nil
		}
		return b, b.result(r)
	case tea.MouseMsg:
		b.win.wheel(msg)
		return b, nil
	case tea.KeyMsg:
		if b.win.navigate(msg, k) {
			return b, nil
		}
		switch {
		case !b.started && key.Matches(msg, k.Confirm):
			if b.runnable() == 0 {
				return nil, nil
			}
			b.started = true
			if b.spec.start != nil {
				return b, b.handOver()
			}
			return b, b.runNext()
		case !b.started && key.Matches(msg, k.Back):
			return nil, notify(levelInfo, b.spec.verb+": nothing done (canceled)")
		case b.busy() && key.Matches(msg, k.Back):
			b.stop = true
			if b.observing {
				return b, b.takeBack()
			}
			return b, nil
		case b.finished() && key.Matches(msg, k.Copy):
			return b, b.c.copy("the results", b.summaryText())
		case b.finished():
			return nil, nil
		}
	}
	return b, nil
}

// bulkNudge tells a bulk action following another flow to look again.
type bulkNudge struct{}

// nudgeBulk hands the top console-wide overlay a bulkNudge when it is a
// bulk action following the Commands pane's flows (which answer the pane,
// not the overlay).
func (m *Model) nudgeBulk() tea.Cmd {
	if b, ok := m.modals.top().(*bulkAction); ok && b.observing {
		return m.modals.update(bulkNudge{})
	}
	return nil
}

// handOver gives the items to the flow that runs them.
func (b *bulkAction) handOver() tea.Cmd {
	var items []bulkItem
	for i := range b.spec.items {
		if b.spec.items[i].skip == "" {
			b.spec.items[i].result = "queued"
			items = append(items, b.spec.items[i])
		}
	}
	b.observing = true
	return b.spec.start(items)
}

// follow reads where each handed item stands and ends the action when
// every one has.
func (b *bulkAction) follow() tea.Cmd {
	pending := false
	for i := range b.spec.items {
		it := &b.spec.items[i]
		if it.skip != "" || it.state == bulkStopped {
			continue
		}
		it.state, it.result = b.spec.observe(*it)
		if it.state == bulkWaiting || it.state == bulkRunning {
			pending = true
		}
	}
	if pending {
		return nil
	}
	b.observing = false
	return b.end()
}

// takeBack withdraws the handed items that have not started.
func (b *bulkAction) takeBack() tea.Cmd {
	for i := range b.spec.items {
		it := &b.spec.items[i]
		if it.skip == "" && it.state == bulkWaiting && b.spec.dequeue != nil && b.spec.dequeue(*it) {
			it.state, it.result = bulkStopped, "not done: stopped"
		}
	}
	return b.follow()
}

// runNext starts the next item's call, or ends the action.
func (b *bulkAction) runNext() tea.Cmd {
	for b.next < len(b.spec.items) && b.spec.items[b.next].skip != "" {
		b.next++
	}
	if b.next >= len(b.spec.items) || b.stop {
		for i := b.next; i < len(b.spec.items); i++ {
			if b.spec.items[i].skip == "" {
				b.spec.items[i].state, b.spec.items[i].result = bulkStopped, "not done: stopped"
			}
		}
		b.next = len(b.spec.items)
		b.seq = 0
		return b.end()
	}
	i := b.next
	b.next++
	b.spec.items[i].state = bulkRunning
	b.win.set(i)
	it := b.spec.items[i]
	run := b.spec.run
	b.seq++
	return b.c.call(paneModal, b.seq, b.spec.timeout, func(ctx context.Context) tea.Msg {
		text, payload, err := run(ctx, it)
		return bulkResult{i: i, text: text, payload: payload, err: err}
	})
}

func (b *bulkAction) result(r bulkResult) tea.Cmd {
	it := &b.spec.items[r.i]
	if r.err != nil {
		it.state, it.result = bulkFailed, errorText(r.err)
	} else {
		it.state, it.result = bulkOK, r.text
	}
	var cmds []tea.Cmd
	if b.spec.report != nil {
		cmds = append(cmds, b.spec.report(r.err))
	}
	if r.err == nil && b.spec.onResult != nil {
		cmds = append(cmds, b.spec.onResult(*it, r.payload))
	}
	return tea.Batch(append(cmds, b.runNext())...)
}

// end reports the outcome in a notification and hands the pane what
// succeeded.
func (b *bulkAction) end() tea.Cmd {
	var ok []string
	failed := 0
	for _, it := range b.spec.items {
		switch it.state {
		case bulkOK:
			ok = append(ok, it.vin)
		case bulkFailed:
			failed++
		}
	}
	lvl := levelInfo
	if failed > 0 {
		lvl = levelError
	}
	cmds := []tea.Cmd{notify(lvl, fmt.Sprintf("%s: %s (%s to read each row)", b.spec.verb, b.counts(), keyName(b.c.Keys.Notifications))),
		notifyQuiet(lvl, b.summaryText())}
	if b.spec.done != nil {
		cmds = append(cmds, b.spec.done(ok))
	}
	return tea.Batch(cmds...)
}

func (b *bulkAction) counts() string {
	var n [bulkStopped + 1]int
	for _, it := range b.spec.items {
		n[it.state]++
	}
	parts := []string{fmt.Sprintf("%d done", n[bulkOK])}
	if n[bulkFailed] > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", n[bulkFailed]))
	}
	if n[bulkSkipped] > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", n[bulkSkipped]))
	}
	if n[bulkStopped] > 0 {
		parts = append(parts, fmt.Sprintf("%d not done (stopped)", n[bulkStopped]))
	}
	if w := n[bulkWaiting] + n[bulkRunning]; w > 0 && b.started {
		parts = append(parts, fmt.Sprintf("%d to go", w))
	}
	return strings.Join(parts, ", ")
}

// summaryText is every row as plain text (copy, history).
func (b *bulkAction) summaryText() string {
	lines := []string{b.spec.title + ": " + b.counts()}
	for _, it := range b.spec.items {
		lines = append(lines, it.vin+"  "+it.label+"  "+b.outcome(it))
	}
	return strings.Join(lines, "\n")
}

// live is item i as it stands now: a handed item is read from the flow
// that runs it (View changes nothing: Update records it).
func (b *bulkAction) live(i int) bulkItem {
	it := b.spec.items[i]
	if b.observing && it.skip == "" && it.state != bulkStopped {
		it.state, it.result = b.spec.observe(it)
	}
	return it
}

func (b *bulkAction) outcome(it bulkItem) string {
	switch it.state {
	case bulkWaiting:
		if it.result != "" {
			return it.result
		}
		return "waiting"
	case bulkRunning:
		if it.result != "" {
			return "… " + it.result
		}
		return "…"
	case bulkOK:
		return "✓ " + it.result
	case bulkFailed:
		return "✗ " + it.result
	case bulkSkipped:
		return "skipped: " + it.skip
	}
	return it.result
}

// bulkDetailH is how many lines the selected row's full outcome may take.
const bulkDetailH = 3

func (b *bulkAction) SetSize(w, h int) {
	b.w, b.h = w, h
	b.win.setHeight(max(h-5-1-bulkDetailH, 1))
}

// Capturing: every key belongs to it (a stray q must not quit while calls
// are in flight).
func (b *bulkAction) Capturing() bool { return true }

func (b *bulkAction) ShortHelp() []key.Binding {
	k := b.c.Keys
	switch {
	case !b.started:
		return []key.Binding{withHelp(k.Confirm, b.spec.verb+" all"), k.Up, k.Down, withHelp(k.Back, "cancel")}
	case b.busy():
		return []key.Binding{k.Up, k.Down, withHelp(k.Back, "stop after what is under way")}
	}
	return []key.Binding{withHelp(k.Copy, "copy results"), k.Up, k.Down, anyKey}
}

func (b *bulkAction) View() string {
	st := b.c.Styles
	k := b.c.Keys
	lines := []string{st.Bold.Render(b.spec.title)}
	switch {
	case !b.started:
		how := b.spec.how
		if how == "" {
			how = "one at a time, each journaled"
		}
		for _, l := range wrapText(fmt.Sprintf("%d of %d marked vehicles will be acted on, %s. %s: %s all · %s: cancel",
			b.runnable(), len(b.spec.items), how, keyName(k.Confirm), b.spec.verb, keyName(k.Back)), max(b.w, 10), 2) {
			lines = append(lines, st.Notice.Render(l))
		}
	case b.busy() && b.stop:
		lines = append(lines, st.Notice.Render(b.counts()+" · stopping after what is under way"))
	case b.busy():
		lines = append(lines, st.Notice.Render(b.counts()+" · "+keyName(k.Back)+": stop after what is under way"))
	default:
		lines = append(lines, st.Bold.Render("Finished: "+b.counts()))
	}
	lines = append(lines, "")
	vinW := 17
	labelW := 0
	for _, it := range b.spec.items {
		labelW = max(labelW, len([]rune(it.label)))
	}
	labelW = min(labelW, 24)
	start, end := b.win.visible()
	for i := start; i < end; i++ {
		it := b.live(i)
		marker := "  "
		if i == b.win.cursor {
			marker = "▸ "
		}
		out := b.outcome(it)
		style := st.Dim
		switch it.state {
		case bulkOK:
			style = st.OK
		case bulkFailed:
			style = st.Error
		case bulkRunning:
			style = st.Notice
		}
		line := marker + pad(it.vin, vinW) + " " + pad(it.label, labelW) + " "
		lines = append(lines, line+style.Render(truncate(out, max(b.w-len([]rune(line)), 1))))
	}
	if n := len(b.spec.items); n > b.win.height {
		lines = append(lines, st.Dim.Render(fmt.Sprintf("rows %d–%d of %d (%s/%s scroll)", start+1, end, n, keyName(k.Up), keyName(k.Down))))
	}
	// The selected row's outcome in full: a row cuts it at the width.
	if c := b.win.cursor; c >= 0 && c < len(b.spec.items) {
		it := b.live(c)
		if full := it.vin + ": " + b.outcome(it); ansi.StringWidth(full) > b.w-vinW-labelW-4 {
			lines = append(lines, "")
			for _, l := range wrapText(full, max(b.w, 10), bulkDetailH) {
				lines = append(lines, st.Dim.Render(l))
			}
		}
	}
	return fit(strings.Join(lines, "\n"), b.w, b.h)
}

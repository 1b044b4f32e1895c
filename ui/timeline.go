package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/audit"
	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/termsafe"
	"github.com/fleetdeck/fleetdeck/timeline"
)

// The timeline of one vehicle, full screen (a console-wide overlay): its
// clearance changes, the journal's commands and requests, and what the feed
// said, merged in time order by package timeline. t opens it on the
// selected vehicle of any view; esc returns.

// timelineLoaded is the merged timeline, for the overlay that asked (tl).
type timelineLoaded struct {
	tl     *timelineView
	events []timeline.Event
	errs   []string
}

type timelineView struct {
	c    *Common
	vin  string
	load func(ctx context.Context) ([]timeline.Event, []string)

	events  []timeline.Event
	shown   []timeline.Event
	kind    int // 0: all, else timeline.Kinds[kind-1]
	win     window
	w, h    int
	loading bool
	errs    []string
}

// openTimeline opens the timeline of vin over the whole console.
func (m *Model) openTimeline(vin string) tea.Cmd {
	if vin == "" {
		return openModal(newMessage(m.c, true, "No vehicle selected: select one in any view, then press "+m.c.Keys.Timeline.Help().Key+"."))
	}
	var vehicle *fleet.Vehicle
	if v, ok := m.clearance.find(vin); ok {
		vehicle = &v
	}
	journal, _ := m.journal.(timeline.Journal)
	var events eventSource
	if es, ok := m.telemetry.src.(eventSource); ok && m.telemetry.src != nil {
		events = es
	}
	now := m.c.Now
	load := func(ctx context.Context) ([]timeline.Event, []string) {
		src := timeline.Sources{Vehicle: vehicle, Now: now()}
		var errs []string
		if journal != nil {
			recs, err := journal.List(ctx, audit.Filter{VIN: vin})
			if err != nil {
				errs = append(errs, "journal: "+errorText(err))
			}
			src.Records = recs
		}
		if events != nil {
			if ev, ok := events.Events(vin); ok {
				src.Feed = &ev
				src.Gaps = events.Gaps()
			}
		}
		return timeline.Build(src, time.Time{}), errs
	}
	return openModal(&timelineView{c: m.c, vin: vin, load: load})
}

func (t *timelineView) Init() tea.Cmd { return t.reload() }

func (t *timelineView) reload() tea.Cmd {
	t.loading = true
	load := t.load
	return t.c.call(paneModal, 0, listTimeout, func(ctx context.Context) tea.Msg {
		ev, errs := load(ctx)
		return timelineLoaded{tl: t, events: ev, errs: errs}
	})
}

func (t *timelineView) SetSize(w, h int) {
	t.w, t.h = w, h
	t.win.setHeight(max(h-5, 1))
}

// Capturing: q still quits; every other key is the timeline's.
func (t *timelineView) Capturing() bool { return false }

func (t *timelineView) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		if l, ok := msg.msg.(timelineLoaded); ok && l.tl == t {
			t.loading, t.events, t.errs = false, l.events, l.errs
			t.refilter()
			t.win.bottom() // now is at the bottom
		}
		return t, nil
	case tea.MouseMsg:
		t.win.wheel(msg)
		return t, nil
	case tea.KeyMsg:
		return t.key(msg)
	}
	return t, nil
}

func (t *timelineView) key(msg tea.KeyMsg) (overlay, tea.Cmd) {
	k := t.c.Keys
	switch {
	case key.Matches(msg, k.Back):
		return nil, nil
	case key.Matches(msg, k.Kind):
		t.kind = (t.kind + 1) % (len(timeline.Kinds) + 1)
		t.refilter()
		t.win.bottom()
	case key.Matches(msg, k.Now):
		return t, t.reload()
	case key.Matches(msg, k.Copy):
		if t.win.cursor >= 0 && t.win.cursor < len(t.shown) {
			line := t.shown[t.win.cursor].Line(t.c.zone())
			return t, t.c.copy("the timeline line", line)
		}
	default:
		t.win.navigate(msg, k)
	}
	return t, nil
}

func (t *timelineView) refilter() {
	var k timeline.Kind
	if t.kind > 0 {
		k = timeline.Kinds[t.kind-1]
	}
	t.shown = timeline.Filter(t.events, k)
	t.win.setCount(len(t.shown))
}

func (t *timelineView) kindName() string {
	if t.kind == 0 {
		return "all"
	}
	return "only " + string(timeline.Kinds[t.kind-1])
}

func (t *timelineView) View() string {
	st := t.c.Styles
	var b strings.Builder
	title := "Timeline · " + termsafe.String(t.vin)
	n := timeline.Count(t.events)
	counts := fmt.Sprintf("%s: clearance %d · commands %d · telemetry %d", t.kindName(),
		n[timeline.KindClearance], n[timeline.KindCommand], n[timeline.KindTelemetry])
	b.WriteString(st.Header.Render(truncate(title, t.w)) + "  " + st.Dim.Render(truncate(counts, max(t.w-len([]rune(title))-2, 0))))
	b.WriteByte('\n')
	// Narrow screens drop the year: the what and the detail need the room.
	timeW, layout := 19, "2006-01-02 15:04:05"
	if t.w < 120 {
		timeW, layout = 14, "01-02 15:04:05"
	}
	const kindW = 9
	share := 45
	if t.w < 120 {
		share = 60
	}
	whatW := clamp((t.w-timeW-kindW-6)*share/100, 12, 48)
	b.WriteString(st.Header.Render(pad("  "+pad("TIME", timeW)+" "+pad("KIND", kindW)+" "+pad("WHAT", whatW)+" DETAIL", t.w)))
	start, end := t.win.visible()
	for i := start; i < end; i++ {
		e := &t.shown[i]
		sel := i == t.win.cursor
		marker := "  "
		if sel {
			marker = "▸ "
		}
		what := pad(e.What, whatW)
		switch e.Level {
		case timeline.LevelError:
			what = st.Error.Render(what)
		case timeline.LevelWarning:
			what = st.Warning.Render(what)
		case timeline.LevelOK:
			what = st.OK.Render(what)
		}
		detail := e.Detail
		if e.Actor != "" {
			if detail != "" {
				detail += " · "
			}
			detail += "by " + e.Actor
		}
		line := marker + pad(e.At.In(t.c.zone()).Format(layout), timeW) + " " + pad(string(e.Kind), kindW) + " " + what + " " + st.Dim.Render(detail)
		if sel {
			line = st.Selected.Render(pad(marker+pad(e.At.In(t.c.zone()).Format(layout), timeW)+" "+pad(string(e.Kind), kindW)+" "+pad(e.What, whatW)+" "+detail, t.w))
		}
		b.WriteByte('\n')
		b.WriteString(line)
	}
	shown := end - start
	switch {
	case t.loading && len(t.events) == 0:
		b.WriteString("\n" + st.Dim.Render("  loading…"))
		shown = 1
	case len(t.shown) == 0:
		none := "  nothing recorded for this vehicle"
		if t.kind > 0 {
			none += " of this kind"
		}
		b.WriteString("\n" + st.Dim.Render(none))
		shown = 1
	}
	for i := shown; i < t.win.height; i++ {
		b.WriteByte('\n')
	}
	// The selected line in full (the columns cut it on narrow screens),
	// or what the last key did.
	b.WriteByte('\n')
	switch {
	case len(t.errs) > 0:
		b.WriteString(st.Error.Render(truncate(strings.Join(t.errs, " · "), t.w)))
	case t.win.cursor >= 0 && t.win.cursor < len(t.shown):
		lines := wrapText(t.shown[t.win.cursor].Line(t.c.zone()), t.w, 2)
		b.WriteString(st.Dim.Render(strings.Join(lines, "\n")))
	}
	return fit(b.String(), t.w, t.h)
}

func (t *timelineView) ShortHelp() []key.Binding {
	k := t.c.Keys
	return []key.Binding{k.Up, k.Down, k.Kind, k.Now, k.Copy, withHelp(k.Back, "return")}
}

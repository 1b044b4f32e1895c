package ui

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	tslc "github.com/NimbleMarkets/ntcharts/linechart/timeserieslinechart"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The chart of one numeric property's history, full screen: enter on the
// property in Telemetry opens it, esc returns. The line, axes and labels
// are ntcharts' time-series line chart drawn in braille; the header says
// what it is, in which unit, and its min, max and last value.
//
// Its data is the long history the stream keeps for a watched vehicle
// (stream.Store.Watch): the Telemetry view watches the vehicle it has
// selected, so the history runs from that moment, and the chart watches it
// too while it is open. A source without that history (a test's fake)
// gives the chart the last values of the property's short ring, without
// their times.

// chartRefresh: the chart reads the history again this often while open.
const chartRefresh = time.Second

type chartTick struct{ cv *chartView }

type chartView struct {
	c         *Common
	vin       string
	prop      stream.Property // as it was when the chart opened: names, unit, short history
	src       traceSource
	stopWatch func()

	trace    stream.Trace
	hasTrace bool
	w, h     int
	rendered string // drawn in Update: View returns it
}

// watchSelected keeps the long history of the vehicle the view selected
// (and ends the previous one's), so a chart opened on it has more than the
// short ring.
func (m *Telemetry) watchSelected(id string) {
	if m.unwatch != nil {
		m.unwatch()
		m.unwatch = nil
	}
	ts, ok := m.src.(traceSource)
	if !ok || id == "" {
		return
	}
	stop, ok := ts.Watch(id)
	if !ok {
		return
	}
	unhook := context.AfterFunc(m.c.Ctx, stop)
	m.unwatch = func() { unhook(); stop() }
}

// openProperty opens what enter shows for the property under the cursor:
// a list's items (items.go), a number's chart.
func (m *Telemetry) openProperty() tea.Cmd {
	if m.pwin.cursor < 0 || m.pwin.cursor >= len(m.props) {
		return nil
	}
	p := m.props[m.pwin.cursor]
	switch {
	case p.List:
		return m.openItems(p)
	case p.Numeric && p.Failure == nil:
		return m.openChart(p)
	}
	return nil
}

// openChart opens the chart of property p of vehicle vin.
func (m *Telemetry) openChart(p stream.Property) tea.Cmd {
	cv := &chartView{c: m.c, vin: m.selID, prop: p}
	if ts, ok := m.src.(traceSource); ok {
		cv.src = ts
	}
	return openModal(cv)
}

func (cv *chartView) Init() tea.Cmd {
	if cv.src != nil {
		stop, ok := cv.src.Watch(cv.vin)
		if ok {
			unhook := context.AfterFunc(cv.c.Ctx, stop)
			cv.stopWatch = func() { unhook(); stop() }
		}
	}
	cv.load()
	return cv.c.after(chartRefresh, envelope{pane: paneModal, msg: chartTick{cv: cv}})
}

func (cv *chartView) load() {
	if cv.src != nil {
		cv.trace, cv.hasTrace = cv.src.Trace(cv.vin, cv.prop.Capability, cv.prop.Name)
	}
	cv.render()
}

func (cv *chartView) SetSize(w, h int) {
	cv.w, cv.h = w, h
	cv.render()
}

func (cv *chartView) Capturing() bool { return false }

func (cv *chartView) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		if t, ok := msg.msg.(chartTick); ok && t.cv == cv {
			cv.load()
			return cv, cv.c.after(chartRefresh, envelope{pane: paneModal, msg: chartTick{cv: cv}})
		}
	case tea.KeyMsg:
		if key.Matches(msg, cv.c.Keys.Back) {
			cv.close()
			return nil, nil
		}
	}
	return cv, nil
}

func (cv *chartView) close() {
	if cv.stopWatch != nil {
		cv.stopWatch()
		cv.stopWatch = nil
	}
}

func (cv *chartView) ShortHelp() []key.Binding {
	return []key.Binding{withHelp(cv.c.Keys.Back, "return")}
}

func (cv *chartView) View() string { return cv.rendered }

// points is what the chart plots: the long history, or the short ring
// spread over the last minutes before the property's time when there is
// none (marked as such by timed=false).
func (cv *chartView) points() (pts []tslc.TimePoint, timed bool) {
	if cv.hasTrace && len(cv.trace.Samples) > 0 {
		pts = make([]tslc.TimePoint, len(cv.trace.Samples))
		for i, s := range cv.trace.Samples {
			pts[i] = tslc.TimePoint{Time: s.At, Value: s.Value}
		}
		return pts, true
	}
	h := cv.prop.History
	pts = make([]tslc.TimePoint, len(h))
	end := cv.prop.SourceTime
	if end.IsZero() {
		end = cv.c.Now()
	}
	for i, v := range h {
		pts[i] = tslc.TimePoint{Time: end.Add(time.Duration(i-len(h)+1) * time.Second), Value: v}
	}
	return pts, false
}

func (cv *chartView) render() {
	if cv.w <= 0 || cv.h <= 0 {
		cv.rendered = ""
		return
	}
	st := cv.c.Styles
	name := termsafe.String(cv.prop.Capability + "." + cv.prop.Name)
	unit := termsafe.String(cv.prop.Unit)
	pts, timed := cv.points()
	var b strings.Builder
	title := "Chart · " + name + " · " + termsafe.String(cv.vin)
	if unit != "" {
		title += " · " + unit
	}
	b.WriteString(st.Header.Render(truncate(title, cv.w)))
	b.WriteByte('\n')
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	if len(pts) == 0 {
		b.WriteString(st.Dim.Render("no values yet"))
		cv.rendered = fit(b.String(), cv.w, cv.h)
		return
	}
	last := pts[len(pts)-1]
	u := ""
	if unit != "" {
		u = " " + unit
	}
	stats := fmt.Sprintf("min %s%s · max %s%s · last %s%s", chartNumber(lo, hi-lo), u, chartNumber(hi, hi-lo), u, chartNumber(last.Value, hi-lo), u)
	if timed {
		stats += " at " + last.Time.In(cv.c.zone()).Format("15:04:05")
	}
	stats += fmt.Sprintf(" · %d values", len(pts))
	b.WriteString(truncate(stats, cv.w))
	b.WriteByte('\n')

	chartH := max(cv.h-3, 3)
	// A flat line still needs a range to sit in.
	ylo, yhi := lo, hi
	if yhi-ylo < 1e-9 {
		ylo, yhi = lo-1, hi+1
	} else {
		pad := (yhi - ylo) * 0.05
		ylo, yhi = ylo-pad, yhi+pad
	}
	if lo >= 0 && ylo < 0 {
		ylo = 0 // speeds and levels do not go below zero: neither does the axis
	}
	t0, t1 := pts[0].Time, pts[len(pts)-1].Time
	if !t1.After(t0) {
		t0, t1 = t1.Add(-time.Minute), t1.Add(time.Second)
	}
	zone := cv.c.zone()
	layout := "15:04:05"
	if t1.Sub(t0) > 24*time.Hour {
		layout = "01-02 15:04"
	}
	xfmt := func(_ int, v float64) string {
		if !timed {
			return ""
		}
		return time.Unix(int64(v), 0).In(zone).Format(layout)
	}
	yfmt := func(_ int, v float64) string { return chartNumber(v, yhi-ylo) }
	xsteps := max(cv.w/22, 1)
	ch := tslc.New(cv.w, chartH,
		tslc.WithTimeRange(t0, t1),
		tslc.WithYRange(ylo, yhi),
		tslc.WithXYSteps(xsteps, max(chartH/4, 1)),
		tslc.WithXLabelFormatter(xfmt),
		tslc.WithYLabelFormatter(yfmt),
		tslc.WithAxesStyles(st.Border, st.Dim),
		tslc.WithStyle(st.OK),
	)
	for _, p := range pts {
		ch.Push(p)
	}
	ch.DrawBraille()
	b.WriteString(ch.View())
	b.WriteByte('\n')
	var note string
	switch {
	case !timed:
		note = fmt.Sprintf("the last %d values, one per message, times not kept: the long history starts when the vehicle is selected", len(pts))
	default:
		note = "recording since " + cv.trace.Since.In(zone).Format("15:04:05") + fmt.Sprintf(" (kept while the vehicle is selected or this chart is open, up to %d values)", stream.TraceLen)
	}
	b.WriteString(st.Dim.Render(truncate(note, cv.w)))
	cv.rendered = fit(b.String(), cv.w, cv.h)
}

// chartNumber formats v with as many decimals as a range of span needs.
func chartNumber(v, span float64) string {
	d := 0
	switch {
	case span == 0 || math.IsInf(span, 0):
		d = 1
	case span < 0.1:
		d = 3
	case span < 1:
		d = 2
	case span < 20:
		d = 1
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

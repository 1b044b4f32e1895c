package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/stream"
	"github.com/fleetdeck/fleetdeck/termsafe"
)

// The items of a list property (trouble codes, bulb failures, tire
// pressures, ...), full screen: enter on the property in Telemetry opens
// it, esc returns. One row per item: its value, its own timestamp, or the
// failure it carried; the selected item's value in full below (a trouble
// code's data is an object). The list is read again every second, so it
// follows the vehicle: each message replaces the whole list.

// itemsRefresh: how often the open list is read again.
const itemsRefresh = time.Second

type itemsTick struct{ iv *itemsView }

type itemsView struct {
	c          *Common
	src        TelemetrySource
	vin        string
	capability string
	property   string

	prop  stream.Property
	gone  bool // the property is no longer in the store
	win   window
	w, h  int
	shown string // drawn in Update: View returns it
}

func (m *Telemetry) openItems(p stream.Property) tea.Cmd {
	iv := &itemsView{c: m.c, src: m.src, vin: m.selID, capability: p.Capability, property: p.Name, prop: p}
	return openModal(iv)
}

func (iv *itemsView) Init() tea.Cmd {
	iv.win.setCount(len(iv.prop.Items))
	iv.render()
	return iv.tick()
}

func (iv *itemsView) tick() tea.Cmd {
	return iv.c.after(itemsRefresh, envelope{pane: paneModal, msg: itemsTick{iv: iv}})
}

func (iv *itemsView) reload() {
	iv.gone = true
	for _, p := range iv.src.Vehicle(iv.vin) {
		if p.Capability == iv.capability && p.Name == iv.property {
			iv.prop, iv.gone = p, false
			break
		}
	}
	iv.win.setCount(len(iv.prop.Items))
}

func (iv *itemsView) SetSize(w, h int) {
	iv.w, iv.h = w, h
	iv.win.setHeight(max(h-7, 1))
	iv.render()
}

func (iv *itemsView) Capturing() bool { return false }

func (iv *itemsView) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case envelope:
		if t, ok := msg.msg.(itemsTick); ok && t.iv == iv {
			iv.reload()
			iv.render()
			return iv, iv.tick()
		}
	case tea.KeyMsg:
		if key.Matches(msg, iv.c.Keys.Back) {
			return nil, nil
		}
		iv.win.navigate(msg, iv.c.Keys)
		iv.render()
	case tea.MouseMsg:
		iv.win.wheel(msg)
		iv.render()
	}
	return iv, nil
}

func (iv *itemsView) ShortHelp() []key.Binding {
	k := iv.c.Keys
	return []key.Binding{k.Up, k.Down, withHelp(k.Back, "return")}
}

func (iv *itemsView) View() string { return iv.shown }

func (iv *itemsView) render() {
	if iv.w <= 0 || iv.h <= 0 {
		iv.shown = ""
		return
	}
	st := iv.c.Styles
	p := &iv.prop
	var b strings.Builder
	title := "Items · " + termsafe.String(iv.capability+"."+iv.property) + " · " + termsafe.String(iv.vin)
	b.WriteString(st.Header.Render(truncate(title, iv.w)))
	b.WriteByte('\n')
	count := fmt.Sprintf("%d items", p.Count)
	if p.Count == 1 {
		count = "1 item"
	}
	if len(p.Items) < p.Count {
		count += fmt.Sprintf(", the first %d kept", len(p.Items))
	}
	if !p.SourceTime.IsZero() {
		count += " · newest " + p.SourceTime.In(iv.c.zone()).Format("2006-01-02 15:04:05") + " (" + age(iv.c.Now(), p.SourceTime) + ")"
	}
	if iv.gone {
		count = "the vehicle no longer reports this property"
	}
	b.WriteString(st.Dim.Render(truncate(count, iv.w)))
	b.WriteByte('\n')
	const numW, timeW = 4, 19
	valW := max(iv.w-2-numW-1-timeW-1, 8)
	b.WriteString(st.Header.Render(pad("  "+padLeft("#", numW)+" "+pad("VALUE", valW)+" TIMESTAMP", iv.w)))
	start, end := iv.win.visible()
	for i := start; i < end; i++ {
		it := &p.Items[i]
		sel := i == iv.win.cursor
		marker := "  "
		if sel {
			marker = "▸ "
		}
		stamp := "—"
		if !it.SourceTime.IsZero() {
			stamp = it.SourceTime.In(iv.c.zone()).Format("2006-01-02 15:04:05")
		}
		val := itemText(it)
		line := marker + padLeft(strconv.Itoa(i+1), numW) + " " + pad(val, valW) + " " + stamp
		switch {
		case sel:
			line = st.Selected.Render(pad(line, iv.w))
		case it.Failure != nil:
			line = st.Error.Render(line)
		}
		b.WriteByte('\n')
		b.WriteString(line)
	}
	shown := end - start
	if len(p.Items) == 0 {
		b.WriteString("\n" + st.Dim.Render("  the list is empty"))
		shown = 1
	}
	for i := shown; i < iv.win.height; i++ {
		b.WriteByte('\n')
	}
	// The selected item in full: a trouble code's data is an object.
	b.WriteString("\n")
	if iv.win.cursor >= 0 && iv.win.cursor < len(p.Items) {
		it := &p.Items[iv.win.cursor]
		full := itemText(it)
		if it.Failure == nil && it.Raw != "" {
			full = termsafe.String(it.Raw)
		}
		for _, l := range wrapText(full, iv.w, 3) {
			b.WriteString("\n" + st.Dim.Render(l))
		}
	}
	iv.shown = fit(b.String(), iv.w, iv.h)
}

// itemText is an item on one line: its value and unit, or its failure.
func itemText(it *stream.ListItem) string {
	if it.Failure != nil {
		s := "⚠ " + termsafe.String(it.Failure.Reason)
		if d := termsafe.String(it.Failure.Description); d != "" {
			s += ": " + d
		}
		return s
	}
	v := termsafe.String(it.Value)
	if u := termsafe.String(it.Unit); u != "" {
		v += " " + u
	}
	return v
}

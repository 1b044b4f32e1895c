package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/fleetdeck/fleetdeck/stream"
)

// itemsEnv gives the Ford a list of trouble codes: three sent, two kept,
// one of them a failure.
func itemsEnv() *testEnv {
	e := newEnv()
	at := testNow.Add(-30e9)
	codes := stream.Property{Capability: "diagnostics", Name: "trouble_codes", Value: "3 items", List: true, Count: 3, SourceTime: at,
		Items: []stream.ListItem{
			{Value: `{"occurrences":2,"id":"P0420","ecu_id":"ECM","status":"active","system":"powertrain"}`, Raw: `{"occurrences":2,"id":"P0420","ecu_id":"ECM","status":"active","system":"powertrain"}`, SourceTime: at},
			{Failure: &stream.Failure{Reason: "rate_limit", Description: "too many requests"}, SourceTime: at},
		}}
	props := e.tele.props["1FTFW1ET5DFC10312"]
	e.tele.props["1FTFW1ET5DFC10312"] = append(props[:2:2], codes, props[2])
	return e
}

func openTroubleCodes(t *testing.T, m *Model) {
	t.Helper()
	drive(t, m, keyMsg("2"), keyMsg("right"), keyMsg("down"), keyMsg("down"), keyMsg("enter"))
}

func TestListItems(t *testing.T) {
	t.Parallel()
	m := started(t, itemsEnv(), 120, 30)
	mustContain(t, func() string { drive(t, m, keyMsg("2"), keyMsg("right")); return m.View() }(), "diagnostics.trouble_codes", "3 items")
	drive(t, m, keyMsg("down"), keyMsg("down"), keyMsg("enter"))
	topIs[*itemsView](t, &m.modals)
	v := m.View()
	mustContain(t, v, "Items · diagnostics.trouble_codes · 1FTFW1ET5DFC10312", "3 items, the first 2 kept · newest 2025-03-14 11:59:30 (30s ago)",
		`1 {"occurrences":2,"id":"P0420"`, "2 ⚠ rate_limit: too many requests", "2025-03-14 11:59:30")
	// The selected item in full below the list.
	mustContain(t, v, `"system":"powertrain"}`)
	drive(t, m, keyMsg("down"))
	mustContain(t, m.View(), "⚠ rate_limit: too many requests")
	drive(t, m, keyMsg("esc"))
	if m.modals.active() {
		t.Fatal("esc should close the items")
	}
}

func TestListItemsGolden(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {200, 50}} {
		t.Run(fmt.Sprintf("items_%dx%d", sz[0], sz[1]), func(t *testing.T) {
			t.Parallel()
			m := started(t, itemsEnv(), sz[0], sz[1])
			openTroubleCodes(t, m)
			view := m.View()
			checkFrame(t, view, sz[0], sz[1])
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

// The same through a real store: a list message applied, then read back.
func TestListItemsFromTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv()
	src := withMapStore(t, e)
	at := testNow.Add(-5 * time.Second)
	m := &stream.Message{Vehicle: "WBA12345678901234", Capability: "dashboard_lights", Property: "bulb_failures",
		List: true, Data: []byte(`["low_beam_left","stop"]`), Timestamp: at, Arrival: at, MessageID: []byte("bulbs-1"),
		Items: []stream.Item{{Data: []byte(`"low_beam_left"`), Timestamp: at}, {Data: []byte(`"stop"`), Timestamp: at}}}
	if err := src.s.Apply(m); err != nil {
		t.Fatal(err)
	}
	mdl := started(t, e, 100, 30)
	drive(t, mdl, keyMsg("2"))
	mdl.telemetry.SelectVehicle("WBA12345678901234", true)
	drive(t, mdl, keyMsg("right"))
	for i, p := range mdl.telemetry.props {
		if p.Name == "bulb_failures" {
			mdl.telemetry.pwin.set(i)
		}
	}
	mustContain(t, mdl.View(), "dashboard_lights.bulb_failures", "2 items")
	drive(t, mdl, keyMsg("enter"))
	topIs[*itemsView](t, &mdl.modals)
	mustContain(t, mdl.View(), "Items · dashboard_lights.bulb_failures · WBA12345678901234", "2 items · newest 2025-03-14 11:59:55",
		"1 low_beam_left", "2 stop")
	// The next list replaces it: the open view follows on its next read.
	m.Items, m.Data, m.MessageID = m.Items[:1], []byte(`["stop"]`), []byte("bulbs-2")
	m.Items[0].Data = []byte(`"stop"`)
	m.Timestamp, m.Arrival = testNow, testNow
	if err := src.s.Apply(m); err != nil {
		t.Fatal(err)
	}
	iv := topIs[*itemsView](t, &mdl.modals)
	drive(t, mdl, envelope{pane: paneModal, msg: itemsTick{iv: iv}})
	mustContain(t, mdl.View(), "1 item · newest 2025-03-14 12:00:00")
	mustNotContain(t, mdl.View(), "low_beam_left")
}

package ui

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/fleetdeck/fleetdeck/clients/commands"
	"github.com/fleetdeck/fleetdeck/stream"
)

// runProgram starts m in a real Bubble Tea program (teatest) at w×h and
// waits for the first clearance list to be drawn.
func runProgram(t *testing.T, m *Model, w, h int) *teatest.TestModel {
	t.Helper()
	m.c.timer = nil // real timers: the program runs them
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { _ = tm.Quit() })
	// The list's provider report is a command of its own, applied after
	// the list is drawn: a golden taken before it shows "fleet …".
	waitOutput(t, tm, "8 vehicles", "fleet ok")
	return tm
}

// waitOutput waits until the output since the last wait holds every one of
// want (one wait: output read here is not seen by the next one).
func waitOutput(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, w := range want {
			if !bytes.Contains(b, []byte(w)) {
				return false
			}
		}
		return true
	},
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// finalView quits the program and returns the final model's View(): the
// golden is the screen as the model draws it, not the diffed byte stream.
func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second))
	return fm.View()
}

type step struct {
	send tea.Msg
	wait string // output to wait for after the message ("" = none)
}

// disableSteps picks disable_ignition for the first vehicle, gives a
// reason and waits for the code.
func disableSteps(keys func(string, ...string) []step) []step {
	steps := keys("Why is this vehicle", "3", "right", "down", "down", "down", "down", "down", "enter")
	return append(steps, keys("Type the code to confirm", "stolen vehicle, police report 2025-118", "enter")...)
}

func TestGolden(t *testing.T) {
	keys := func(wait string, ks ...string) []step {
		var out []step
		for _, k := range ks {
			out = append(out, step{send: keyMsg(k)})
		}
		out[len(out)-1].wait = wait
		return out
	}
	cases := []struct {
		name  string
		w, h  int
		env   func() *testEnv
		steps []step
	}{
		{"clearance_80x24", 80, 24, newEnv, nil},
		{"telemetry_80x24", 80, 24, newEnv, keys("[2 Telemetry]", "2")},
		{"commands_80x24", 80, 24, newEnv, keys("[3 Commands]", "3")},
		{"clearance_200x50", 200, 50, newEnv, nil},
		{"telemetry_200x50", 200, 50, newEnv, keys("[2 Telemetry]", "2")},
		{"commands_200x50", 200, 50, newEnv, keys("[3 Commands]", "3")},
		{"clearance_detail_80x24", 80, 24, newEnv, keys("Changelog", "down", "enter")},
		{"revoke_dialog_80x24", 80, 24, newEnv, keys("data access stops", "d")},
		{"help_80x24", 80, 24, newEnv, keys("Keys", "?")},
		{"ignition_confirm_80x24", 80, 24, ignitionEnv, keys("Type the code to confirm", "3", "right", "down", "down", "down", "down", "enter")},
		{"command_success_200x50", 200, 50, ignitionEnv, append(keys("Type the code to confirm", "3", "right", "down", "down", "down", "down", "enter"),
			append(keys("654321", "1", "1", "1", "1", "1", "1", "enter"), keys("Success", "6", "5", "4", "3", "2", "1", "enter")...)...)},
		// The disable_ignition modal with everything on it (issue 12): the
		// VIN and the whole alert at every size, the reason, the live state.
		{"ignition_modal_80x24", 80, 24, disableEnv, disableSteps(keys)},
		{"ignition_modal_160x40", 160, 40, disableEnv, disableSteps(keys)},
		{"ignition_modal_200x50", 200, 50, disableEnv, disableSteps(keys)},
		{"ignition_moving_80x24", 80, 24, disableEnv, append(disableSteps(keys), keys("last 4 characters", "123456", "enter")...)},
		{"ignition_moving_200x50", 200, 50, disableEnv, append(disableSteps(keys), keys("last 4 characters", "123456", "enter")...)},
		// Every overlay kind at both sizes: confirm, form, message, code
		// prompt, text prompt, detail.
		{"revoke_dialog_200x50", 200, 50, newEnv, keys("data access stops", "d")},
		{"add_form_80x24", 80, 24, newEnv, keys("17 characters; I, O and Q never appear", "a")},
		{"add_form_200x50", 200, 50, newEnv, keys("17 characters; I, O and Q never appear", "a")},
		{"eligibility_result_80x24", 80, 24, newEnv, append(keys("Eligibility check", "e"), keys("connectivity: activated", "enter", "enter")...)},
		{"eligibility_result_200x50", 200, 50, newEnv, append(keys("Eligibility check", "e"), keys("connectivity: activated", "enter", "enter")...)},
		{"ignition_confirm_200x50", 200, 50, ignitionEnv, keys("Type the code to confirm", "3", "right", "down", "down", "down", "down", "enter")},
		{"vin_prompt_80x24", 80, 24, newEnv, keys("not in the approved list", "3", "G", "enter")},
		{"vin_prompt_200x50", 200, 50, newEnv, keys("not in the approved list", "3", "G", "enter")},
		{"clearance_detail_200x50", 200, 50, newEnv, keys("Changelog", "down", "enter")},
		// Four eyes and the immobilised reminder, as bob sees alice's request.
		{"approvals_80x24", 80, 24, safetyEnv, keys("Approval requests", "A")},
		{"approvals_200x50", 200, 50, safetyEnv, keys("Approval requests", "A")},
		{"immobilised_80x24", 80, 24, safetyEnv, keys("to approve", "3")},
		{"immobilised_200x50", 200, 50, safetyEnv, keys("to approve", "3")},
		{"production_80x24", 80, 24, func() *testEnv {
			e := newEnv()
			e.opts.Production, e.opts.Sandbox, e.opts.Profile = true, false, "fleet-eu"
			return e
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := tc.env()
			m := e.model(t)
			tm := runProgram(t, m, tc.w, tc.h)
			for _, s := range tc.steps {
				tm.Send(s.send)
				if s.wait != "" {
					waitOutput(t, tm, s.wait)
				}
			}
			view := finalView(t, tm)
			if strings.Contains(view, "\x1b") {
				t.Fatal("escape sequence in an Ascii view")
			}
			checkFrame(t, view, tc.w, tc.h)
			teatest.RequireEqualOutput(t, []byte(view))
		})
	}
}

// Goldens of the console-wide tools at both sizes: the palette completing
// a command, the notification history, the export prompt, and a bulk
// revoke that has run.
func TestToolsGolden(t *testing.T) {
	cases := []struct {
		name string
		env  func() *testEnv
		run  func(t *testing.T, m *Model)
	}{
		{"palette", newEnv, func(t *testing.T, m *Model) {
			drive(t, m, keyMsg(":"))
			typeText(t, m, "send lo")
		}},
		{"notifications", newEnv, func(t *testing.T, m *Model) {
			drive(t, m, notifyMsg{level: levelError, text: "revoke WBA12345678901234: fleet API (HTTP 409): the vehicle is already in transition; wait until it is revoked before trying again"},
				notifyMsg{level: levelInfo, text: "lock_door → 1FTFW1ET5DFC10312: Success"},
				notifyMsg{level: levelError, text: "list vehicles: timed out"},
				notifyMsg{level: levelError, text: "list vehicles: timed out"},
				keyMsg("n"), keyMsg("j"))
		}},
		// Over SSH: the file goes to the ops box's export directory (a
		// fixed one: the prompt names it, and nothing is written).
		{"export_prompt", func() *testEnv {
			e := newEnv()
			e.opts.ExportDir, e.opts.User, e.opts.Role = "/var/lib/fleetdeck/exports", "alice", "operator"
			return e
		}, func(t *testing.T, m *Model) {
			drive(t, m, keyMsg("x"))
			topIs[*prompt](t, &m.modals)
		}},
		{"bulk_revoke", func() *testEnv {
			e := newEnv()
			e.fleet.delFail = map[string]error{"WBA12345678901234": errors.New("fleet API (HTTP 409): already in transition")}
			return e
		}, func(t *testing.T, m *Model) {
			markRows(t, m, "1FTFW1ET5DFC10312", "WDD1234567A123456", "YV1AAAAA1BB222222", "WBA12345678901234")
			drive(t, m, keyMsg("d"), keyMsg("y"))
		}},
	}
	for _, tc := range cases {
		for _, sz := range [][2]int{{80, 24}, {200, 50}} {
			t.Run(fmt.Sprintf("%s_%dx%d", tc.name, sz[0], sz[1]), func(t *testing.T) {
				t.Parallel()
				m := started(t, tc.env(), sz[0], sz[1])
				tc.run(t, m)
				view := m.View()
				checkFrame(t, view, sz[0], sz[1])
				teatest.RequireEqualOutput(t, []byte(view))
			})
		}
	}
}

// TestFeedThroughProgram runs the channel-reading command for real: batches
// pushed on the feed show up, one message per batch.
func TestFeedThroughProgram(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := e.model(t)
	tm := runProgram(t, m, 80, 24)
	tm.Send(keyMsg("2"))
	waitOutput(t, tm, "[2 Telemetry]")
	for i, id := range []string{"XTA21000000000001", "XTA21000000000002"} {
		e.tele.mu.Lock()
		e.tele.vehicles = append(e.tele.vehicles, stream.VehicleSummary{ID: id, LastSeen: testNow, Rate: 1})
		e.tele.mu.Unlock()
		e.tele.push(stream.Batch{Seq: uint64(i + 1), Changed: []string{id}, State: stream.ConnState{Phase: stream.Connected}, At: testNow})
		waitOutput(t, tm, id)
	}
	view := finalView(t, tm)
	mustContain(t, view, "XTA21000000000001", "XTA21000000000002", "5 vehicles")
}

// TestCommandStatusLive follows a command through Pending to Success with
// the real spinner and poll timers.
func TestCommandStatusLive(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.cmds.status = func(id string, n int) (commands.Command, error) {
		if n < 3 {
			return commands.Command{ID: id, Status: commands.StatusPending}, nil
		}
		return commands.Command{ID: id, Status: commands.StatusSuccess, Updated: testNow.Add(time.Second)}, nil
	}
	m := e.model(t)
	m.commands.pollFirst, m.commands.pollMax = 20*time.Millisecond, 40*time.Millisecond
	tm := runProgram(t, m, 80, 24)
	tm.Send(keyMsg("3"))
	tm.Send(keyMsg("enter"))
	waitOutput(t, tm, "Success")
	view := finalView(t, tm)
	mustContain(t, view, "lock_door → 1FTFW1ET5DFC10312 Success")
	if m.commands.inFlight() || m.commands.spinning && m.commands.inFlight() {
		t.Fatal("nothing should be in flight after Success")
	}
}

type countingModel struct {
	*Model
	updates *atomic.Int64
}

func (c countingModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	c.updates.Add(1)
	_, cmd := c.Model.Update(msg)
	return c, cmd
}

// TestIdleIsQuiet: with nothing happening the console wakes once a second
// (the clock for ages and the token countdown), nothing more: no spinner,
// no cursor blink, no busy ticking.
func TestIdleIsQuiet(t *testing.T) {
	t.Parallel()
	e := newEnv()
	m := e.model(t)
	m.c.timer = nil
	var n atomic.Int64
	tm := teatest.NewTestModel(t, countingModel{m, &n}, teatest.WithInitialTermSize(80, 24))
	t.Cleanup(func() { _ = tm.Quit() })
	waitOutput(t, tm, "8 vehicles")
	tm.Send(keyMsg("3")) // the Commands pane: its spinner must stay still too
	waitOutput(t, tm, "[3 Commands]")
	time.Sleep(100 * time.Millisecond)
	n.Store(0)
	time.Sleep(2500 * time.Millisecond)
	got := n.Load()
	t.Logf("%d updates in 2.5 s idle", got)
	if got > 4 {
		t.Fatalf("%d updates in 2.5 s of idling; want about 2 (one a second)", got)
	}
}

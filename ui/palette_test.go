package ui

import (
	"encoding/base64"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/clients/fleet"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

// typePalette types s into the open palette one burst at a time (spaces are
// keys of their own, as Bubble Tea reads them).
func typePalette(t *testing.T, m *Model, s string) {
	t.Helper()
	if _, ok := m.modals.top().(*palette); !ok {
		drive(t, m, keyMsg(":"))
	}
	for i, word := range strings.Split(s, " ") {
		if i > 0 {
			drive(t, m, keyMsg(" "))
		}
		if word != "" {
			drive(t, m, burst(word))
		}
	}
}

func TestPaletteCompletesFuzzily(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	typePalette(t, m, "fl")
	v := m.View()
	mustContain(t, v, "Command palette", ": fl", "▸ filter")
	drive(t, m, keyMsg("tab"))
	mustContain(t, m.View(), ": filter ", "status=approved")
	typePalette(t, m, "pnd")
	mustContain(t, m.View(), "▸ status=pending", "↵ filter Clearance by pnd")
	drive(t, m, keyMsg("tab"))
	mustContain(t, m.View(), "↵ filter Clearance by status=pending")
	drive(t, m, keyMsg("enter"))
	if m.modals.active() {
		t.Fatalf("the palette stayed open:\n%s", m.View())
	}
	var got []string
	for _, i := range m.clearance.view {
		got = append(got, m.clearance.rows[i].v.VIN)
	}
	if strings.Join(got, ",") != "WDD1234567A123456" {
		t.Fatalf("status=pending shows %v", got)
	}
	mustContain(t, m.View(), `filter "status=pending": 1`)
	// The same filter typed with / works too, and brand= combines.
	drive(t, m, keyMsg("esc"), keyMsg("/"))
	typeText(t, m, "brand=bmw status=approved")
	drive(t, m, keyMsg("enter"))
	if len(m.clearance.view) != 1 || m.clearance.rows[m.clearance.view[0]].v.VIN != "WBA12345678901234" {
		t.Fatalf("brand=bmw status=approved: %d rows", len(m.clearance.view))
	}
	// A status that does not exist is refused with the list.
	typePalette(t, m, "filter status=aproved")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), `"aproved" is not a clearance status (approved, pending`)
}

func TestPaletteJumpsToAPartialVIN(t *testing.T) {
	t.Parallel()
	m := started(t, linkEnv(), 80, 24)
	typePalette(t, m, "vin wba")
	mustContain(t, m.View(), "▸ WBA12345678901234  bmw · approved · on the feed", "↵ jump to WBA12345678901234 in every view")
	drive(t, m, keyMsg("enter"))
	if m.clearance.selectedVIN() != "WBA12345678901234" || m.telemetry.selID != "WBA12345678901234" || m.commands.selectedVIN() != "WBA12345678901234" {
		t.Fatalf("jump: %s %s %s", m.clearance.selectedVIN(), m.telemetry.selID, m.commands.selectedVIN())
	}
	// Jumping works with linking off too: it is a jump in every view.
	drive(t, m, keyMsg("L"))
	typePalette(t, m, "vin 1FTFW1ET5DFC10312")
	drive(t, m, keyMsg("enter"))
	if m.telemetry.selID != "1FTFW1ET5DFC10312" || m.commands.selectedVIN() != "1FTFW1ET5DFC10312" {
		t.Fatalf("unlinked jump: %s %s", m.telemetry.selID, m.commands.selectedVIN())
	}
	typePalette(t, m, "vin QQQQ")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "vin: nothing matches")
}

// :send goes through the Commands pane's own flow: the selected vehicle,
// the code prompt for an ignition command; a typo is refused, not guessed.
func TestPaletteSendUsesTheFlow(t *testing.T) {
	t.Parallel()
	e := ignitionEnv()
	m := started(t, e, 80, 24)
	typePalette(t, m, "send lock_dor")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), `send: "lock_dor" is not one of them; did you mean lock_door? (tab completes)`)
	if n := len(e.cmds.calls()); n != 0 {
		t.Fatalf("a typo sent %d commands", n)
	}
	drive(t, m, keyMsg("esc"))
	typePalette(t, m, "send enable_ignition")
	mustContain(t, m.View(), "↵ send enable_ignition to 1FTFW1ET5DFC10312 (selected in Commands), through the", "usual flow")
	drive(t, m, keyMsg("enter"))
	if m.focus != paneCommands {
		t.Fatal(":send should show the Commands pane")
	}
	mustContain(t, m.View(), "enable_ignition — switch the ignition back on", "Vehicle   1FTFW1ET5DFC10312", "Code      123456")
	calls := e.cmds.calls()
	if len(calls) != 1 || calls[0].code != "" || calls[0].command != "enable_ignition" || calls[0].vin != "1FTFW1ET5DFC10312" {
		t.Fatalf("sent %+v; want step one only", calls)
	}
}

func TestPaletteSortProfileHelpLink(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.Profiles = []string{"default", "eu"}
	e.opts.ProfileCommand = "fleetdeck --config /etc/fleetdeck/config.toml"
	out := &testlog.Buffer{}
	e.opts.Clipboard = out
	m := started(t, e, 80, 24)

	typePalette(t, m, "sort status desc")
	drive(t, m, keyMsg("enter"))
	if m.clearance.sortCol != colStatus || !m.clearance.sortDesc {
		t.Fatalf("sort col %d desc %v", m.clearance.sortCol, m.clearance.sortDesc)
	}
	typePalette(t, m, "sort speed")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "sort: nothing matches")
	drive(t, m, keyMsg("esc"))

	typePalette(t, m, "profile ")
	mustContain(t, m.View(), "▸ default  running now", "eu")
	typePalette(t, m, "eu")
	drive(t, m, keyMsg("enter"))
	v := m.View()
	mustContain(t, v, "Profiles: default, eu (now: default)", "fleetdeck --config /etc/fleetdeck/config.toml --profile eu", "built once per process")
	drive(t, m, keyMsg("c"))
	if got, _ := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(out.String(), "\x1b]52;c;"), "\x07")); !strings.Contains(string(got), "--profile eu") {
		t.Fatalf("copied %q", got)
	}
	drive(t, m, keyMsg("esc"))

	typePalette(t, m, "link off")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "unlinked")
	typePalette(t, m, "help")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "Keys — Clearance")
	drive(t, m, keyMsg("esc"))
	typePalette(t, m, "frobnicate")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), `✗ unknown command "frobnicate": vin, send, filter, sort, profile, link, export,`)
}

// Over SSH every session shares the server's profile: the palette says so.
func TestPaletteProfileOverSSH(t *testing.T) {
	t.Parallel()
	e := newEnv()
	e.opts.User, e.opts.Role = "alice", "operator"
	m := started(t, e, 80, 24)
	typePalette(t, m, "profile")
	drive(t, m, keyMsg("enter"))
	mustContain(t, m.View(), "Every session on this ops box shares its profile")
}

// The sort names the palette offers are the table's columns.
func TestSortNamesMatchTheColumns(t *testing.T) {
	for c, n := range sortNames {
		if !strings.HasPrefix(strings.ToLower(columnNames[c]), n) && !(n == "changed" && c == colChanged) {
			t.Errorf("sort name %q for column %q", n, columnNames[c])
		}
	}
	if err := checkFieldFilter("status=" + string(fleet.StatusError)); err != nil {
		t.Errorf("status=error refused: %v", err)
	}
}

// BenchmarkPaletteKey is a key typed into ":vin …" with 10,000 vehicles in
// the clearance list and 10,000 on the feed (substring then fuzzy matching).
func BenchmarkPaletteKey(b *testing.B) {
	m, _ := benchModel(b, 200, 50)
	drive(b, m, keyMsg(":"), burst("vin"), keyMsg(" "))
	keys := []tea.KeyMsg{burst("W"), burst("B"), burst("A"), burst("9"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace"), keyMsg("backspace")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update(keys[i%len(keys)])
		_ = m.View()
	}
}

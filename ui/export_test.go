package ui

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/fleetdeck/fleetdeck/internal/testlog"
)

// exportAs presses the export key, replaces the proposed name with name and
// writes the file.
func exportAs(t *testing.T, m *Model, name string) {
	t.Helper()
	drive(t, m, keyMsg("x"))
	if _, ok := m.modals.top().(*prompt); !ok {
		t.Fatalf("x opened no prompt:\n%s", m.View())
	}
	drive(t, m, tea.KeyMsg{Type: tea.KeyCtrlU}, burst(name), keyMsg("enter"))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportClearanceCSV(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("/"))
	typeText(t, m, "status=approved")
	drive(t, m, keyMsg("enter"), keyMsg("x"))
	v := m.View()
	mustContain(t, v, "Export clearance: 2 rows (2 of 8 vehicles, filter \"status=approved\")", "file: clearance-20250314-120000.csv",
		"relative to", "an existing file is never replaced")
	drive(t, m, keyMsg("esc"))
	path := filepath.Join(t.TempDir(), "approved.csv")
	exportAs(t, m, path)
	want := "vin,brand,status,last_change,tags\n" +
		"1FTFW1ET5DFC10312,ford,approved,2025-03-02T12:00:00Z,depot=lisbon team=b\n" +
		"WBA12345678901234,bmw,approved,2025-03-06T12:00:00Z,depot=berlin\n"
	if got := readFile(t, path); got != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	mustContain(t, notesText(m), "✓ exported 2 rows of clearance (2 of 8 vehicles, filter \"status=approved\") to "+path)

	// Never over an existing file; the prompt stays and says why.
	exportAs(t, m, path)
	mustContain(t, m.View(), path+" exists: choose another", "name (nothing is overwritten)")
	if _, ok := m.modals.top().(*prompt); !ok {
		t.Fatal("the prompt should stay open")
	}
	drive(t, m, tea.KeyMsg{Type: tea.KeyCtrlU}, burst(filepath.Join(t.TempDir(), "x.txt")), keyMsg("enter"))
	mustContain(t, m.View(), "name the file .csv or .ndjson")
}

func TestExportTelemetryNDJSON(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("2"))
	path := filepath.Join(t.TempDir(), "feed.ndjson")
	exportAs(t, m, path)
	want := `{"freshness":"fresh","kind":"VIN","last_seen":"2025-03-14T11:59:58Z","msg_per_s":1.2,"properties":3,"vehicle":"1FTFW1ET5DFC10312"}
{"freshness":"late","kind":"pseudonym","last_seen":"2025-03-14T11:59:56Z","msg_per_s":0.5,"properties":1,"vehicle":"26ace7941b2c3d4e5f60718293a4b5c6d7e8f901"}
{"freshness":"stale","kind":"VIN","last_seen":"2025-03-14T11:20:00Z","msg_per_s":0,"properties":0,"vehicle":"WBA12345678901234"}
`
	if got := readFile(t, path); got != want {
		t.Fatalf("NDJSON:\n%s\nwant:\n%s", got, want)
	}
	// With the properties focused, the selected vehicle's properties.
	drive(t, m, keyMsg("right"))
	path = filepath.Join(t.TempDir(), "props.csv")
	exportAs(t, m, path)
	got := readFile(t, path)
	if !strings.HasPrefix(got, "vehicle,capability,property,value,unit,source_time,arrival,stale,failure\n"+
		"1FTFW1ET5DFC10312,charging,battery_level,81,%,2025-03-14T11:59:57Z,,false,\n") ||
		!strings.Contains(got, "1FTFW1ET5DFC10312,doors,locks_state,,,,,false,unsupported: not available for this model\n") {
		t.Fatalf("properties CSV:\n%s", got)
	}
}

// Over SSH the file is written on the ops box, in the session's export
// directory, by name only; a viewer writes nothing.
func TestExportOverSSH(t *testing.T) {
	t.Parallel()
	e := newEnv()
	dir := filepath.Join(t.TempDir(), "exports")
	e.opts.ExportDir, e.opts.User, e.opts.Role = dir, "alice", "operator"
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg("x"))
	mustContain(t, m.View(), "written on the ops", "box, in "+dir+" — not on your computer")
	drive(t, m, tea.KeyMsg{Type: tea.KeyCtrlU}, burst("../../etc/passwd.csv"), keyMsg("enter"))
	mustContain(t, m.View(), "a file name only")
	drive(t, m, tea.KeyMsg{Type: tea.KeyCtrlU}, burst("fleet.csv"), keyMsg("enter"))
	if got := readFile(t, filepath.Join(dir, "fleet.csv")); !strings.HasPrefix(got, "vin,brand,status") || strings.Count(got, "\n") != 9 {
		t.Fatalf("export:\n%s", got)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("export dir mode %v", fi.Mode().Perm())
	}

	v := newEnv()
	v.opts.ExportDir, v.opts.User, v.opts.Role, v.opts.ReadOnly = t.TempDir(), "bob", "viewer", true
	mv := started(t, v, 80, 24)
	drive(t, mv, keyMsg("x"))
	if mv.modals.active() {
		t.Fatal("a viewer got the export prompt")
	}
	mustContain(t, notesText(mv), "✗ export: a viewer's session writes no files on the ops box")
}

// Text cells are defused and made terminal-safe, as the CLI's --csv makes
// them (a tab is a space by then, which starts no formula); numbers stay
// numbers.
// The palette's export writes the focused view's rows to the file it
// names, refuses a name it cannot take (the palette stays open and says
// why), and without a name opens the export prompt.
func TestPaletteExport(t *testing.T) {
	t.Parallel()
	e := newEnv()
	dir := t.TempDir()
	e.opts.ExportDir, e.opts.User, e.opts.Role = dir, "alice", "operator"
	m := started(t, e, 80, 24)
	drive(t, m, keyMsg(":"))
	typeText(t, m, "export ../fleet.csv")
	drive(t, m, keyMsg("enter"))
	topIs[*palette](t, &m.modals)
	mustContain(t, m.View(), "a file name only")
	drive(t, m, tea.KeyMsg{Type: tea.KeyCtrlU})
	typeText(t, m, "export fleet.csv")
	mustContain(t, m.View(), "↵ export Clearance to fleet.csv")
	drive(t, m, keyMsg("enter"))
	if m.modals.active() {
		t.Fatal("the palette should close once the export is under way")
	}
	if got := readFile(t, filepath.Join(dir, "fleet.csv")); !strings.HasPrefix(got, "vin,brand,status") || strings.Count(got, "\n") != 9 {
		t.Fatalf("export:\n%s", got)
	}
	mustContain(t, notesText(m), "exported 8 rows of clearance")
	drive(t, m, keyMsg(":"))
	typeText(t, m, "export")
	drive(t, m, keyMsg("enter"))
	topIs[*prompt](t, &m.modals)
	mustContain(t, m.View(), "Export clearance: 8 rows")
}

func TestCSVCellDefusesFormulas(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+x": "'+x", "-2": "'-2", "@SUM": "'@SUM", "\tx": " x",
		"\x1b[0m=1": "'=1", "a\x1b[2Jb": "ab", "ok": "ok", "": ""} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
	if got := csvCell(-2.5); got != "-2.5" {
		t.Errorf("csvCell(-2.5) = %q: a number is not a formula", got)
	}
}

// c copies through OSC 52: the selected VIN, a property, a command's id.
func TestCopyWritesOSC52(t *testing.T) {
	t.Parallel()
	e := newEnv()
	out := &testlog.Buffer{}
	e.opts.Clipboard = out
	m := started(t, e, 80, 24)
	osc := func(s string) string { return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(s)) + "\x07" }
	drive(t, m, keyMsg("j"), keyMsg("c"))
	if got := out.String(); got != osc("VF1AB000123456789") {
		t.Fatalf("copy wrote %q", got)
	}
	mustContain(t, notesText(m), "copied the VIN to the clipboard (OSC 52): VF1AB000123456789")

	drive(t, m, keyMsg("2"), keyMsg("right"), keyMsg("c"))
	if got := out.String(); !strings.HasSuffix(got, osc("charging.battery_level = 81 %")) {
		t.Fatalf("property copy wrote %q", got)
	}
	drive(t, m, keyMsg("3"), keyMsg("enter"), keyMsg("c"))
	if got := out.String(); !strings.HasSuffix(got, osc("id-1")) {
		t.Fatalf("command copy wrote %q", got)
	}
}

// Without an output to write to, copying says so instead of failing
// silently.
func TestCopyWithoutOutput(t *testing.T) {
	t.Parallel()
	m := started(t, newEnv(), 80, 24)
	drive(t, m, keyMsg("c"))
	mustContain(t, notesText(m), "✗ copy the VIN: this console has no terminal output")
}

// SerialWriter keeps writes whole when the renderer and a copy write at
// once (run with -race).
func TestSerialWriterKeepsWritesWhole(t *testing.T) {
	var buf bytes.Buffer
	w := NewSerialWriter(&buf)
	var wg sync.WaitGroup
	frame := strings.Repeat("f", 4096)
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 50; j++ {
				_, _ = w.Write([]byte(frame))
				_, _ = w.Write([]byte("\x1b]52;c;QQ==\x07"))
			}
		})
	}
	wg.Wait()
	rest := buf.String()
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, frame):
			rest = rest[len(frame):]
		case strings.HasPrefix(rest, "\x1b]52;c;QQ==\x07"):
			rest = rest[len("\x1b]52;c;QQ==\x07"):]
		default:
			t.Fatalf("a write was split: %q", rest[:min(len(rest), 40)])
		}
	}
}

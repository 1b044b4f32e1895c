package ui

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/fleetdeck/fleetdeck/csvsafe"
)

// Export writes the rows the focused view shows (its filter applied) to a
// file the operator names: CSV or NDJSON, by the name's extension. The file
// is written by the console's own process: over SSH that is on the ops
// box, in the session's export directory, never on the operator's machine.

// table is a view's rows as an export writes them; cells are strings,
// numbers, booleans or times.
type table struct {
	name string // the view, for the default file name and the notification
	note string // what the rows are ("8 of 120 vehicles, filter \"wba\"")
	cols []string
	rows [][]any
}

// exporter is a pane whose rows can be exported.
type exporter interface {
	exportTable() table
}

// exportFormat is how a file is written, from its extension.
type exportFormat uint8

const (
	formatCSV exportFormat = iota + 1
	formatNDJSON
)

func formatOf(name string) (exportFormat, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return formatCSV, nil
	case ".ndjson", ".jsonl":
		return formatNDJSON, nil
	}
	return 0, fmt.Errorf("%q: name the file .csv or .ndjson (the extension chooses the format)", name)
}

// exportPath turns what the operator typed into the file to create. dir ""
// (the local console): any path, relative to the working directory, ~/
// for the home directory. dir set (an SSH session): a plain file name in
// dir, which is on the ops box.
func exportPath(typed, dir string) (string, error) {
	name := strings.TrimSpace(typed)
	if name == "" {
		return "", errors.New("type a file name")
	}
	if dir != "" {
		if name != filepath.Base(name) || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return "", fmt.Errorf("%q: a file name only: files go to %s on the ops box", name, dir)
		}
		return filepath.Join(dir, name), nil
	}
	if name == "~" || strings.HasPrefix(name, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%q: no home directory: %w", name, err)
		}
		name = filepath.Join(home, name[1:])
	}
	return filepath.Abs(name)
}

// writeExport creates path (never overwriting a file: exports hold VINs,
// and a mistyped name must not replace something else) and writes t to it.
func writeExport(path string, dirToMake string, t table) error {
	f, err := formatOf(path)
	if err != nil {
		return err
	}
	if dirToMake != "" {
		if err := os.MkdirAll(dirToMake, 0o700); err != nil {
			return fmt.Errorf("export to %s: %w", path, err)
		}
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("export to %s: the file exists; choose another name (nothing is overwritten)", path)
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", path, err)
	}
	w := bufio.NewWriter(file)
	switch f {
	case formatCSV:
		err = writeCSV(w, t)
	case formatNDJSON:
		err = writeNDJSON(w, t)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("export to %s: %w", path, err)
	}
	return nil
}

func writeCSV(w io.Writer, t table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.cols); err != nil {
		return err
	}
	rec := make([]string, len(t.cols))
	for _, row := range t.rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) {
				rec[i] = csvCell(row[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell renders a cell. Text comes from the network: it goes through
// csvsafe.Cell (terminal-safe, formulas defused), as the CLI's --csv does.
func csvCell(v any) string {
	switch x := v.(type) {
	case string:
		return csvsafe.Cell(x)
	case time.Time:
		return csvsafe.Time(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func writeNDJSON(w io.Writer, t table) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, row := range t.rows {
		obj := make(map[string]any, len(t.cols))
		for i, c := range t.cols {
			var v any
			if i < len(row) {
				v = row[i]
			}
			if tm, ok := v.(time.Time); ok {
				v = nil
				if !tm.IsZero() {
					v = csvsafe.Time(tm)
				}
			}
			obj[c] = v
		}
		if err := enc.Encode(obj); err != nil {
			return err
		}
	}
	return nil
}

// exportDone is the notification of how an export went.
func exportDone(n int, t table, path string, err error) tea.Msg {
	if err != nil {
		return notifyMsg{level: levelError, text: errorText(err)}
	}
	return notifyMsg{level: levelInfo, text: fmt.Sprintf("exported %d rows of %s (%s) to %s", n, t.name, t.note, path)}
}

// openExport asks for the file to write the focused view's rows to.
func (m *Model) openExport() tea.Cmd {
	ex, ok := m.panes[m.focus].(exporter)
	if !ok {
		return nil
	}
	if m.c.ReadOnly {
		return notify(levelError, "export: a viewer's session writes no files on the ops box; copy what you need with "+keyName(m.c.Keys.Copy))
	}
	t := ex.exportTable()
	dir := m.c.exportDir
	def := t.name + "-" + m.c.Now().In(m.c.zone()).Format("20060102-150405") + ".csv"
	st := m.c.Styles
	where := "relative to " + workingDir() + " (~/ for your home)"
	if dir != "" {
		where = "on the ops box, in " + dir + " — not on your computer"
	}
	return m.modals.open(newPrompt(m.c, promptSpec{
		label: "file: ", value: def, limit: 255,
		head: func(w int) []string {
			lines := []string{st.Bold.Render(fmt.Sprintf("Export %s: %d rows (%s)", t.name, len(t.rows), t.note))}
			for _, l := range wrapText(".csv writes CSV, .ndjson one JSON object a line; the file is written "+where+"; an existing file is never replaced.", w, 3) {
				lines = append(lines, st.Dim.Render(l))
			}
			return append(lines, "")
		},
		accept:     func(s string) (tea.Cmd, string) { return m.writeTable(t, s) },
		acceptHelp: "write the file", cancelHelp: "cancel",
	}))
}

// exportTo writes the focused view's rows to name (the palette's export).
func (m *Model) exportTo(name string) (tea.Cmd, string) {
	ex, ok := m.panes[m.focus].(exporter)
	if !ok {
		return nil, "export: " + m.focus.String() + " has nothing to export"
	}
	if m.c.ReadOnly {
		return nil, "export: a viewer's session writes no files on the ops box"
	}
	return m.writeTable(ex.exportTable(), name)
}

// writeTable checks the name and writes t on a command goroutine; a
// problem keeps the prompt open.
func (m *Model) writeTable(t table, name string) (tea.Cmd, string) {
	dir := m.c.exportDir
	path, err := exportPath(name, dir)
	if err == nil {
		_, err = formatOf(path)
	}
	if err != nil {
		return nil, errorText(err)
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, path + " exists: choose another name (nothing is overwritten)"
	}
	return func() tea.Msg { return exportDone(len(t.rows), t, path, writeExport(path, dir, t)) }, ""
}

func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "the working directory"
	}
	return wd
}

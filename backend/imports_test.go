package backend

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The backend is shared by the terminal console and every SSH session; the
// console is built on top of it (design.md §2), never the other way round.
func TestBackendDoesNotImportTheConsole(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "github.com/fleetdeck/fleetdeck/ui" || strings.HasPrefix(path, "github.com/fleetdeck/fleetdeck/ui/") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

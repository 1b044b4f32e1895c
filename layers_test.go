package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is this module's path; the packages below are named relative to it.
const module = "github.com/fleetdeck/fleetdeck"

// leafHelpers import nothing of ours: anything may use them.
var leafHelpers = []string{"vin", "termsafe", "theme", "braille", "worldmap"}

// testHelpers are for tests only: no program imports them.
var testHelpers = []string{"internal/pgtest", "internal/bridgetest", "internal/leaktest", "internal/testlog"}

// design.md §2: dependencies point one way, main/cli → (sshserve, backend)
// → ui → (audit, clients/*, stream, keymap) → config → leaf helpers;
// backend does not import ui; sandbox depends on nothing of ours but the
// wire formats; ui never imports sandbox: the CLI decides what to run.
// Each rule is checked on what a package reaches through every import, not
// only its own, so a violation two steps away is caught too.
func TestDependenciesPointOneWay(t *testing.T) {
	prog, tests := importGraph(t)
	reach := func(pkg string) []string { return reachable(prog, pkg) }
	for _, must := range []string{"cli", "backend", "sshserve", "ui", "audit", "stream", "config", "sandbox", "clients/fleet"} {
		if _, ok := prog[must]; !ok {
			t.Fatalf("package %s not found: is the test run from the module's root?", must)
		}
	}
	forbid := func(pkg string, why string, bad func(dep string) bool) {
		t.Helper()
		for _, dep := range reach(pkg) {
			if bad(dep) {
				t.Errorf("%s reaches %s (%s): %s", show(pkg), show(dep), strings.Join(path(prog, pkg, dep), " → "), why)
			}
		}
	}
	under := func(dep string, roots ...string) bool {
		for _, r := range roots {
			if dep == r || strings.HasPrefix(dep, r+"/") {
				return true
			}
		}
		return false
	}
	for pkg := range prog {
		if !slices.Contains(testHelpers, pkg) {
			forbid(pkg, "a test helper is for tests only", func(d string) bool { return slices.Contains(testHelpers, d) })
		}
		switch {
		case pkg == "" || pkg == "cli":
		case under(pkg, "sandbox"):
			forbid(pkg, "the sandbox depends on nothing of ours but wire formats and leaf helpers", func(d string) bool {
				return !under(d, "sandbox") && !slices.Contains(leafHelpers, d)
			})
		case under(pkg, leafHelpers...):
			root, _, _ := strings.Cut(pkg, "/")
			forbid(pkg, "a leaf helper imports nothing of ours", func(d string) bool { return !under(d, root) })
		case pkg == "config":
			forbid(pkg, "config sits above the leaf helpers only", func(d string) bool { return !slices.Contains(leafHelpers, d) })
		default:
			forbid(pkg, "only the CLI starts the sandbox or reaches the CLI", func(d string) bool { return d == "" || under(d, "cli", "sandbox") })
		}
		switch {
		case pkg == "backend" || pkg == "sshserve":
			forbid(pkg, "backend and sshserve are one layer, side by side; backend knows nothing of the console", func(d string) bool {
				return pkg == "backend" && under(d, "ui", "sshserve") || pkg == "sshserve" && d == "backend"
			})
		case pkg == "ui" || under(pkg, "audit", "clients", "stream", "keymap", "timeline"):
			forbid(pkg, "the console and what it uses sit below backend and sshserve", func(d string) bool {
				return under(d, "backend", "sshserve") || pkg != "ui" && d == "ui"
			})
		}
	}
	// Tests too: the console's never start the sandbox, and the sandbox's
	// use no client code (test helpers are fine), so neither can lean on
	// the other.
	for pkg, deps := range tests {
		for _, d := range deps {
			if pkg == "ui" && under(d, "sandbox") ||
				under(pkg, "sandbox") && !under(d, "sandbox") && !slices.Contains(leafHelpers, d) && !slices.Contains(testHelpers, d) {
				t.Errorf("the tests of %s import %s", show(pkg), show(d))
			}
		}
	}
}

// importGraph reads the imports of every package of the module (its own
// packages only): prog from the program's files, tests from the _test.go
// files. Packages are named by their directory ("" for the module's root).
func importGraph(t *testing.T) (prog, tests map[string][]string) {
	t.Helper()
	prog, tests = map[string][]string{}, map[string][]string{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); p != "." && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(p))
		if pkg == "." {
			pkg = ""
		}
		graph := prog
		if strings.HasSuffix(p, "_test.go") {
			graph = tests
		}
		if _, ok := graph[pkg]; !ok {
			graph[pkg] = nil
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			var dep string
			switch {
			case ip == module:
				dep = ""
			case strings.HasPrefix(ip, module+"/"):
				dep = strings.TrimPrefix(ip, module+"/")
			default:
				continue
			}
			if dep != pkg && !slices.Contains(graph[pkg], dep) {
				graph[pkg] = append(graph[pkg], dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return prog, tests
}

// reachable lists every package pkg imports, directly or not.
func reachable(g map[string][]string, pkg string) []string {
	seen := map[string]bool{pkg: true}
	var out []string
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, d := range g[p] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// path is one chain of imports from pkg to dep, for the message.
func path(g map[string][]string, pkg, dep string) []string {
	prev := map[string]string{pkg: pkg}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == dep {
			var chain []string
			for ; p != pkg; p = prev[p] {
				chain = append(chain, show(p))
			}
			chain = append(chain, show(pkg))
			slices.Reverse(chain)
			return chain
		}
		for _, d := range g[p] {
			if _, ok := prev[d]; !ok {
				prev[d] = p
				queue = append(queue, d)
			}
		}
	}
	return nil
}

func show(pkg string) string {
	if pkg == "" {
		return "main"
	}
	return pkg
}

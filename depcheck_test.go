package sandbox_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The house has floors (issue 12); a package imports only from the floors
// below it, so each concept can be read, tested and changed without the
// ones above it. Direct imports suffice: any indirect path starts with a
// forbidden direct one.
var (
	// internals are the runtime helpers every floor may use.
	internals = []string{"internal/linux", "internal/reexec"}
	// Floor 0, leaves: one concept each, none of each other.
	leaves = []string{"profiles", "userns", "mounts", "cgroup", "console", "slirp", "proxy", "seccomp", "landlock", "imagestore", "host"}
	// Floor 1: concepts built on leaves, none of each other unless the
	// table says so.
	concepts = []string{"imageworker", "workspace", "network", "confine", "devices", "runs", "control"}
)

// testSupport may be imported by any _test.go file (and by bench, a main
// that serves its images from the test registry), never by shipped code.
var testSupport = []string{"internal/testenv", "internal/testregistry"}

// allowedImports is, for every directory of the module that holds Go
// files, the packages of ours its non-test files may import directly.
func allowedImports() map[string][]string {
	table := map[string][]string{
		"internal/linux":        nil,
		"internal/reexec":       nil,
		"internal/testenv":      {"landlock", "userns"}, // probes a requirement by trying it
		"internal/testregistry": {"internal/testenv"},
		// host names the invoking user's mounts (read-only bind checks).
		"host": join(internals, []string{"mounts"}),
		// profiles validates allow_syscalls against the seccomp policy, a
		// table that imports nothing of ours, so that a wrong name is
		// reported at its FILE:LINE:COL.
		"profiles": join(internals, []string{"seccomp"}),
		// workspace (per-project state) applies and diffs through the
		// namespaced worker beside the store.
		"workspace": join(internals, leaves, []string{"imageworker"}),
		// control (a run's control socket: protocol and client) finds the
		// run it talks to, and waits for its end, in the run's record.
		"control": join(internals, leaves, []string{"runs"}),
		// Floor 2: the process model.
		"sandbox": join(internals, leaves, concepts),
		// Floor 3: the one pre-run phase (build, resolve one Spec, run).
		"session": join(internals, leaves, concepts, []string{"sandbox"}),
		// Top: everything it checks, but never the CLI.
		"doctor":      join(internals, leaves, concepts, []string{"sandbox", "session"}),
		"cmd/sandbox": join(internals, leaves, concepts, []string{"sandbox", "session", "doctor"}),
		// The slim init: the process model's roles without the CLI
		// (TestSlimInitLinksNoCLI keeps it slim).
		"cmd/sandbox-init": join(internals, []string{"sandbox", "confine"}),
		// A main of its own that times the built binary.
		"bench": {"internal/testregistry"},
		// Repository-wide tests (this file, hostnames_test.go).
		".": nil,
	}
	for _, pkg := range leaves {
		if _, set := table[pkg]; !set {
			table[pkg] = internals
		}
	}
	for _, pkg := range concepts {
		if _, set := table[pkg]; !set {
			table[pkg] = join(internals, leaves)
		}
	}
	return table
}

// planned are packages of issue 12 that other branches create; until they
// exist, their table line is only logged.
var planned = map[string]bool{
	"imageworker": true, "workspace": true, "network": true, "confine": true,
	"devices": true, "runs": true, "session": true,
}

// pending are edges that break the final table only while issue 12's
// branches are in flight (code moving out of sandbox). TEMPORARY: the lead
// deletes each entry when the branch that removes the edge is merged; the
// map must end empty.
var pending = map[string][]string{}

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

const module = "sandbox"

func TestDependencyRule(t *testing.T) {
	table := allowedImports()
	for _, dir := range sortedKeys(table) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		if len(files) == 0 {
			if planned[dir] {
				t.Logf("%s: planned package not in this tree yet, not checked", dir)
			} else {
				t.Errorf("%s: no Go files: remove its line from allowedImports", dir)
			}
			continue
		}
		allowed := set(table[dir], pending[dir])
		for _, f := range files {
			checkFile(t, dir, f, allowed)
		}
	}
}

// checkFile reports each import of f that dir may not make. A test file
// may also import its own package (as package x_test) and testSupport.
func checkFile(t *testing.T, dir, f string, allowed map[string]bool) {
	ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	isTest := strings.HasSuffix(f, "_test.go")
	for _, imp := range ast.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		ours, rel := ourPackage(path)
		switch {
		case strings.Contains(path, "spf13/cobra") && dir != "cmd/sandbox":
			t.Errorf("%s imports cobra: only cmd/sandbox is a CLI", f)
		case !ours:
		case rel == "cmd" || strings.HasPrefix(rel, "cmd/"):
			t.Errorf("%s imports %s: nothing imports a command", f, path)
		case allowed[rel]:
		case isTest && (rel == dir || contains(testSupport, rel)):
		case contains(testSupport, rel):
			t.Errorf("%s imports %s: test support is for _test.go files only", f, path)
		default:
			t.Errorf("%s imports %s: %s may import only %v of ours (depcheck_test.go, issue 12's floors)", f, path, dir, sortedKeys(allowed))
		}
	}
}

// TestSlimInitLinksNoCLI: nothing cmd/sandbox-init links, through our
// packages, reaches what only the CLI needs: every start of a sandbox
// would pay those packages' initialisation twice (issue 18).
func TestSlimInitLinksNoCLI(t *testing.T) {
	heavy := []string{"github.com/google/go-containerregistry", "tags.cncf.io/", "github.com/spf13/cobra", "net/http", "crypto/tls", "go.yaml.in/"}
	seen := map[string]bool{}
	var walk func(dir, via string)
	walk = func(dir, via string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if ours, rel := ourPackage(path); ours {
					walk(rel, via+" -> "+rel)
					continue
				}
				for _, h := range heavy {
					if strings.HasPrefix(path, h) {
						t.Errorf("cmd/sandbox-init links %s via %s (%s)", path, via, f)
					}
				}
			}
		}
	}
	walk("cmd/sandbox-init", "cmd/sandbox-init")
}

// TestDependencyTableComplete: every directory with Go files is in the
// table, so that a new package cannot escape the rule.
func TestDependencyTableComplete(t *testing.T) {
	table := allowedImports()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDir(path, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if _, in := table[dir]; strings.HasSuffix(path, ".go") && !in {
			t.Errorf("%s holds Go files but has no line in allowedImports: say what it may import", dir)
			return filepath.SkipDir // one report per directory
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// skipDir is what the go tool ignores (testdata, _x, .x), and nested
// modules such as scripts/runtimetest, which are not part of this one.
func skipDir(path, name string) bool {
	if path == "." {
		return false
	}
	if name == "testdata" || strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".") {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "go.mod"))
	return err == nil
}

// ourPackage reports whether path is a package of this module, and its
// directory relative to the module root.
func ourPackage(path string) (bool, string) {
	if path == module {
		return true, "."
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return ok, rel
}

func set(lists ...[]string) map[string]bool {
	m := map[string]bool{}
	for _, l := range lists {
		for _, p := range l {
			m[p] = true
		}
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

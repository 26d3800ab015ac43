package sandbox_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDependencyRule enforces the layering of the design: the concept
// packages import none of each other nor sandbox or cmd; only sandbox
// composes them; only cmd/sandbox imports cobra. Direct imports suffice:
// any indirect path would start with a forbidden direct one. One edge is
// allowed: profiles validates allow_syscalls against the seccomp policy,
// a table that imports nothing of ours, so that a wrong name is reported
// at its FILE:LINE:COL.
func allowedEdge(pkg, path string) bool {
	return pkg == "profiles" && path == "sandbox/seccomp"
}

func TestDependencyRule(t *testing.T) {
	leaves := []string{"profiles", "userns", "mounts", "cgroup", "console", "slirp", "proxy", "seccomp", "landlock"}
	// i12b (issue 12): imageworker may import imagestore, userns, host,
	// profiles and internal/*; workspace those and imageworker; neither
	// imports sandbox or cmd. The lead adds them to the table at merge.
	for _, pkg := range append(leaves, "sandbox") {
		files, _ := filepath.Glob(filepath.Join(pkg, "*.go"))
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", pkg)
		}
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
				switch {
				case strings.Contains(path, "spf13/cobra"):
					t.Errorf("%s imports cobra", f)
				case path == "sandbox/sandbox" || strings.HasPrefix(path, "sandbox/cmd"):
					t.Errorf("%s imports %s", f, path)
				case pkg != "sandbox" && strings.HasPrefix(path, "sandbox/") && !strings.HasPrefix(path, "sandbox/internal/") && !allowedEdge(pkg, path):
					t.Errorf("%s imports %s: only package sandbox composes the concept packages", f, path)
				}
			}
		}
	}
}

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
	// network (floor 1, i12c) may import slirp, proxy, profiles, mounts,
	// host and internal/*, never sandbox: the lead adds its row at merge.
	// session (floor 3, issue 12): may import sandbox and every floor-0/1
	// package; nothing imports it but cmd/sandbox and doctor.
	leaves := []string{"profiles", "userns", "mounts", "cgroup", "console", "slirp", "proxy", "seccomp", "landlock"}
	// Floor 1 (issue 12, i12d; for the lead's table): confine may import
	// seccomp, landlock, mounts, profiles; devices may import profiles,
	// mounts, host. Neither imports sandbox, each other, or cmd.
	// runs (floor 1, issue 12): may import the leaves (imagestore today)
	// and internal/*; never sandbox, cmd or cobra.
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

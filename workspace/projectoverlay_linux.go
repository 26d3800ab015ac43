package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
)

// The project overlay (project = "overlay"): the project directory is the
// lower layer of an overlay whose upper layer lives in the sandbox, so the
// sandbox's writes to the project wait for review (`sandbox diff
// --project`) and land with `sandbox apply`, or go with `sandbox discard`.
// base.json is the project's state when the sandbox started from it, to
// tell host edits made since (conflicts) from the sandbox's own.

func projectDir(h host.Host, project string) string {
	return filepath.Join(SandboxDir(h, project), "project")
}

// PrepareProjectOverlay locks the project overlay for a run, makes its
// directories and, when it holds no changes, records the project's state.
func PrepareProjectOverlay(h host.Host, project string) (upper, work string, release func(), err error) {
	dir := projectDir(h, project)
	upper, work = filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", nil, err
		}
	}
	st, err := lockState(dir)
	if err != nil {
		return "", "", nil, err
	}
	// An apply killed midway left temporary files in the project.
	if _, err := imagestore.ApplyLeftovers(upper, project, true); err != nil {
		st.Close()
		return "", "", nil, err
	}
	if entries, _ := os.ReadDir(upper); len(entries) == 0 {
		if err := writeSnapshot(dir, project); err != nil {
			st.Close()
			return "", "", nil, err
		}
	}
	return upper, work, st.Close, nil
}

func writeSnapshot(dir, project string) error {
	snap, err := imagestore.Snapshot(project)
	if err != nil {
		return fmt.Errorf("recording the project's state: %w", err)
	}
	data, _ := json.Marshal(snap)
	tmp := filepath.Join(dir, ".base.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "base.json"))
}

// ProjectChanges lists the sandbox's pending changes to the project.
// Each change to a path apply refuses to write (protected, patterns as
// ProtectedPatterns gives them, or a .git component) is marked Protected,
// so that a review before apply shows what apply will not write.
func ProjectChanges(imgs *imageworker.Images, h host.Host, project string, protected []string) ([]imagestore.Change, error) {
	upper := filepath.Join(projectDir(h, project), "upper")
	if _, err := os.Stat(upper); err != nil {
		return nil, nil
	}
	changes, err := imgs.Worker().Changes(imagestore.ChangesRequest{Upper: upper, Lowers: []string{project}})
	// Temporary files of an interrupted apply are reported as "!": the
	// next apply or run removes them.
	left, _ := imagestore.ApplyLeftovers(upper, project, false)
	for _, l := range left {
		changes = append(changes, imagestore.Change{Kind: "!", Path: l})
	}
	for k := range changes {
		changes[k].Protected = imagestore.IsProtected(strings.TrimPrefix(filepath.ToSlash(changes[k].Path), "/"), protected)
		changes[k].Path = filepath.Join(project, changes[k].Path)
	}
	return changes, err
}

// ApplyProject writes the sandbox's pending project changes to the
// project, then clears them. Conflicts with host edits apply nothing.
func ApplyProject(imgs *imageworker.Images, h host.Host, project string, protected []string) ([]imagestore.Change, error) {
	dir := projectDir(h, project)
	st, err := lockProject(imgs, dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var snap map[string]imagestore.FileState
	data, err := os.ReadFile(filepath.Join(dir, "base.json"))
	if err == nil {
		err = json.Unmarshal(data, &snap)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the project's recorded state: %w", err)
	}
	applied, err := imgs.Worker().Apply(imagestore.ApplyRequest{Upper: filepath.Join(dir, "upper"), Project: project, Snapshot: snap, Protected: protected})
	if err != nil {
		return applied, err
	}
	return applied, clearProject(imgs, st, dir, project)
}

// DiscardProject drops the sandbox's pending project changes.
func DiscardProject(imgs *imageworker.Images, h host.Host, project string) error {
	dir := projectDir(h, project)
	st, err := lockProject(imgs, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	return clearProject(imgs, st, dir, project)
}

func lockProject(imgs *imageworker.Images, dir string) (*Sandbox, error) {
	if _, err := os.Stat(filepath.Join(dir, "upper")); errors.Is(err, os.ErrNotExist) {
		return nil, &Error{Msg: "this project's sandbox has no project overlay", Fix: "set project = \"overlay\" in sandbox.toml and run the sandbox"}
	}
	return lockState(dir)
}

func clearProject(imgs *imageworker.Images, st *Sandbox, dir, project string) error {
	if err := st.clearUpper(imgs.RemoveAll); err != nil {
		return err
	}
	return writeSnapshot(dir, project)
}

package workspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sandbox/host"
	"sandbox/imageworker"
	"sort"
	"strconv"
	"time"
)

// HomeInfo is one project's per-project state: its sandbox home, its
// sandbox on an image, or both.
type HomeInfo struct {
	ID      string `json:"id"`      // NAME-HASH, the directories' name
	Project string `json:"project"` // "" if no record says
	// Exists: the project directory is still there.
	Exists bool `json:"exists"`
	// Home and Sandbox are the directories, "" when absent.
	Home    string    `json:"home,omitempty"`
	Sandbox string    `json:"sandbox,omitempty"`
	Size    int64     `json:"size"` // bytes, of what this user can read
	LastUse time.Time `json:"last_use"`
}

// Run is a live run of a project, as RemoveHome needs to know it.
type Run struct {
	Project string
	PID     int
}

// homeRecord is homes/NAME-HASH.json beside the home: the project the
// home belongs to (the name's hash cannot be reversed); its mtime is the
// last run.
type homeRecord struct {
	Project string `json:"project"`
}

// TouchHome records that project's home was used now. A record that
// already says so only gets its mtime set: rewriting it (O_TRUNC on a
// disk file) cost each run ~0.25 ms against 3 µs (issue 18).
func TouchHome(homeDir, project string) {
	b, _ := json.Marshal(homeRecord{Project: project})
	path := homeDir + ".json"
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, b) {
		now := time.Now()
		if os.Chtimes(path, now, now) == nil {
			return
		}
	}
	_ = os.WriteFile(path, b, 0o600)
}

// Homes lists the per-project homes and image sandboxes, most recently
// used first.
func Homes(h host.Host) ([]HomeInfo, error) {
	byID := map[string]*HomeInfo{}
	get := func(id string) *HomeInfo {
		if byID[id] == nil {
			byID[id] = &HomeInfo{ID: id}
		}
		return byID[id]
	}
	for _, kind := range []string{"homes", "sandboxes"} {
		entries, err := os.ReadDir(filepath.Join(h.DataDir, kind))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(h.DataDir, kind, e.Name())
			hi := get(e.Name())
			record := dir + ".json"
			if kind == "homes" {
				hi.Home = dir
			} else {
				hi.Sandbox, record = dir, filepath.Join(dir, "sandbox.json")
			}
			var r homeRecord
			if b, err := os.ReadFile(record); err == nil && json.Unmarshal(b, &r) == nil && r.Project != "" {
				hi.Project = r.Project
			}
			for _, p := range []string{dir, record} {
				if fi, err := os.Stat(p); err == nil && fi.ModTime().After(hi.LastUse) {
					hi.LastUse = fi.ModTime()
				}
			}
			hi.Size += du(dir)
		}
	}
	out := make([]HomeInfo, 0, len(byID))
	for _, hi := range byID {
		if hi.Project != "" && ID(hi.Project) == hi.ID {
			_, err := os.Stat(hi.Project)
			hi.Exists = err == nil
		}
		out = append(out, *hi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUse.After(out[j].LastUse) })
	return out, nil
}

// du sums the sizes of the files under dir that this user can see.
func du(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// RemoveHome removes a project's home and sandbox. Its files may belong to
// subordinate ids or be read-only (Go's module cache), so they are removed
// through the user namespace, as reset and prune remove sandboxes. A
// project with a running sandbox is refused: running are the live runs
// (package sandbox's List), in its order.
func RemoveHome(h host.Host, hi HomeInfo, running []Run) error {
	for _, r := range running {
		if r.Project != "" && ID(r.Project) == hi.ID {
			return &Error{Msg: fmt.Sprintf("%s has a running sandbox (pid %d)", r.Project, r.PID), Fix: "end it first (sandbox ps lists it)"}
		}
	}
	if hi.Sandbox != "" && hi.Project != "" {
		if _, err := Reset(h, hi.Project); err != nil {
			return err
		}
	}
	imgs, err := imageworker.Open(h)
	if err != nil {
		return err
	}
	defer imgs.Close()
	for _, dir := range []string{hi.Home, hi.Sandbox} {
		if dir == "" {
			continue
		}
		// Aside first: a crash half-way leaves no half-removed home.
		trash := filepath.Join(imgs.Root(), "tmp", "rm-"+filepath.Base(dir)+"-"+strconv.Itoa(os.Getpid()))
		if err := os.Rename(dir, trash); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if err := imgs.RemoveAll(trash); err != nil {
			return fmt.Errorf("removing %s: %w", trash, err)
		}
	}
	if hi.Home != "" {
		_ = os.Remove(hi.Home + ".json")
	}
	return nil
}

package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"sandbox/imagestore"
	"sandbox/profiles"
)

// StepError is a setup step that failed: the run exits with its status.
type StepError struct {
	N, Of int
	File  string
	Line  int
	Run   string
	Code  int
}

func (e *StepError) Error() string {
	where := ""
	if e.File != "" {
		where = fmt.Sprintf(" (%s:%d)", e.File, e.Line)
	}
	return fmt.Sprintf("setup step %d/%d%s failed with exit status %d: %s", e.N, e.Of, where, e.Code, e.Run)
}

// Hint says what stays.
func (e *StepError) Hint() string {
	return "the steps before it stay cached; fix the step and run sandbox build again"
}

// StepResult is one built (or cached) setup step.
type StepResult struct {
	N      int
	Run    string
	Key    string
	Cached bool
	Image  *imagestore.Image
}

// stepKey is a step's cache key: its parent image, command, user,
// environment and the content of its inputs. Changing any rebuilds the
// step and every step after it (their parent changes).
func stepKey(parent string, st profiles.Step, project string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "sandbox-setup-v1\x00%s\x00%s\x00%s\x00", parent, st.Run, stepUser(st))
	keys := make([]string, 0, len(st.Env))
	for k := range st.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "env\x00%s=%s\x00", k, st.Env[k])
	}
	files, err := inputFiles(project, st.Inputs)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(project, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "input\x00%s\x00%s\x00", f, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func stepUser(st profiles.Step) string {
	if st.User == "" {
		return "root"
	}
	return st.User
}

// inputFiles expands the inputs (paths or globs; a directory stands for
// every file below it) to sorted project-relative file paths.
func inputFiles(project string, inputs []string) ([]string, error) {
	seen := map[string]bool{}
	for _, in := range inputs {
		matches, err := filepath.Glob(filepath.Join(project, in))
		if err != nil || len(matches) == 0 {
			return nil, &SetupError{Msg: fmt.Sprintf("setup input %q matches no file in the project", in), Fix: "fix the path in inputs, or create the file"}
		}
		for _, m := range matches {
			err := filepath.Walk(m, func(p string, fi os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				if fi.Mode().IsRegular() {
					rel, _ := filepath.Rel(project, p)
					seen[filepath.ToSlash(rel)] = true
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildSteps runs the profile's setup steps that are not cached, on base,
// and returns the image the last one made (base when there are none).
// announce prints each step's header.
func (s Session) buildSteps(imgs *Images, host Host, p *profiles.Profile, base *imagestore.Image, announce func(string)) (*imagestore.Image, []StepResult, error) {
	epoch := base.Created
	if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		if n, err := strconv.ParseInt(sde, 10, 64); err == nil {
			epoch = time.Unix(n, 0)
		}
	}
	parent := base
	var results []StepResult
	for i, st := range p.Setup {
		key, err := stepKey(parent.Digest, st, s.Project)
		if err != nil {
			return nil, results, err
		}
		ref := "sandbox.local/setup:" + key
		res := StepResult{N: i + 1, Run: st.Run, Key: key}
		if img, err := imgs.Get(ref); err == nil {
			res.Cached, res.Image = true, img
			announce(fmt.Sprintf("==> setup step %d/%d (cached): %s", i+1, len(p.Setup), st.Run))
			results = append(results, res)
			parent = img
			continue
		}
		announce(fmt.Sprintf("==> setup step %d/%d: %s", i+1, len(p.Setup), st.Run))
		img, err := s.runStep(imgs, host, p, parent, st, ref, epoch)
		if err != nil {
			if se, ok := err.(*StepError); ok {
				se.N, se.Of, se.File, se.Line = i+1, len(p.Setup), s.ProfileFile, st.Line
			}
			return nil, results, err
		}
		res.Image = img
		results = append(results, res)
		parent = img
	}
	return parent, results, nil
}

// runStep runs one step as a sandbox on parent with a fresh upper layer,
// and commits that layer as ref. The project is read-only to it.
func (s Session) runStep(imgs *Images, host Host, p *profiles.Profile, parent *imagestore.Image, st profiles.Step, ref string, epoch time.Time) (*imagestore.Image, error) {
	dir, err := os.MkdirTemp(filepath.Join(imgs.Root(), "tmp"), "step-")
	if err != nil {
		return nil, err
	}
	defer imgs.RemoveAll(dir)
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
	}
	sp := p.Clone()
	sp.Setup, sp.Project = nil, "bind" // the project is mounted read-only below
	for k, v := range st.Env {
		sp.Env[k] = v
	}
	sp.Mounts = append(sp.Mounts, profiles.Mount{Source: s.Project, Target: s.Project, Mode: "ro"})
	// The profile's network, unless the step sets its own; never its
	// ports (a step serves nothing).
	sp.Network.Ports = nil
	if st.Network != "" && st.Network != sp.Network.Mode {
		sp.Network.Mode = st.Network
		if st.Network != NetProxy {
			sp.Network.Allow = nil
		}
	}
	if err := sp.Apply(profiles.Overrides{User: stepUser(st), Workdir: "."}); err != nil {
		return nil, err
	}
	step := s
	step.Profile, step.Args, step.Terminal, step.Shell, step.Ephemeral = sp, []string{"/bin/sh", "-c", st.Run}, false, false, false
	step.Cwd = s.Project
	step.imageRoot = &ImageRoot{Ref: parent.Ref, Config: parent.Config, Layers: parent.Dirs(), Upper: upper, Work: work, Driver: os.Getenv("SANDBOX_OVERLAY")}
	res, err := step.Run()
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, &StepError{Run: st.Run, Code: res.Code}
	}
	return imgs.Store.Commit(parent, upper, imagestore.CommitOptions{
		Ref: ref, CreatedBy: st.Run, Message: "sandbox setup step",
		Created: epoch, Epoch: epoch, Ignore: mountpoints(host, sp, s.Project),
	})
}

// Build resolves the profile's image and builds its setup steps, printing
// each step's header with announce; the steps' output streams as in run.
func (s Session) Build(announce func(string)) ([]StepResult, error) {
	host, err := CurrentHost()
	if err != nil {
		return nil, err
	}
	imgs, err := OpenImages(host)
	if err != nil {
		return nil, err
	}
	defer imgs.Close()
	base, err := s.resolveImage(imgs, s.Profile)
	if err != nil {
		return nil, err
	}
	_, results, err := s.buildSteps(imgs, host, s.Profile, base, announce)
	if err == nil {
		err = recordSteps(s.Project, results)
	}
	return results, err
}

// recordSteps writes the built steps into sandbox.lock, if there is one.
func recordSteps(project string, results []StepResult) error {
	lock, err := profiles.ReadLock(project)
	if err != nil || lock == nil {
		return err
	}
	lock.Steps = nil
	for _, r := range results {
		top := r.Image.Layers[len(r.Image.Layers)-1]
		lock.Steps = append(lock.Steps, profiles.LockedStep{Run: r.Run, Key: r.Key, Layer: top.Digest, DiffID: top.DiffID})
	}
	return profiles.WriteLock(project, lock)
}

package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"sandbox/host"
	"sandbox/imagestore"
	"sandbox/imageworker"
	"sandbox/mounts"
	"sandbox/profiles"
)

// Mountpoints are the paths a run creates in the upper layer to mount on
// (relative): not the user's changes, so diff and commit leave them out
// while they are empty.
func Mountpoints(h host.Host, p *profiles.Profile, project string) []string {
	out := []string{"proc", "sys", "dev", "run", "etc", "etc/resolv.conf", "etc/hosts"}
	withParents := func(abs string) {
		for d := path.Clean(abs); d != "/" && d != "."; d = path.Dir(d) {
			out = append(out, strings.TrimPrefix(d, "/"))
		}
	}
	withParents(project)
	if p.IsSet("user") && p.User == "self" {
		withParents(h.Home)
	}
	for _, m := range p.Mounts {
		withParents(h.Expand(m.Target))
	}
	return out
}

// Changes is the project's sandbox's diff against the image it stands on.
func Changes(imgs *imageworker.Images, h host.Host, p *profiles.Profile, project string) ([]imagestore.Change, error) {
	// Without the lock: diff only reads, also while the sandbox runs.
	st, err := peekSandbox(h, project)
	if err != nil {
		return nil, err
	}
	head, err := imgs.Get(st.info.head())
	if err != nil {
		return nil, err
	}
	return imgs.Worker().Changes(imagestore.ChangesRequest{Upper: st.Upper(), Lowers: mounts.TopFirst(head.Dirs()), Ignore: Mountpoints(h, p, project)})
}

// peekSandbox reads a sandbox's state without its lock.
func peekSandbox(h host.Host, project string) (*Sandbox, error) {
	st := &Sandbox{dir: SandboxDir(h, project)}
	data, err := os.ReadFile(st.dir + "/sandbox.json")
	if err != nil {
		return nil, &Error{Msg: "this project has no sandbox on an image yet", Fix: "set image = \"REF\" in sandbox.toml and run the sandbox once (sandbox run -- true)"}
	}
	return st, json.Unmarshal(data, &st.info)
}

// CommitOptions are `sandbox commit`'s.
type CommitOptions struct {
	Message string
	Tag     string // also name the new image so
}

// Commit makes the sandbox's uncommitted changes a new layer on the image
// it stands on; the sandbox then stands on the result, with no changes.
// The image is stored before sandbox.json names it, and sandbox.json is
// replaced before the changes are cleared, so a crash at any point leaves
// a sandbox that starts (at worst with its changes both committed and
// still in the upper layer, which shows the same files).
func Commit(imgs *imageworker.Images, h host.Host, p *profiles.Profile, project string, o CommitOptions) (*imagestore.Image, error) {
	st, err := existingSandbox(h, project)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	base, err := imgs.Get(st.info.head())
	if err != nil {
		return nil, err
	}
	ignore := Mountpoints(h, p, project)
	if changes, err := imgs.Worker().Changes(imagestore.ChangesRequest{Upper: st.Upper(), Ignore: ignore}); err == nil && len(changes) == 0 {
		return nil, &Error{Msg: "nothing to commit: the sandbox has no changes", Fix: "change something in the sandbox first (sandbox diff lists changes)"}
	}
	epoch := base.Created
	if sde := os.Getenv("SOURCE_DATE_EPOCH"); sde != "" {
		if n, err := strconv.ParseInt(sde, 10, 64); err == nil {
			epoch = time.Unix(n, 0)
		}
	}
	ref := fmt.Sprintf("%s:%d", projectRepo(project), len(st.info.Commits)+1)
	img, err := imgs.Store.Commit(base, st.Upper(), imagestore.CommitOptions{
		Ref: ref, Message: o.Message, CreatedBy: "sandbox commit", Created: time.Now(), Epoch: epoch,
		Ignore: ignore,
	})
	if err != nil {
		return nil, err
	}
	if o.Tag != "" {
		if err := imgs.Tag(ref, o.Tag); err != nil {
			return nil, err
		}
	}
	st.info.Head = img.Digest
	st.info.Commits = append(st.info.Commits, commitInfo{Digest: img.Digest, Ref: ref, Message: o.Message, Created: time.Now().UTC()})
	if err := st.save(); err != nil {
		return nil, err
	}
	if err := imgs.AddUse(imagestore.Use{ID: ID(project), Project: project, Digest: img.Digest}); err != nil {
		return nil, err
	}
	return img, st.clearUpper(imgs.RemoveAll)
}

// History is the image the project's sandbox stands on, with its history.
func History(imgs *imageworker.Images, h host.Host, project string) (*imagestore.Image, error) {
	st, err := peekSandbox(h, project)
	if err != nil {
		return nil, err
	}
	return imgs.Get(st.info.head())
}

// Rollback discards the uncommitted changes and, given rev, puts the
// sandbox back on that commit: its number (1 is the first), a digest
// prefix, its name, or "base" (the profile's image).
func Rollback(imgs *imageworker.Images, h host.Host, project, rev string) (string, error) {
	st, err := existingSandbox(h, project)
	if err != nil {
		return "", err
	}
	defer st.Close()
	if rev != "" {
		n, ok := findRev(st.info, rev)
		if !ok {
			return "", &Error{Msg: fmt.Sprintf("unknown revision %q", rev), Fix: "known: " + knownRevs(st.info)}
		}
		// Later commits stay listed (and stored): rollback moves the
		// sandbox, it does not forget.
		st.info.Head = ""
		if n > 0 {
			st.info.Head = st.info.Commits[n-1].Digest
		}
		if err := st.save(); err != nil {
			return "", err
		}
		if err := imgs.AddUse(imagestore.Use{ID: ID(project), Project: project, Digest: st.info.head()}); err != nil {
			return "", err
		}
	}
	return st.info.head(), st.clearUpper(imgs.RemoveAll)
}

// findRev returns the number of the commit rev names (0: the base).
func findRev(info sandboxInfo, rev string) (int, bool) {
	if rev == "base" {
		return 0, true
	}
	if n, err := strconv.Atoi(rev); err == nil && n >= 1 && n <= len(info.Commits) {
		return n, true
	}
	hex := strings.TrimPrefix(rev, "sha256:")
	for k, c := range info.Commits {
		if c.Ref == rev || (len(hex) >= 7 && strings.HasPrefix(strings.TrimPrefix(c.Digest, "sha256:"), hex)) {
			return k + 1, true
		}
	}
	return 0, false
}

func knownRevs(info sandboxInfo) string {
	s := []string{"base (" + shortDigest(info.Digest) + ", " + info.Ref + ")"}
	for k, c := range info.Commits {
		s = append(s, fmt.Sprintf("%d (%s%s)", k+1, shortDigest(c.Digest), quoteMsg(c.Message)))
	}
	if info.Head == "" {
		s[0] = "*" + s[0]
	}
	for k, c := range info.Commits {
		if c.Digest == info.Head {
			s[k+1] = "*" + s[k+1]
		}
	}
	return strings.Join(s, ", ")
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func quoteMsg(m string) string {
	if m == "" {
		return ""
	}
	return " " + strconv.Quote(m)
}

// PushOrHead pushes the stored image ref; when the store has no image of
// that name, the project's sandbox head (its current commit) is named ref
// and pushed, as a user expects after `sandbox commit`. head is the digest
// so pushed, "" when ref was in the store.
func PushOrHead(ctx context.Context, imgs *imageworker.Images, h host.Host, project, ref string, o imagestore.PushOptions) (img *imagestore.Image, head string, err error) {
	if _, err := imgs.Get(ref); !errors.Is(err, imagestore.ErrNotFound) {
		img, err := imgs.Push(ctx, ref, o)
		return img, "", err
	}
	fix := "name the image first: `sandbox commit --tag " + ref + "` commits the sandbox's changes under that name, `sandbox tag SRC " + ref + "` names a stored image"
	st, err := peekSandbox(h, project)
	var from string // the head commit's own name in the store
	for k := 0; err == nil && k < len(st.info.Commits); k++ {
		if c := st.info.Commits[k]; c.Digest == st.info.Head {
			from = c.Ref
		}
	}
	if from == "" {
		return nil, "", &Error{Msg: fmt.Sprintf("%s is not in the store, and this project's sandbox stands on no commit to push under that name", ref), Fix: fix}
	}
	if err := imgs.Tag(from, ref); err != nil {
		return nil, "", err
	}
	img, err = imgs.Push(ctx, ref, o)
	return img, st.info.Head, err
}

package imagestore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Image is a stored image, ready to run.
type Image struct {
	Ref       string    `json:"ref"`
	Digest    string    `json:"digest"`     // the platform manifest's digest
	RefDigest string    `json:"ref_digest"` // what the ref resolved to (an index, or Digest)
	Config    Config    `json:"config"`
	Layers    []Layer   `json:"layers"` // bottom first
	Size      int64     `json:"size"`   // compressed bytes, as a registry counts them
	Created   time.Time `json:"created"`
	Pulled    time.Time `json:"pulled"`
	History   []Step    `json:"history"`
}

// Step is one entry of an image's history: how a layer (or a setting)
// came to be.
type Step struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
	Layer     string    `json:"layer,omitempty"` // digest; "" for a step that made no layer
	Size      int64     `json:"size"`
}

// Layer is one layer of an Image.
type Layer struct {
	Digest string `json:"digest"`
	DiffID string `json:"diff_id"`
	Size   int64  `json:"size"`
	Dir    string `json:"dir"` // the unpacked tree
}

// Config is what an image says about running it.
type Config struct {
	Env        []string `json:"env,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	WorkingDir string   `json:"working_dir,omitempty"`
	User       string   `json:"user,omitempty"`
}

// Dirs are the unpacked layers, bottom first, each once: a layer that
// comes again higher up (the same change committed twice) is kept only at
// its top place, which gives the same tree (a layer sets every path it
// touches, so applying it again overrides its lower copy) and overlayfs
// refuses a directory stacked twice (ELOOP).
func (i *Image) Dirs() []string {
	seen := map[string]bool{}
	var out []string
	for n := len(i.Layers) - 1; n >= 0; n-- {
		if d := i.Layers[n].Dir; !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

// Get returns the stored image ref names (a name, REPO@DIGEST or a bare
// digest), or ErrNotFound, also when a layer is not unpacked yet (an
// interrupted pull): a pull completes it.
func (s *Store) Get(ref string) (*Image, error) {
	key := ref
	if !validDigest(ref) {
		n, err := Normalize(ref)
		if err != nil {
			return nil, err
		}
		key = n
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	desc, ok := lookup(idx, key)
	if !ok {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	img, err := s.load(desc)
	if err != nil {
		return nil, err
	}
	for _, l := range img.Layers {
		if _, err := os.Stat(l.Dir); err != nil {
			return nil, fmt.Errorf("%s: layer %s is not unpacked: %w", ref, short(l.DiffID), ErrNotFound)
		}
	}
	return img, nil
}

// load reads an index entry's manifest and config from the blobs.
func (s *Store) load(desc v1.Descriptor) (*Image, error) {
	m, cfg, err := s.readManifest(desc.Digest.String())
	if err != nil {
		return nil, err
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s: %d layers but %d diff_ids in its config", desc.Digest, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	img := &Image{
		Ref: desc.Annotations[annotRef], Digest: desc.Digest.String(), RefDigest: desc.Annotations[annotRefDigest],
		Config: Config{
			Env: cfg.Config.Env, Entrypoint: cfg.Config.Entrypoint, Cmd: cfg.Config.Cmd,
			WorkingDir: cfg.Config.WorkingDir, User: cfg.Config.User,
		},
		Created: cfg.Created.Time,
		Size:    desc.Size + m.Config.Size,
	}
	img.Pulled, _ = time.Parse(time.RFC3339, desc.Annotations[annotPulled])
	for i, l := range m.Layers {
		d := cfg.RootFS.DiffIDs[i].String()
		img.Layers = append(img.Layers, Layer{Digest: l.Digest.String(), DiffID: d, Size: l.Size, Dir: s.layerPath(d)})
		img.Size += l.Size
	}
	img.History = history(cfg.History, img.Layers)
	return img, nil
}

// history pairs the config's history with the layers: each entry that is
// not an empty_layer made the next layer. Without a history (some tools
// write none) every layer gets an entry of its own.
func history(h []v1.History, layers []Layer) []Step {
	var out []Step
	next := 0
	for _, e := range h {
		st := Step{Created: e.Created.Time, CreatedBy: e.CreatedBy, Comment: e.Comment}
		if !e.EmptyLayer && next < len(layers) {
			st.Layer, st.Size = layers[next].Digest, layers[next].Size
			next++
		}
		out = append(out, st)
	}
	for ; next < len(layers); next++ {
		out = append(out, Step{Layer: layers[next].Digest, Size: layers[next].Size})
	}
	return out
}

// readManifest parses a stored manifest and its config.
func (s *Store) readManifest(digest string) (*v1.Manifest, *v1.ConfigFile, error) {
	if err := checkDigest(digest); err != nil {
		return nil, nil, err
	}
	raw, err := os.ReadFile(s.blobPath(digest))
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifest %s: %w", short(digest), err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing manifest %s: %w", short(digest), err)
	}
	if err := checkDigest(m.Config.Digest.String()); err != nil {
		return nil, nil, err
	}
	rawCfg, err := os.ReadFile(s.blobPath(m.Config.Digest.String()))
	if err != nil {
		return nil, nil, fmt.Errorf("reading image config %s: %w", short(m.Config.Digest.String()), err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawCfg))
	if err != nil {
		return nil, nil, fmt.Errorf("parsing image config %s: %w", short(m.Config.Digest.String()), err)
	}
	return m, cfg, nil
}

// Info is one stored image, for `sandbox images`.
type Info struct {
	Ref      string    `json:"ref"`
	Digest   string    `json:"digest"`
	Size     int64     `json:"size"`
	Created  time.Time `json:"created"`
	Projects []string  `json:"used_by"`
}

// List returns the stored images in index order.
func (s *Store) List() ([]Info, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	uses, err := s.Uses()
	if err != nil {
		return nil, err
	}
	var out []Info
	for _, desc := range idx.Manifests {
		img, err := s.load(desc)
		if err != nil {
			out = append(out, Info{Ref: desc.Annotations[annotRef], Digest: desc.Digest.String()})
			continue
		}
		info := Info{Ref: img.Ref, Digest: img.Digest, Size: img.Size, Created: img.Created, Projects: []string{}}
		for _, u := range uses {
			if u.Digest == img.Digest {
				info.Projects = append(info.Projects, u.Project)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// Use records that a sandbox (named id, for project) stands on the image
// digest, so that rmi and prune keep it.
type Use struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Digest  string `json:"digest"`
}

// AddUse records u. A record that already says so is left as it is:
// every run on an image records its use, and rewriting it durably (two
// fsyncs) cost each run ~2 ms (issue 18).
func (s *Store) AddUse(u Use) error {
	data, _ := json.Marshal(u)
	if cur, err := os.ReadFile(s.usePath(u.ID)); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	return writeFileAtomic(s.usePath(u.ID), data, s.root+"/"+tmpDir)
}

// RemoveUse forgets the sandbox id.
func (s *Store) RemoveUse(id string) error {
	err := os.Remove(s.usePath(id))
	if os.IsNotExist(err) {
		return nil
	}
	return err
}

// Uses lists the recorded sandboxes.
func (s *Store) Uses() ([]Use, error) {
	entries, err := os.ReadDir(s.root + "/" + usesDir)
	if err != nil {
		return nil, err
	}
	var out []Use
	for _, e := range entries {
		data, err := os.ReadFile(s.root + "/" + usesDir + "/" + e.Name())
		var u Use
		if err != nil || json.Unmarshal(data, &u) != nil {
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

func (s *Store) usePath(id string) string {
	return s.root + "/" + usesDir + "/" + strings.ReplaceAll(id, "/", "_") + ".json"
}

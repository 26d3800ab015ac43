package workspace

import (
	"fmt"
	"os"
	"path/filepath"

	"sandbox/host"
	"sandbox/mounts"
	"sandbox/profiles"
)

// sharedCache is where an ecosystem's download cache is inside, relative
// to the sandbox home, and the variable that names it there (so that a
// GOPATH or npm prefix passed in does not move it away from the mount).
type sharedCache struct {
	dir, env string
}

// sharedCaches are the download caches [cache] shared can name. Only the
// downloads: Go's module cache (GOMODCACHE), not its build cache
// (GOCACHE), because a build cache entry is compiled output the go command
// uses as it is, and projects seldom share one, while a module version is
// the same bytes for every project that pins it (`go mod verify` checks
// them against go.sum); cargo's registry (index and crates), not its bin
// directory. What one sandbox writes to a shared cache the others read:
// share only between projects trusted alike.
var sharedCaches = map[string]sharedCache{
	"go":    {"go/pkg/mod", "GOMODCACHE"},
	"npm":   {".npm", "npm_config_cache"},
	"pip":   {".cache/pip", "PIP_CACHE_DIR"},
	"cargo": {".cargo/registry", ""},
}

// CacheDir is the host directory behind a shared cache:
// $XDG_CACHE_HOME/sandbox/NAME. It is sandbox's own, never the host
// tool's cache: a sandbox may write to it, and what the host itself runs
// must not read what a sandbox wrote.
func CacheDir(h host.Host, name string) string {
	base := host.Lookup(h.Environ, "XDG_CACHE_HOME")
	if base == "" || !filepath.IsAbs(base) {
		base = filepath.Join(h.Home, ".cache")
	}
	return filepath.Join(base, "sandbox", name)
}

// CacheMounts binds the profile's shared caches under home (the sandbox
// home's path inside), creating their host directories.
func CacheMounts(p *profiles.Profile, h host.Host, home string) (mounts.Plan, map[string]string, error) {
	var plan mounts.Plan
	env := map[string]string{}
	for _, name := range p.Cache.Shared {
		c, ok := sharedCaches[name]
		if !ok {
			continue // Validate refused it
		}
		src := CacheDir(h, name)
		if err := os.MkdirAll(src, 0o700); err != nil {
			return nil, nil, fmt.Errorf("creating the shared %s cache: %w", name, err)
		}
		target := filepath.Join(home, c.dir)
		plan = append(plan, mounts.Op{Kind: mounts.Bind, Source: src, Target: target})
		if c.env != "" {
			env[c.env] = target
		}
	}
	return plan, env, nil
}

package profiles

import "slices"

// Cache is the [cache] table.
type Cache struct {
	// Shared names the ecosystems whose download caches are shared
	// between the user's sandboxes (CacheEcosystems); each is one
	// directory under $XDG_CACHE_HOME/sandbox/, never the host's own cache.
	Shared []string `toml:"shared,omitempty" json:"shared,omitempty"`
}

// CacheEcosystems are the values [cache] shared accepts.
var CacheEcosystems = []string{"go", "npm", "pip", "cargo"}

func (c Cache) validate(bad func(path []string, hint, format string, args ...any)) {
	for _, s := range c.Shared {
		if !slices.Contains(CacheEcosystems, s) {
			bad([]string{"cache", "shared"}, `write shared = ["go", "npm", "pip", "cargo"] or a part of it`, "cache.shared: %q is not one of go, npm, pip, cargo", s)
		}
	}
}

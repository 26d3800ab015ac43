package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"sandbox/profiles"
)

func TestGoHosts(t *testing.T) {
	tests := []struct {
		name, proxy, sumdb, nosumdb string
		hosts                       []string
		notes                       int
	}{
		{"proxy and sumdb name", "https://goproxy.example.org,direct", "sum.example.org", "", []string{"goproxy.example.org", "sum.example.org"}, 1},
		{"pipe, port, sumdb url", "https://a.example.org:8443/mod|https://b.example.org", "sum.example.org+abc https://sumdb.example.org/x", "", []string{"a.example.org", "b.example.org", "sumdb.example.org"}, 0},
		{"name+key", "https://goproxy.example.org", "sum.example.org+0123abc", "corp.example.org", []string{"goproxy.example.org", "sum.example.org"}, 1},
		{"off", "off", "off", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, notes := goHosts(tt.proxy, tt.sumdb, tt.nosumdb)
			if !reflect.DeepEqual(hosts, tt.hosts) || len(notes) != tt.notes {
				t.Errorf("goHosts(%q, %q, %q) = %v, %q; want %v and %d notes", tt.proxy, tt.sumdb, tt.nosumdb, hosts, notes, tt.hosts, tt.notes)
			}
		})
	}
}

// The presets read each tool's configuration; the written profile is
// valid, proxies exactly those hosts, carries the configuration and
// shares the caches.
func TestPresetsProfile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "package.json", "requirements-dev.txt"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	t.Setenv("PIP_INDEX_URL", "https://pypi.example.org/simple")
	t.Setenv("PIP_EXTRA_INDEX_URL", "")
	run := func(name string, args ...string) (string, error) {
		switch name + " " + strings.Join(args, " ") {
		case "go env GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY":
			return "https://goproxy.example.org\nsum.example.org\n\n\n", nil
		case "npm config get registry":
			return "https://registry.example.org/", nil
		case "npm config list --json":
			return `{"registry": "https://registry.example.org/", "@corp:registry": "https://npm.corp.example.com/", "@x:always-auth": true}`, nil
		}
		t.Errorf("unexpected command %s %v", name, args)
		return "", os.ErrNotExist
	}
	text := applyPresets(string(profiles.DefaultTOML()), detectPresets(dir, run))
	p, err := profiles.Parse("sandbox.toml", []byte(text))
	if err != nil {
		t.Fatalf("the written profile: %v\n%s", err, text)
	}
	wantAllow := []string{"goproxy.example.org", "sum.example.org", "registry.example.org", "npm.corp.example.com", "pypi.example.org"}
	if p.Network.Mode != "proxy" || !reflect.DeepEqual(p.Network.Allow, wantAllow) {
		t.Errorf("network = %+v, want proxy allowing %v", p.Network, wantAllow)
	}
	if !reflect.DeepEqual(p.Cache.Shared, []string{"go", "npm", "pip"}) {
		t.Errorf("cache.shared = %v", p.Cache.Shared)
	}
	for k, v := range map[string]string{"GOPROXY": "https://goproxy.example.org", "GOSUMDB": "sum.example.org",
		"npm_config_registry": "https://registry.example.org/", "PIP_INDEX_URL": "https://pypi.example.org/simple"} {
		if p.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, p.Env[k], v)
		}
	}
	if !strings.Contains(text, "# go: goproxy.example.org, sum.example.org, read from go env.") {
		t.Errorf("no comment on the Go hosts:\n%s", text)
	}
	var any map[string]any
	if _, err := toml.Decode(text, &any); err != nil {
		t.Error(err)
	}
}

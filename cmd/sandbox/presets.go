package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// preset is what `sandbox init` learned about one ecosystem of the
// project: the registry hosts it is configured to use on this machine,
// the variables that carry that configuration inside (the private home
// hides the user's own config files), and notes for the comments.
type preset struct {
	name  string // the [cache] shared name
	found string // the file that revealed it
	from  string // where the hosts were read
	hosts []string
	env   map[string]string
	notes []string
}

// ecosystemFiles are the files that reveal an ecosystem, in order.
var ecosystemFiles = []struct{ name, glob string }{
	{"go", "go.mod"},
	{"npm", "package.json"},
	{"pip", "pyproject.toml"},
	{"pip", "requirements*.txt"},
	{"cargo", "Cargo.toml"},
}

// detectPresets reads each detected ecosystem's configuration through
// run (the tool's own command, in dir).
func detectPresets(dir string, run func(name string, args ...string) (string, error)) []preset {
	var out []preset
	seen := map[string]bool{}
	for _, e := range ecosystemFiles {
		matches, _ := filepath.Glob(filepath.Join(dir, e.glob))
		if len(matches) == 0 || seen[e.name] {
			continue
		}
		seen[e.name] = true
		var p preset
		switch e.name {
		case "go":
			p = goPreset(run)
		case "npm":
			p = npmPreset(run)
		case "pip":
			p = pipPreset(run)
		case "cargo":
			p = cargoPreset()
		}
		p.name, p.found = e.name, filepath.Base(matches[0])
		out = append(out, p)
	}
	return out
}

// runTool runs a configuration query in dir, briefly.
func runTool(dir string) func(string, ...string) (string, error) {
	return func(name string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("running %s %s: %w", name, strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
}

func goPreset(run func(string, ...string) (string, error)) preset {
	p := preset{from: "go env"}
	out, err := run("go", "env", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY")
	if err != nil {
		p.notes = append(p.notes, fmt.Sprintf("%v: allow your module proxy's host yourself", err))
		return p
	}
	vals := strings.Split(out+"\n\n\n\n\n", "\n")
	p.hosts, p.notes = goHosts(vals[0], vals[1], vals[2])
	p.env = map[string]string{}
	for i, k := range []string{"GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY"} {
		if v := strings.TrimSpace(vals[i]); v != "" {
			p.env[k] = v
		}
	}
	return p
}

// goHosts are the hosts the go command reaches with this configuration:
// each proxy of GOPROXY and the checksum database of GOSUMDB.
func goHosts(goproxy, gosumdb, gonosumdb string) (hosts, notes []string) {
	for _, entry := range strings.FieldsFunc(goproxy, func(r rune) bool { return r == ',' || r == '|' }) {
		switch entry = strings.TrimSpace(entry); entry {
		case "off", "":
		case "direct":
			notes = append(notes, "GOPROXY includes direct: a module the proxy lacks is fetched from its own host, which allow must list")
		default:
			if h := urlHost(entry); h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	// GOSUMDB is "off", "NAME", "NAME+KEY" or "NAME+KEY URL"; without a
	// URL the go command asks the proxies first, then NAME itself.
	if f := strings.Fields(gosumdb); len(f) > 0 && f[0] != "off" {
		if len(f) > 1 {
			hosts = append(hosts, urlHost(f[1]))
		} else {
			name, _, _ := strings.Cut(f[0], "+")
			hosts = append(hosts, name)
		}
	}
	if gonosumdb != "" {
		notes = append(notes, "GONOSUMDB="+gonosumdb+": those modules are not checked against the checksum database")
	}
	return uniq(hosts), notes
}

func npmPreset(run func(string, ...string) (string, error)) preset {
	p := preset{from: "npm config get registry"}
	reg, err := run("npm", "config", "get", "registry")
	if err != nil || urlHost(reg) == "" {
		p.notes = append(p.notes, fmt.Sprintf("npm's registry unknown (%v): allow its host yourself", err))
		return p
	}
	p.hosts = []string{urlHost(reg)}
	p.env = map[string]string{"npm_config_registry": reg}
	if scoped := npmScoped(run); len(scoped) > 0 {
		for _, s := range scoped {
			_, u, _ := strings.Cut(s, "=")
			p.hosts = append(p.hosts, urlHost(u))
		}
		p.hosts = uniq(p.hosts)
		p.notes = append(p.notes, "scoped registries allowed ("+strings.Join(scoped, ", ")+"); the sandbox home has no ~/.npmrc of yours: put those lines in the project's .npmrc")
	}
	return p
}

// npmScoped lists npm's scoped registries ("@scope:registry=URL"), from
// npm's own view of its configuration files.
func npmScoped(run func(string, ...string) (string, error)) []string {
	out, err := run("npm", "config", "list", "--json")
	if err != nil {
		return nil
	}
	var cfg map[string]any
	if json.Unmarshal([]byte(out), &cfg) != nil {
		return nil
	}
	var scoped []string
	for k, v := range cfg {
		if u, ok := v.(string); ok && strings.HasPrefix(k, "@") && strings.HasSuffix(k, ":registry") && urlHost(u) != "" {
			scoped = append(scoped, k+"="+u)
		}
	}
	sort.Strings(scoped)
	return scoped
}

// pipPreset reads pip's index: PIP_INDEX_URL and PIP_EXTRA_INDEX_URL,
// else pip's configuration files, else pip's own built-in index (and the
// host its files are served from), asked of pip itself.
func pipPreset(run func(string, ...string) (string, error)) preset {
	p := preset{from: "PIP_INDEX_URL", env: map[string]string{}}
	index, extra := os.Getenv("PIP_INDEX_URL"), os.Getenv("PIP_EXTRA_INDEX_URL")
	if index == "" {
		p.from = "pip config"
		index, _ = run("python3", "-m", "pip", "config", "get", "global.index-url")
	}
	if index != "" {
		p.env["PIP_INDEX_URL"] = index
		p.hosts = append(p.hosts, urlHost(index))
	}
	if extra != "" {
		p.env["PIP_EXTRA_INDEX_URL"] = extra
		for _, u := range strings.Fields(extra) {
			p.hosts = append(p.hosts, urlHost(u))
		}
	}
	if index == "" {
		p.from = "pip's built-in index"
		out, err := run("python3", "-c", "from pip._internal.models.index import PyPI; print(PyPI.url); print('https://' + PyPI.file_storage_domain)")
		if err != nil {
			p.notes = append(p.notes, fmt.Sprintf("pip's index unknown (%v): allow its hosts yourself (a project without dependencies needs none)", err))
		}
		for _, u := range strings.Fields(out) {
			p.hosts = append(p.hosts, urlHost(u))
		}
	}
	p.hosts = uniq(p.hosts)
	return p
}

// cargoPreset: cargo has no command that prints its registries, so only
// those of ~/.cargo/config.toml are read.
func cargoPreset() preset {
	p := preset{from: "~/.cargo/config.toml"}
	home, _ := os.UserHomeDir()
	b, err := os.ReadFile(filepath.Join(home, ".cargo", "config.toml"))
	if err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if k = strings.TrimSpace(k); ok && (k == "index" || k == "registry") {
				p.hosts = append(p.hosts, urlHost(strings.Trim(strings.TrimSpace(v), `"'`)))
			}
		}
	}
	if len(p.hosts) == 0 {
		p.notes = append(p.notes, "no registry configured in ~/.cargo/config.toml: add the hosts of crates.io's index and downloads to allow")
	}
	p.hosts = uniq(p.hosts)
	return p
}

// urlHost is the host name of a URL ("sparse+https://…" too), "" if none.
func urlHost(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "sparse+")
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func uniq(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// applyPresets edits the default profile's text: [env] gets the
// ecosystems' configuration, [network] becomes proxy mode allowing their
// hosts, and [cache] shares their download caches; each with a comment.
func applyPresets(def string, ps []preset) string {
	if len(ps) == 0 {
		return def
	}
	var env, network, cache strings.Builder
	var hosts, names, found []string
	for _, p := range ps {
		found = append(found, p.found)
		names = append(names, p.name)
		hosts = append(hosts, p.hosts...)
		keys := make([]string, 0, len(p.env))
		for k := range p.env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			fmt.Fprintf(&env, "# %s: its configuration on this machine (%s); your own config files\n# stay outside, in your real home.\n", p.name, p.from)
		}
		for _, k := range keys {
			fmt.Fprintf(&env, "%s = %q\n", k, p.env[k])
		}
		fmt.Fprintf(&network, "# %s: %s, read from %s.\n", p.name, orNone(p.hosts), p.from)
		for _, n := range p.notes {
			fmt.Fprintf(&network, "# %s: %s\n", p.name, n)
		}
	}
	fmt.Fprintf(&network, "# %s found: proxy mode, allowing exactly the registries these\n# ecosystems are configured to use here; nothing else is reachable.\nmode = \"proxy\"\nallow = %s\n", strings.Join(found, ", "), tomlList(uniq(hosts)))
	if local := localHosts(uniq(hosts)); len(local) > 0 {
		fmt.Fprintf(&network, "# %s: this machine. The proxy reaches this machine's addresses only with\n# allow_host_loopback, a grant: the profile runs after \"sandbox trust\".\nallow_host_loopback = true\n", strings.Join(local, ", "))
	}
	fmt.Fprintf(&cache, "\n[cache]\n# Download caches shared between your sandboxes, one directory per\n# ecosystem under $XDG_CACHE_HOME/sandbox/ (never your own caches): a\n# project's first run does not download again what another one did.\nshared = %s\n", tomlList(names))
	def = strings.Replace(def, "[env]\n", "[env]\n"+env.String(), 1)
	def = strings.Replace(def, "mode = \"none\"\n", network.String(), 1)
	return def + cache.String()
}

func orNone(hosts []string) string {
	if len(hosts) == 0 {
		return "no registry host"
	}
	return strings.Join(hosts, ", ")
}

// localHosts are the hosts that name this machine: localhost, loopback or
// one of its interface addresses (a registry mirror run locally). The
// proxy refuses them without allow_host_loopback.
func localHosts(hosts []string) []string {
	own := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				own[n.IP.String()] = true
			}
		}
	}
	var out []string
	for _, h := range hosts {
		ip := net.ParseIP(h)
		if h == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsLinkLocalUnicast() || own[ip.String()]) {
			out = append(out, h)
		}
	}
	return out
}

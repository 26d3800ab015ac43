package profiles

import (
	"reflect"
	"testing"
)

func TestGrants(t *testing.T) {
	h := GrantHost{Project: "/home/u/proj", Home: "/home/u", Getenv: func(k string) string {
		return map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}[k]
	}}
	tests := []struct {
		name, toml string
		want       []string
	}{
		{"default", "", nil},
		{"inside the project", "image = \"x.test/a\"\n[[mount]]\nsource = \"cache\"\ntarget = \"/c\"\n[[mount]]\ntype = \"tmpfs\"\ntarget = \"/t\"\n[network]\nmode = \"slirp\"\nports = [\"8080:80\", \"127.0.0.1:8081:80\", \"[::1]:8082:80\"]\n", nil},
		{"home rw", "[[mount]]\nsource = \"~/.ssh\"\ntarget = \"/s\"\n", []string{"~/.ssh (rw)"}},
		{"escaping the project", "[[mount]]\nsource = \"../other\"\ntarget = \"/o\"\nmode = \"ro\"\n", []string{"~/other (ro)"}},
		{"variables", "[[mount]]\nsource = \"$XDG_RUNTIME_DIR\"\ntarget = \"/r\"\n", []string{"/run/user/1000 (rw)"}},
		{"root", "[[mount]]\nsource = \"/\"\ntarget = \"/host\"\n", []string{"/ (rw)"}},
		{"env", "env_passthrough = [\"TERM\", \"G*\", \"SSH_AUTH_SOCK\"]\n", []string{"env G*", "env SSH_AUTH_SOCK"}},
		{"host network", "[network]\nmode = \"host\"\n", []string{"host network"}},
		{"loopback and open ports", "[network]\nmode = \"slirp\"\nallow_host_loopback = true\nports = [\"0.0.0.0:8080:80/udp\", \"192.0.2.1:8081:80\"]\n", []string{"host loopback services", "port 0.0.0.0:8080:80/udp open to the network", "port 192.0.2.1:8081:80/tcp open to the network"}},
		{"unprotected", "[protect]\ndefaults = false\n", []string{"writable .git/hooks, .git/config and editor settings"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("sandbox.toml", []byte(tt.toml))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range p.Grants(h) {
				got = append(got, g.What)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Grants() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTrustStore(t *testing.T) {
	s := TrustStore{Dir: t.TempDir()}
	if e, err := s.Lookup("/p/sandbox.toml"); err != nil || e.Digest != "" {
		t.Fatalf("Lookup before Trust = %v, %v", e, err)
	}
	a, b := Digest([]byte("a")), Digest([]byte("b"))
	ga := GrantsDigest([]Grant{{Kind: GrantMount, What: "~/cache (rw)"}})
	if err := s.Trust(TrustEntry{Path: "/p/sandbox.toml", Digest: a, Grants: ga}); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Lookup("/p/sandbox.toml"); e.Digest != a || e.Grants != ga {
		t.Errorf("Lookup = %v, want %s with grants %s", e, a, ga)
	}
	if e, _ := s.Lookup("/q/sandbox.toml"); e.Digest != "" {
		t.Errorf("another path is trusted: %v", e)
	}
	s.Trust(TrustEntry{Path: "/p/sandbox.toml", Digest: b})
	if l, _ := s.List(); len(l) != 1 || l[0].Digest != b || l[0].Path != "/p/sandbox.toml" {
		t.Errorf("List = %v, want one entry with %s", l, b)
	}
	if had, err := s.Revoke("/p/sandbox.toml"); !had || err != nil {
		t.Errorf("Revoke = %v, %v", had, err)
	}
	if e, _ := s.Lookup("/p/sandbox.toml"); e.Digest != "" {
		t.Errorf("revoked profile still trusted: %v", e)
	}
}

// TestGrantsDigest: the same profile content expanding to another host
// path is another grants digest (review 13, #9).
func TestGrantsDigest(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte("[[mount]]\nsource = \"$CACHE_DIR\"\ntarget = \"/cache\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(dir string) string {
		return GrantsDigest(p.Grants(GrantHost{Project: "/p", Home: "/home/u", Getenv: func(string) string { return dir }}))
	}
	if at("/home/u/cache") == at("/home/u/.ssh") {
		t.Errorf("GrantsDigest is the same for $CACHE_DIR=~/cache and ~/.ssh")
	}
	if at("/home/u/cache") != at("/home/u/cache") {
		t.Errorf("GrantsDigest is not stable")
	}
}

// TestGrantsDigestCoversHome: a source written with ~ names another host
// tree when $HOME changes; the digest must change with it (review 2).
func TestGrantsDigestCoversHome(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte("[[mount]]\nsource = \"~/data\"\ntarget = \"/data\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(home string) string {
		return GrantsDigest(p.Grants(GrantHost{Project: "/p", Home: home, Getenv: func(string) string { return "" }}))
	}
	if at("/home/u") == at("/srv/other") {
		t.Errorf("GrantsDigest is the same for ~/data with HOME=/home/u and HOME=/srv/other")
	}
}

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
	if d, err := s.Lookup("/p/sandbox.toml"); err != nil || d != "" {
		t.Fatalf("Lookup before Trust = %q, %v", d, err)
	}
	a, b := Digest([]byte("a")), Digest([]byte("b"))
	if err := s.Trust("/p/sandbox.toml", a); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Lookup("/p/sandbox.toml"); d != a {
		t.Errorf("Lookup = %q, want %q", d, a)
	}
	if d, _ := s.Lookup("/q/sandbox.toml"); d != "" {
		t.Errorf("another path is trusted: %q", d)
	}
	s.Trust("/p/sandbox.toml", b)
	if l, _ := s.List(); len(l) != 1 || l[0].Digest != b {
		t.Errorf("List = %v, want one entry with %s", l, b)
	}
	if had, err := s.Revoke("/p/sandbox.toml"); !had || err != nil {
		t.Errorf("Revoke = %v, %v", had, err)
	}
	if d, _ := s.Lookup("/p/sandbox.toml"); d != "" {
		t.Errorf("revoked profile still trusted: %q", d)
	}
}

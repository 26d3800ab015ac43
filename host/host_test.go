package host

import "testing"

func TestExpand(t *testing.T) {
	h := Host{Home: "/home/alice", Environ: []string{"CACHE=/a", "X=1", "CACHE=/srv/cache"}}
	for in, want := range map[string]string{
		"~":              "/home/alice",
		"~/.ssh":         "/home/alice/.ssh",
		"~alice/x":       "~alice/x", // not the user's own: left as written
		"$CACHE/go":      "/srv/cache/go",
		"${HOME}/bin":    "/home/alice/bin",
		"$UNSET/x":       "/x",
		"/etc/$X/config": "/etc/1/config",
	} {
		if got := h.Expand(in); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Lookup(h.Environ, "CACHE"); got != "/srv/cache" {
		t.Errorf("Lookup takes the last value: got %q", got)
	}
}

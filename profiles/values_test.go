package profiles

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestCheckRefusesWhatRunWould: every value run would refuse is refused at
// load, where `profile check` sees it, at its FILE:LINE:COL (issue 11).
func TestCheckRefusesWhatRunWould(t *testing.T) {
	for src, want := range map[string]string{
		"[network]\nmode = \"slirp\"\nports = [\"8080:80\", \"nonsense\"]\n": `sandbox.toml:3:10: network.ports: port "nonsense": no host port`,
		"image = \"Foo::Bar@@x\"\n":                                   `sandbox.toml:1:1: image "Foo::Bar@@x" is not an image reference`,
		"[limits]\nmemory_swap = \"2 lots\"\n":                        `sandbox.toml:2:16: limits.memory_swap: "2 lots" is not a size`,
		"[limits]\ntimeout = \"-5m\"\n":                               `sandbox.toml:2:12: limits.timeout: "-5m" is not a positive duration`,
		"user = \"admin\"\n":                                          `sandbox.toml:1:1: user "admin" is not one of`,
		"[network]\nmode = \"bridge\"\n":                              `sandbox.toml:2:1: network mode "bridge" is not one of`,
		"[network]\nmode = \"slirp\"\nbackend = \"vde\"\n":            `sandbox.toml:3:1: network backend "vde" is not one of`,
		"project = \"copy\"\n":                                        `sandbox.toml:1:1: project "copy" is not one of`,
		"[[mount]]\nsource = \"a\"\ntarget = \"/a\"\nmode = \"rx\"\n": `sandbox.toml:4:1: mount mode "rx" is not one of`,
		"[limits]\nmemory = 5\n":                                      `sandbox.toml:2:1: limits.memory must be a string, not an integer`,
		"[network]\nmode = \"slirp\"\nports = 8080\n":                 `sandbox.toml:3:1: network.ports must be an array, not an integer`,
	} {
		_, err := Parse("sandbox.toml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", src, err, want)
		}
	}
}

// TestTypedValuesRoundTrip: what `profile show` prints parses back to the
// same profile.
func TestTypedValuesRoundTrip(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte("[network]\nmode = \"slirp\"\nports = [\"8080:80\", \"[::1]:5353:53/udp\"]\n"+
		"[limits]\nmemory = \"2GiB\"\nmemory_swap = \"0\"\ntimeout = \"90s\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{{"127.0.0.1", 8080, 80, "tcp"}, {"::1", 5353, 53, "udp"}}
	if !reflect.DeepEqual(p.Network.Ports, want) || p.Limits.Memory.Bytes() != 2<<30 || !p.Limits.MemorySwap.IsSet() ||
		p.Limits.MemorySwap.Bytes() != 0 || p.Limits.Timeout.String() != "1m30s" {
		t.Fatalf("typed values = %+v, %+v", p.Network, p.Limits)
	}
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(p); err != nil {
		t.Fatal(err)
	}
	q, err := Parse("shown.toml", buf.Bytes())
	if err != nil {
		t.Fatalf("the shown profile does not parse: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(q.Network, p.Network) || !reflect.DeepEqual(q.Limits.Memory.Bytes(), p.Limits.Memory.Bytes()) || q.Limits.Timeout != p.Limits.Timeout {
		t.Errorf("round trip: %+v %+v, want %+v %+v", q.Network, q.Limits, p.Network, p.Limits)
	}
}

package profiles

import (
	"strings"
	"testing"
)

func TestDevicesValidate(t *testing.T) {
	for _, tt := range []struct {
		device string
		err    string // "" for valid
	}{
		{"/dev/kvm", ""},
		{"/dev/dri/renderD128", ""},
		{"vendor.example.com/gpu=0", ""},
		{"example.test/dev=all", ""},
		{"/dev", "is not a path under /dev"},
		{"/etc/passwd", "is not a path under /dev"},
		{"/dev/../etc/shadow", "is not a path under /dev"},
		{"/dev/pts/0", "inside the sandbox's own /dev/pts"},
		{"/dev/shm", "inside the sandbox's own /dev/shm"},
		{"kvm", "neither a /dev path nor a CDI device name"},
		{"vendor.example.com/gpu", "neither a /dev path nor a CDI device name"},
		{"vendor.example.com=0", "neither a /dev path nor a CDI device name"},
	} {
		t.Run(tt.device, func(t *testing.T) {
			_, err := Parse("sandbox.toml", []byte("devices = [\""+tt.device+"\"]\n"))
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("devices = [%q]: %v, want valid", tt.device, err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("devices = [%q]: %v, want an error with %q", tt.device, err, tt.err)
			}
		})
	}
}

func TestDeviceGrants(t *testing.T) {
	p, err := Parse("sandbox.toml", []byte(`
devices = ["/dev/kvm", "vendor.example.com/gpu=0"]
[forward]
ssh_agent = true
x11 = true
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(Overrides{Devices: []string{"/dev/fuse"}}); err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, g := range p.DeviceGrants() {
		whats = append(whats, g.What)
	}
	got := strings.Join(whats, "; ")
	want := "device /dev/kvm; CDI device vendor.example.com/gpu=0; device /dev/fuse; ssh-agent socket (your SSH keys can be used); X11 display (sees and types into your other windows)"
	if got != want {
		t.Errorf("DeviceGrants() = %q, want %q", got, want)
	}
	if g := Defaults().DeviceGrants(); len(g) != 0 {
		t.Errorf("the default profile grants %v", g)
	}
	c := p.Clone()
	c.Devices[0] = "/dev/null"
	if p.Devices[0] != "/dev/kvm" {
		t.Errorf("Clone shares Devices with the original")
	}
}

func TestForwardUnknownKey(t *testing.T) {
	_, err := Parse("sandbox.toml", []byte("[forward]\nssh = true\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown key "forward.ssh"`) {
		t.Errorf("[forward] ssh = true: %v, want an unknown-key error", err)
	}
}

func TestMountUnderDevHintsDevices(t *testing.T) {
	_, err := Parse("sandbox.toml", []byte("[[mount]]\nsource = \"/dev/kvm\"\ntarget = \"/dev/kvm\"\n"))
	var es Errors
	if err == nil || !strings.Contains(err.Error(), "would cover the sandbox's own /dev") {
		t.Fatalf("a mount under /dev: %v", err)
	}
	if asErrors(err, &es); len(es) == 0 || !strings.Contains(es[0].Hint(), `devices = ["/dev/kvm"]`) {
		t.Errorf("hint %v does not point at devices", es)
	}
}

func asErrors(err error, es *Errors) {
	if e, ok := err.(Errors); ok {
		*es = e
	}
}

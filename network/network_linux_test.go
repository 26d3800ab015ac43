package network

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"sandbox/profiles"
)

// TestDrivers: New selects each mode's driver once, from the typed mode,
// and the driver alone says its clone flags, files, env and init's part.
func TestDrivers(t *testing.T) {
	for _, tc := range []struct {
		mode   profiles.NetworkMode
		clone  uintptr
		resolv string // in resolv.conf; "" none written
		env    string // a variable the mode sets
	}{
		{None, syscall.CLONE_NEWNET, "nameserver 127.0.0.1", ""},
		{Slirp, syscall.CLONE_NEWNET, "nameserver 192.0.2.53", ""},
		{Proxy, syscall.CLONE_NEWNET, "network mode proxy", "HTTPS_PROXY"},
		{Host, 0, "", ""},
	} {
		n := profiles.Network{Mode: tc.mode, DNS: []string{"192.0.2.53"}, Hosts: map[string]string{"db.test": "192.0.2.7"}}
		d := New(n, t.TempDir())
		if d.Mode() != tc.mode || d.CloneFlags() != tc.clone || d.Child().Network != string(tc.mode) {
			t.Errorf("%s: driver %s, clone flags %#x, child %q", tc.mode, d.Mode(), d.CloneFlags(), d.Child().Network)
		}
		dir := t.TempDir()
		plan, env, err := d.Files("box", dir, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.mode, err)
		}
		if tc.env != "" && !strings.HasPrefix(env[tc.env], "http://"+ProxyHTTPAddr) {
			t.Errorf("%s: %s = %q", tc.mode, tc.env, env[tc.env])
		}
		if tc.mode == Host {
			if len(plan) != 0 {
				t.Errorf("host: files %v on the host's own root", plan)
			}
			continue
		}
		hosts, _ := os.ReadFile(filepath.Join(dir, "hosts"))
		if !strings.Contains(string(hosts), "192.0.2.7\tdb.test") || !strings.Contains(string(hosts), "127.0.1.1\tbox") {
			t.Errorf("%s: hosts = %q", tc.mode, hosts)
		}
		resolv, err := os.ReadFile(filepath.Join(dir, filepath.Base(resolvConfTarget())))
		if _, statErr := os.Lstat("/etc/resolv.conf"); statErr == nil && !strings.Contains(string(resolv), tc.resolv) {
			t.Errorf("%s: resolv.conf = %q (%v), want %q", tc.mode, resolv, err, tc.resolv)
		}
		if _, _, err := d.Files("box", "", false); err == nil {
			t.Errorf("%s: no error without a directory for the files", tc.mode)
		}
	}
}

// TestDriverHostImage: an image on the host's network gets the host's
// resolv.conf and hosts, where the host has them.
func TestDriverHostImage(t *testing.T) {
	plan, _, err := New(profiles.Network{Mode: Host}, "").Files("box", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/etc/hosts"); err == nil && (len(plan) == 0 || plan[len(plan)-1].Source != "/etc/hosts" || !plan[len(plan)-1].ReadOnly) {
		t.Errorf("plan = %+v, want a read-only bind of /etc/hosts", plan)
	}
}

// TestDriverSlirpChild: without allow_host_loopback, init routes the host's
// addresses nowhere and watches them, and the parent hands it the watch.
func TestDriverSlirpChild(t *testing.T) {
	d := New(profiles.Network{Mode: Slirp}, t.TempDir())
	if c := d.Child(); !c.WatchHostAddrs {
		t.Errorf("child = %+v, want the host's addresses watched", c)
	}
	files, err := d.Inherit()
	if err != nil || len(files) != 1 {
		t.Fatalf("Inherit = %v, %v; want the address-watch socket", files, err)
	}
	files[0].Close()
	open := New(profiles.Network{Mode: Slirp, AllowHostLoopback: true}, t.TempDir())
	if c := open.Child(); c.WatchHostAddrs || len(c.Unreachable) != 0 {
		t.Errorf("allow_host_loopback: child = %+v, want nothing blocked", c)
	}
	if files, _ := open.Inherit(); len(files) != 0 {
		t.Errorf("allow_host_loopback: Inherit = %v, want nothing", files)
	}
}

// TestDriverTakeUnasked: sockets init sends that the mode did not ask
// for end the run (and are closed), as before the drivers.
func TestDriverTakeUnasked(t *testing.T) {
	for _, mode := range []profiles.NetworkMode{Host, Slirp, Proxy, None} {
		d := New(profiles.Network{Mode: mode}, t.TempDir())
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		// Proxy before Start, and every mode with a wrong count.
		if err := d.Take([]*os.File{r, r, r}); err == nil || !strings.Contains(err.Error(), "not asked for") {
			t.Errorf("%s: Take = %v, want not asked for", mode, err)
		}
		if rep := d.Stop(); rep.Backend != "" || len(rep.Denied) != 0 {
			t.Errorf("%s: Stop before Start = %+v", mode, rep)
		}
	}
}

package devices

import (
	"strings"
	"testing"

	cdispec "tags.cncf.io/container-device-interface/specs-go"

	"sandbox/mounts"
)

// The hooks of an `nvidia-ctk cdi generate` spec become data, or are
// refused by name; no other program is accepted.
func TestCDIHooks(t *testing.T) {
	hook := func(path string, args ...string) *cdispec.Hook {
		return &cdispec.Hook{HookName: "createContainer", Path: path, Args: args}
	}
	for _, tt := range []struct {
		name    string
		hook    *cdispec.Hook
		onImage bool
		env     string // LD_LIBRARY_PATH after
		links   []string
		err     string
	}{
		{name: "ldcache", hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "update-ldcache", "--folder", "/usr/lib/x86_64-linux-gnu", "--folder=/usr/lib/nvidia"),
			env: "/usr/lib/x86_64-linux-gnu:/usr/lib/nvidia"},
		{name: "ctk ldcache", hook: hook("/usr/bin/nvidia-ctk", "nvidia-ctk", "hook", "update-ldcache", "--folder", "/lib64"), env: "/lib64"},
		{name: "symlinks on image", onImage: true, hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "create-symlinks", "--link", "libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so"),
			links: []string{"/usr/lib/x86_64-linux-gnu/libcuda.so -> libcuda.so.1"}},
		{name: "symlinks on host", hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "create-symlinks", "--link", "libcuda.so.1::/usr/lib/x86_64-linux-gnu/libcuda.so")},
		{name: "symlink into /proc", onImage: true, hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "create-symlinks", "--link", "x::/proc/self/x"), err: "is not TARGET::/ABSOLUTE/LINK"},
		{name: "cuda compat", hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "enable-cuda-compat", "--host-driver-version=550.54")},
		{name: "chmod", hook: hook("/usr/bin/nvidia-cdi-hook", "nvidia-cdi-hook", "chmod", "--mode", "755", "--path", "/dev/dri"), err: "createContainer hook /usr/bin/nvidia-cdi-hook is refused"},
		{name: "other program", hook: hook("/usr/local/bin/vendor-hook", "vendor-hook", "update-ldcache"), err: "createContainer hook /usr/local/bin/vendor-hook is refused"},
		{name: "bare ctk", hook: hook("/usr/bin/nvidia-ctk", "nvidia-ctk", "update-ldcache"), err: "is refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &Grants{}
			err := g.cdiHook(tt.hook, tt.onImage)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("cdiHook = %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Env["LD_LIBRARY_PATH"]; got != tt.env {
				t.Errorf("LD_LIBRARY_PATH = %q, want %q", got, tt.env)
			}
			var links []string
			for _, op := range g.Mounts {
				if op.Kind == mounts.Symlink {
					links = append(links, op.Target+" -> "+op.Source)
				}
			}
			if strings.Join(links, ",") != strings.Join(tt.links, ",") {
				t.Errorf("symlinks %v, want %v", links, tt.links)
			}
		})
	}
}

package mounts

import "testing"

func TestSizedTmpfs(t *testing.T) {
	p := Host(HostOptions{Home: "/home/u", Project: "/p", Extra: Plan{{Kind: Tmpfs, Target: "/scratch", Data: "mode=755"}},
		Sizes: Sizes{Tmp: 100, Shm: 20, Run: 3}})
	want := map[string]string{
		"/tmp": "mode=1777,size=100", "/dev/shm": "mode=1777,size=20", "/run": "mode=755,size=3",
		"/scratch": "mode=755,size=100", "/home/u": "mode=700,size=100", "/dev": "mode=755,size=1048576,nr_inodes=4096",
	}
	for _, op := range p {
		if w, ok := want[op.Target]; ok && op.Kind == Tmpfs {
			if op.Data != w {
				t.Errorf("tmpfs %s: data %q, want %q", op.Target, op.Data, w)
			}
			delete(want, op.Target)
		}
	}
	if len(want) > 0 {
		t.Errorf("no tmpfs at %v", want)
	}
}

package sandbox

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// initBuildID is the Go build ID of the sandbox-init that `make build`
// built with this CLI (-X sandbox/sandbox.initBuildID=...); empty in a
// plain `go build`, and then init is this binary.
var initBuildID string

// initBinary is the slim init (cmd/sandbox-init) beside this executable
// when it is the very build this CLI was linked with, else /proc/self/exe.
// A run execs its init once or twice and init execs the payload stage, so
// the slim binary saves the CLI's package initialisation (registry client,
// CDI, cobra, TLS) each time. The build ID sits in the ELF note at the head
// of the file; reading 16 KiB to find it costs microseconds. Another
// build, or another program, beside us is ignored, never run. This is a
// check against mistakes, not attacks: a file crafted to hold the ID, or
// swapped between this check and the exec, could only come from whoever
// can write the directory that holds sandbox itself, who could replace
// sandbox too.
var initBinary = sync.OnceValue(func() string {
	const self = "/proc/self/exe"
	if initBuildID == "" {
		return self
	}
	exe, err := os.Executable()
	if err != nil {
		return self
	}
	path := filepath.Join(filepath.Dir(exe), "sandbox-init")
	f, err := os.Open(path)
	if err != nil {
		return self
	}
	defer f.Close()
	head := make([]byte, 16<<10)
	n, _ := io.ReadFull(f, head)
	if !bytes.Contains(head[:n], []byte("\x00"+initBuildID+"\x00")) {
		return self
	}
	return path
})

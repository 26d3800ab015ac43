package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// ErrNoHardware is a requirement the machine's hardware cannot meet, such
// as /dev/kvm on a VM without nested virtualisation. No install step can
// provide it, so Require skips such a test with the reason even under
// SANDBOX_TEST_REQUIRE_ALL=1; a device that exists but cannot be opened is
// a set-up problem and fails there as usual.
var ErrNoHardware = errors.New("this machine has no such hardware")

// KVM: /dev/kvm exists and this user can open it (a host with hardware
// virtualisation exposed, and the user in its group).
var KVM = Requirement{"/dev/kvm, readable and writable by this user", sync.OnceValue(func() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %v", ErrNoHardware, err)
	}
	if err != nil {
		return err
	}
	return f.Close()
})}

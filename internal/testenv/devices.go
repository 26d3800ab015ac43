package testenv

import (
	"os"
	"sync"
)

// KVM: /dev/kvm exists and this user can open it (a host with hardware
// virtualisation exposed, and the user in its group).
var KVM = Requirement{"/dev/kvm, readable and writable by this user", sync.OnceValue(func() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
})}

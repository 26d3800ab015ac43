package slirp

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A tun device the helper cannot open is reported with doctor's fix
// before any helper starts.
func TestCheckTun(t *testing.T) {
	defer func(old string) { tunDevice = old }(tunDevice)
	tunDevice = filepath.Join(t.TempDir(), "missing")
	var te *TunError
	if err := checkTun(); !errors.As(err, &te) || !strings.Contains(te.Hint(), "modprobe tun") {
		t.Errorf("missing device: %v", err)
	}
	if os.Getuid() == 0 {
		return // root opens anything
	}
	tunDevice = filepath.Join(t.TempDir(), "closed")
	if err := os.WriteFile(tunDevice, nil, 0o000); err != nil {
		t.Fatal(err)
	}
	if err := checkTun(); !errors.As(err, &te) || !strings.HasPrefix(te.Hint(), TunFix) {
		t.Errorf("unopenable device: %v", err)
	}
}

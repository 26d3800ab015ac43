package imagestore

import (
	"strings"
	"testing"
)

func TestValidDigest(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	for d, want := range map[string]bool{
		"sha256:" + hex:                       true,
		"sha256:" + strings.ToUpper(hex):      false,
		"sha256:" + hex[:63]:                  false,
		"sha256:" + hex + "0":                 false,
		"sha256:" + hex[:63] + "g":            false,
		"sha512:" + hex:                       false,
		"sha256:../../" + hex[:58]:            false,
		"":                                    false,
		"sha256:" + hex[:32] + "/" + hex[33:]: false,
		" sha256:" + hex:                      false,
	} {
		if got := validDigest(d); got != want {
			t.Errorf("validDigest(%q) = %v, want %v", d, got, want)
		}
	}
}

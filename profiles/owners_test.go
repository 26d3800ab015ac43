package profiles

import (
	"github.com/google/go-containerregistry/pkg/name"
	"tags.cncf.io/container-device-interface/pkg/parser"
)

// The tests check values as the CLI does, with the owners' parsers that
// imageworker and devices register in the sandbox binary.
func init() {
	CheckImageRef = func(ref string) error {
		_, err := name.ParseReference(ref)
		return err
	}
	CheckCDIName = func(d string) error {
		_, _, _, err := parser.ParseQualifiedName(d)
		return err
	}
}

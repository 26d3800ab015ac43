package session

import (
	"slices"

	"sandbox/imagestore"
	"sandbox/profiles"
)

// Insecure decides, for every command that talks to a registry (run,
// build, lock, pull, push), whether ref's registry may be reached over
// plain HTTP or unverified TLS: the user passed --tls-verify=false
// (noVerify), or the profile lists the registry in insecure_registries.
func Insecure(p *profiles.Profile, ref string, noVerify bool) bool {
	return noVerify || p != nil && slices.Contains(p.InsecureRegistries, imagestore.Registry(ref))
}

package profiles

// Values whose grammar another package owns are checked at load with that
// owner's parser, so that what `profile check` accepts is what run accepts:
// image references with the image store's (CheckImageRef, registered by
// imageworker), CDI device names with the CDI library's (CheckCDIName,
// registered by devices). The owners register them, instead of profiles
// importing the parsers, so that the sandbox's init binary, which never
// loads a profile, links neither parser nor pays for its package
// initialisation at every start. Unset (a program that links neither
// owner), the value is not checked here; its owner still refuses it where
// it is used.
var (
	CheckImageRef func(ref string) error
	CheckCDIName  func(name string) error
)

// check runs an owner's check if one is registered.
func check(owner func(string) error, v string) error {
	if owner == nil {
		return nil
	}
	return owner(v)
}

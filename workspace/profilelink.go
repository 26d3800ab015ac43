package workspace

import (
	"fmt"
	"os"
	"path/filepath"

	"sandbox/profiles"
)

// CheckProfileLink refuses a project whose sandbox.toml (file, the
// profile a run uses) is a symlink, wherever it points (review 13, #9;
// review 2). The protection makes the file the link resolves to
// read-only, but the link itself sits in the writable project root, and
// so may the directories on its way: a sandbox could replace either (rm
// sandbox.toml; or mv sub sub.old; mkdir sub) and set the profile of the
// next run, its network, its protect.paths and everything else that is
// not a grant. A profile kept elsewhere is named with --profile instead.
func CheckProfileLink(project, file string) error {
	if file == "" || filepath.Base(file) != profiles.FileName || resolved(filepath.Dir(file)) != resolved(project) {
		return nil
	}
	fi, err := os.Lstat(file)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	dest, _ := os.Readlink(file)
	return &Error{
		Msg: fmt.Sprintf("profile %s is a symlink (to %s): a sandbox can replace the link, which lies in the project it may write, and so rewrite the profile of the next run", file, dest),
		Fix: fmt.Sprintf("make sandbox.toml the file itself (cp --remove-destination %s %s), or keep the profile outside the project and name it: sandbox run --profile FILE --project %s", dest, file, project),
	}
}

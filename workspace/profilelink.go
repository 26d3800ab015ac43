package workspace

import (
	"fmt"
	"os"
	"path/filepath"

	"sandbox/profiles"
)

// CheckProfileLink refuses a project whose sandbox.toml (file, the
// profile a run uses) is a symlink into the project itself (review 13,
// #9). The protection makes the file the link resolves to read-only, but
// neither the link, which sits in the writable project root, nor the
// directories on the way to its target can be mounted over: a sandbox
// could replace either (rm sandbox.toml; or mv sub sub.old; mkdir sub)
// and set the profile of the next run, its protect.paths and everything
// else that is not a grant. A link to a profile outside the project
// points where the sandbox cannot write, and is left alone.
func CheckProfileLink(project, file string) error {
	if file == "" || filepath.Base(file) != profiles.FileName || resolved(filepath.Dir(file)) != resolved(project) {
		return nil
	}
	root := resolved(project)
	cur := file
	for range 40 { // the kernel's own bound on a chain of links
		fi, err := os.Lstat(cur)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			return nil
		}
		dest, err := os.Readlink(cur)
		if err != nil {
			return nil
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(cur), dest)
		}
		next := filepath.Join(resolved(filepath.Dir(dest)), filepath.Base(dest))
		if within(root, next) {
			rel, _ := filepath.Rel(root, next)
			return &Error{
				Msg: fmt.Sprintf("profile %s is a symlink to %s in the project: a sandbox can replace the link or the directories on its way, and so rewrite the profile of the next run", file, rel),
				Fix: fmt.Sprintf("make sandbox.toml the file itself (rm %s && mv %s %s), or keep the profile outside the project and name it with --profile FILE --project DIR", file, filepath.Join(project, rel), file),
			}
		}
		cur = next
	}
	return nil
}

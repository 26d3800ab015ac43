package workspace

import (
	"hash/fnv"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxNameBase bounds the readable part of a name derived from a project
// path, so that the name with its hash stays well inside NAME_MAX (255
// bytes, for state directories) and the 255 characters of an OCI
// repository (with "sandbox.local/").
const maxNameBase = 64

// ID names a project's state, its home and sandbox directories:
// readable, and unique per path (a name, not a secret: FNV keeps crypto's
// package initialisation out of every sandbox start).
func ID(project string) string {
	return projectBase(project) + "-" + projectHash(project)
}

// projectHash is what makes a project's names unique per path.
func projectHash(project string) string {
	h := fnv.New64a()
	h.Write([]byte(filepath.Clean(project)))
	return strconv.FormatUint(h.Sum64()&0xffffffffffff, 16)
}

// projectBase is the project directory's name as it reads in state
// directory names: kept as it is (a file name may hold any byte but "/"),
// cut to maxNameBase bytes on a character boundary.
func projectBase(project string) string {
	base := filepath.Base(filepath.Clean(project))
	if base == "/" || base == "." {
		base = "root"
	}
	if len(base) > maxNameBase {
		n := maxNameBase
		for n > 0 && !utf8.RuneStart(base[n]) {
			n--
		}
		base = base[:n]
	}
	return base
}

// projectRepo is the repository under which the store keeps a project's
// commits: "sandbox.local/" + the directory's name lowercased, every run
// of characters an OCI repository component does not allow
// ([a-z0-9]+ joined by ".", "_" or "-") made one "-", + "-" + the hash.
// A directory name of only such characters reads as "project".
func projectRepo(project string) string {
	return "sandbox.local/" + repoComponent(filepath.Base(filepath.Clean(project))) + "-" + projectHash(project)
}

// repoComponent sanitises name into [a-z0-9]+(?:[._-][a-z0-9]+)*, at most
// maxNameBase bytes.
func repoComponent(name string) string {
	var b strings.Builder
	sep := byte(0) // a separator waiting for the next alphanumeric
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if sep != 0 && b.Len() > 0 {
				b.WriteByte(sep)
			}
			sep = 0
			b.WriteRune(r)
		case (r == '.' || r == '_') && sep == 0:
			sep = byte(r)
		default:
			sep = '-'
		}
		if b.Len() >= maxNameBase {
			break
		}
	}
	s := b.String()
	if len(s) > maxNameBase {
		s = strings.TrimRight(s[:maxNameBase], "._-")
	}
	if s == "" {
		return "project"
	}
	return s
}

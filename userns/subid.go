// Package userns computes and writes user-namespace id maps: the ranges in
// /etc/subuid and /etc/subgid, the keep-id layout, and newuidmap/newgidmap.
package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Range is one line of /etc/subuid or /etc/subgid: Count ids from Start.
type Range struct {
	Start, Count int
}

// ParseSubIDs returns the ranges in r that belong to the user called name or
// with numeric id. Malformed lines are skipped, as shadow-utils does.
func ParseSubIDs(r io.Reader, name string, id int) ([]Range, error) {
	var out []Range
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			continue
		}
		out = append(out, Range{Start: start, Count: count})
	}
	return out, sc.Err()
}

// SubIDs reads the ranges of the user (name, id) from file, which is
// /etc/subuid or /etc/subgid. A missing file means no ranges.
func SubIDs(file, name string, id int) ([]Range, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rs, err := ParseSubIDs(f, name, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return rs, nil
}

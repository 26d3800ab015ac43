package userns

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Overlap is one of the user's subordinate ranges colliding with other
// ids: another of the user's own ranges or the user's own id (the kernel
// then refuses the map: newuidmap fails with "Invalid argument"), or
// another user's range (that user's processes share the ids).
type Overlap struct {
	Mine  Range
	Other Range
	Owner string // the other range's user; "" for the user's own id
	Self  bool   // the collision is within the user's own map
}

func (o Overlap) String() string {
	switch {
	case o.Owner == "":
		return fmt.Sprintf("your range %s holds your own id %d", o.Mine, o.Other.Start)
	case o.Self:
		return fmt.Sprintf("your ranges %s and %s overlap", o.Mine, o.Other)
	}
	return fmt.Sprintf("your range %s overlaps %s of %s", o.Mine, o.Other, o.Owner)
}

func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Start, r.Start+r.Count-1) }

func (r Range) overlaps(o Range) bool {
	return r.Start < o.Start+o.Count && o.Start < r.Start+r.Count
}

// FindOverlaps lists the collisions of the ranges in r (an /etc/subuid or
// /etc/subgid) of the user called name or with numeric id, whose own id
// (uid or gid) is own.
func FindOverlaps(r io.Reader, name string, id, own int) ([]Overlap, error) {
	type line struct {
		owner string
		r     Range
	}
	var mine, others []line
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(f) != 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			continue
		}
		l := line{f[0], Range{Start: start, Count: count}}
		if f[0] == name || f[0] == strconv.Itoa(id) {
			mine = append(mine, l)
		} else {
			others = append(others, l)
		}
	}
	var out []Overlap
	for i, m := range mine {
		if m.r.overlaps(Range{Start: own, Count: 1}) {
			out = append(out, Overlap{Mine: m.r, Other: Range{Start: own, Count: 1}, Self: true})
		}
		for _, n := range mine[i+1:] {
			if m.r.overlaps(n.r) {
				out = append(out, Overlap{Mine: m.r, Other: n.r, Owner: name, Self: true})
			}
		}
		for _, o := range others {
			if m.r.overlaps(o.r) {
				out = append(out, Overlap{Mine: m.r, Other: o.r, Owner: o.owner})
			}
		}
	}
	return out, sc.Err()
}

// Overlaps reads file (/etc/subuid or /etc/subgid) for FindOverlaps; a
// missing file has none.
func Overlaps(file, name string, id, own int) ([]Overlap, error) {
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out, err := FindOverlaps(f, name, id, own)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return out, nil
}

// OverlapError is a map the kernel would refuse: the user's subordinate
// ranges in File overlap each other or hold the user's own id.
type OverlapError struct {
	File     string
	Overlaps []Overlap
}

func (e *OverlapError) Error() string {
	var s []string
	for _, o := range e.Overlaps {
		s = append(s, o.String())
	}
	return fmt.Sprintf("cannot map ids: in %s %s", e.File, strings.Join(s, "; "))
}

// Hint says how to fix the file.
func (e *OverlapError) Hint() string {
	return "edit " + e.File + " (as root) so that your ranges overlap neither each other nor your own id, e.g. one line NAME:100000:65536; sandbox doctor checks it"
}

// selfOverlap returns the collisions within the user's own map, which
// make newuidmap fail.
func selfOverlap(file, name string, id, own int) error {
	all, err := Overlaps(file, name, id, own)
	if err != nil {
		return err
	}
	var self []Overlap
	for _, o := range all {
		if o.Self {
			self = append(self, o)
		}
	}
	if len(self) > 0 {
		return &OverlapError{File: file, Overlaps: self}
	}
	return nil
}

package workspace

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The sandbox layer is mounted "volatile": unmounting a writable overlay
// otherwise syncs the whole filesystem its upper layer lies on, so that
// the end of every run on an image waited for all the machine's dirty
// data in the user's home to reach the disk (~200 ms with 300 MB of a
// build's output pending, ~1 ms without). Its files are written back as
// any program's are, within seconds.
//
// A volatile mount leaves a mark in the work directory, and overlayfs
// refuses to mount the layer again while it is there: after a crash the
// upper layer may have lost writes. Under the sandbox's lock no run has
// the layer mounted, so a mark made since this boot is a finished run's,
// and goes; one from before it was there when the machine went down.

// volatileMark is overlayfs's mark of a volatile mount in its work
// directory.
const volatileMark = "work/incompat/volatile"

// clearVolatileMark removes the mark a volatile mount of the layer left in
// work. downed reports a mark from before this boot: the machine went down
// while a run had the layer mounted, and that run's last changes may be
// incomplete.
func clearVolatileMark(work string) (downed bool, err error) {
	// overlayfs makes its directories mode 0: open the way to the mark
	// and into it (it holds a file, "dirty").
	for _, d := range []string{"work", "work/incompat", volatileMark} {
		if err := os.Chmod(filepath.Join(work, d), 0o700); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			return false, fmt.Errorf("clearing the sandbox layer's volatile mark: %w", err)
		}
	}
	mark := filepath.Join(work, volatileMark)
	fi, err := os.Lstat(mark)
	if err != nil {
		return false, fmt.Errorf("clearing the sandbox layer's volatile mark: %w", err)
	}
	boot, err := bootTime()
	if err != nil {
		return false, err
	}
	if err := os.RemoveAll(filepath.Dir(mark)); err != nil {
		return false, fmt.Errorf("clearing the sandbox layer's volatile mark: %w", err)
	}
	return fi.ModTime().Unix() < boot, nil
}

// bootTime is when this boot began, in seconds since the epoch (btime
// in /proc/stat).
func bootTime() (int64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("reading the boot time: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("reading the boot time: no btime in /proc/stat")
}

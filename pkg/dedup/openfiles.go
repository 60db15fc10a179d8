package dedup

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// openForWriting returns which of the given inodes some process has open for
// writing, from <proc>/*/fd and <proc>/*/fdinfo. Processes we may not
// inspect are passed over (run as root to see everyone's files).
func openForWriting(proc string, inodes map[[2]uint64]bool) map[[2]uint64]bool {
	found := map[[2]uint64]bool{}
	pids, err := os.ReadDir(proc)
	if err != nil {
		return found
	}
	for _, p := range pids {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		fdDir := filepath.Join(proc, p.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st syscall.Stat_t
			if syscall.Stat(filepath.Join(fdDir, fd.Name()), &st) != nil {
				continue
			}
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if !inodes[k] || found[k] {
				continue
			}
			if fdWritable(filepath.Join(proc, p.Name(), "fdinfo", fd.Name())) {
				found[k] = true
			}
		}
	}
	return found
}

// fdWritable reads the octal "flags:" line of an fdinfo file.
func fdWritable(fdinfo string) bool {
	f, err := os.Open(fdinfo)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			if err != nil {
				return false
			}
			return flags&syscall.O_ACCMODE != syscall.O_RDONLY
		}
	}
	return false
}

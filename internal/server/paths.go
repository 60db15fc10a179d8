package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/eintr"
	"github.com/accel-data/accel-data/internal/pathrule"
)

// MaxPathLen bounds one requested path (PATH_MAX).
const MaxPathLen = pathrule.MaxLen

// PathError is a requested path the daemon refuses; it becomes a 4xx answer
// that names the path, so sbatch can print it.
type PathError struct {
	Path   string
	Reason string
	Status int
}

// Error is "<path>: <reason>", the path shown with pathrule.Show (shortened
// in the middle when long, odd bytes as \xNN).
func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return pathrule.Show(e.Path) + ": " + e.Reason
}

// PathPolicy decides which paths may be warmed.
type PathPolicy struct {
	// Mounts are the JuiceFS mount points (clean, absolute). A path must lie
	// inside one of them.
	Mounts []string
	// MaxPaths bounds the number of paths in one request.
	MaxPaths int
	// MinDepth refuses a caller other than root a path fewer than this many
	// levels below its mount (0: no limit); see limits.go.
	MinDepth int
	// MaxRequestBytes refuses a caller other than root a dataset larger than
	// this (0: no limit); see limits.go.
	MaxRequestBytes int64
}

// Canonical validates the syntax of one path with the rule the SPANK plugin
// applies at sbatch (pathrule.Clean) and returns it cleaned, without
// touching the file system.
func Canonical(p string) (string, error) {
	clean, reason := pathrule.Clean(p)
	if reason != "" {
		return "", &PathError{Path: p, Reason: reason, Status: 400}
	}
	return clean, nil
}

// Resolve checks one path fully: syntax, existence, symlinks resolved and
// still inside a JuiceFS mount, and readable by the caller (by mode bits,
// as the caller's uid and groups, not as the daemon's root). It returns the
// canonical path that identifies the dataset.
func (pp *PathPolicy) Resolve(p string, c Caller) (string, error) {
	clean, err := Canonical(p)
	if err != nil {
		return "", err
	}
	if pp.mountOf(clean) == "" {
		return "", &PathError{Path: p, Reason: "not inside a JuiceFS mount (" + strings.Join(pp.Mounts, ", ") + ")", Status: 400}
	}
	real, err := realPath(clean)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", &PathError{Path: p, Reason: "no such file or directory", Status: 404}
		}
		if errors.Is(err, fs.ErrPermission) {
			return "", &PathError{Path: p, Reason: "permission denied", Status: 403}
		}
		return "", &PathError{Path: p, Reason: err.Error(), Status: 400}
	}
	if pp.mountOf(real) == "" {
		return "", &PathError{Path: p, Reason: "resolves to " + pathrule.Show(real) + ", which is outside every JuiceFS mount", Status: 400}
	}
	if err := pp.checkDepth(p, real, c); err != nil {
		return "", err
	}
	if !c.Root() {
		if err := readableBy(real, c); err != nil {
			return "", &PathError{Path: p, Reason: err.Error(), Status: 403}
		}
	}
	return real, nil
}

// realPath is p (clean and absolute) with every symlink resolved, from one
// walk of the path by the kernel instead of filepath.EvalSymlinks' lstat of
// every prefix: on a FUSE mount each of those is a system call that may
// wait for the mount process, and this runs for every submitted path. Most
// paths have no symlink on the way: a walk that refuses them (openat2 with
// RESOLVE_NO_SYMLINKS) proves p is its own real path. A path with one (or a
// kernel before 5.6) is opened with O_PATH and its name read back from
// /proc/self/fd.
func realPath(p string) (string, error) {
	if !noOpenat2.Load() {
		fd, err := eintr.Retry(func() (int, error) {
			return unix.Openat2(unix.AT_FDCWD, p, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_SYMLINKS})
		})
		switch err {
		case nil:
			unix.Close(fd)
			return p, nil
		case unix.ELOOP: // a symlink on the way
		case unix.ENOSYS, unix.EINVAL, unix.E2BIG, unix.EPERM: // no openat2 here (EPERM: a seccomp filter)
			noOpenat2.Store(true)
		default:
			return "", &fs.PathError{Op: "open", Path: p, Err: err}
		}
	}
	fd, err := eintr.Retry(func() (int, error) { return unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0) })
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	real, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || !filepath.IsAbs(real) {
		return filepath.EvalSymlinks(p) // no /proc (or an odd name): the slow way
	}
	return real, nil
}

// noOpenat2 is set once openat2 turned out not to work here.
var noOpenat2 atomic.Bool

// mountOf returns the deepest mount that contains p, or "".
func (pp *PathPolicy) mountOf(p string) string {
	best := ""
	for _, m := range pp.Mounts {
		if (p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/")) && len(m) > len(best) {
			best = m
		}
	}
	return best
}

// writePathError is the one answer to a refused path: a *PathError with its
// status, naming its path; any other error 400, naming p.
func writePathError(w http.ResponseWriter, err error, p string) {
	var pe *PathError
	if errors.As(err, &pe) {
		WriteError(w, pe.Status, pe.Error(), pe.Path)
		return
	}
	WriteError(w, http.StatusBadRequest, err.Error(), p)
}

// readableBy checks, by mode bits, that c may traverse every directory
// leading to p and read p (and list it, when it is a directory).
func readableBy(p string, c Caller) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		cur = filepath.Join(cur, part)
		st, err := os.Stat(cur)
		if err != nil {
			return err
		}
		want := uint32(1) // x
		if i == len(parts)-1 {
			want = 4 // r
			if st.IsDir() {
				want = 5 // r-x
			}
		} else if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", cur)
		}
		if !allowed(st, c, want) {
			return fmt.Errorf("permission denied for uid %d at %s", c.UID, cur)
		}
	}
	return nil
}

func allowed(st os.FileInfo, c Caller, want uint32) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	mode := uint32(st.Mode().Perm())
	var bits uint32
	switch {
	case sys.Uid == c.UID:
		bits = mode >> 6 & 7
	case inGroups(sys.Gid, c.Gids):
		bits = mode >> 3 & 7
	default:
		bits = mode & 7
	}
	return bits&want == want
}

func inGroups(g uint32, gs []uint32) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unicode/utf8"
)

// MaxPathLen bounds one requested path (PATH_MAX).
const MaxPathLen = 4096

// PathError is a requested path the daemon refuses; it becomes a 4xx answer
// that names the path, so sbatch can print it.
type PathError struct {
	Path   string
	Reason string
	Status int
}

// Error is "<path>: <reason>", the path shown with ShowPath.
func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return ShowPath(e.Path) + ": " + e.Reason
}

// PathPolicy decides which paths may be warmed.
type PathPolicy struct {
	// Mounts are the JuiceFS mount points (clean, absolute). A path must lie
	// inside one of them.
	Mounts []string
	// MaxPaths bounds the number of paths in one request.
	MaxPaths int
}

// Canonical validates the syntax of one path and returns it cleaned, without
// touching the file system. It is the rule the SPANK plugin applies at
// sbatch (spank/pathrule.h), checked in this order: not empty, at most
// MaxPathLen bytes, valid UTF-8, no control character, absolute, no '..'
// component, and not ending in white space once cleaned. Both sides are
// tested from spank/testdata/paths.tsv.
func Canonical(p string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", &PathError{Path: p, Reason: reason, Status: 400}
	}
	switch {
	case p == "":
		return bad("empty path: name a dataset directory or file")
	case len(p) > MaxPathLen:
		return bad(fmt.Sprintf("path is %d bytes, longer than the %d allowed", len(p), MaxPathLen))
	case !utf8.ValidString(p):
		return bad(`path is not valid UTF-8 (bad bytes shown as \xNN): rename it, or name a parent directory`)
	case strings.IndexFunc(p, isControl) >= 0:
		return bad(`path contains a control character (shown as \xNN): rename it, or name a parent directory`)
	case !filepath.IsAbs(p):
		return bad("path is relative: give an absolute path such as /jfs/datasets/imagenet")
	case slices.Contains(strings.Split(p, "/"), ".."):
		return bad("path contains '..': give the dataset's real absolute path")
	}
	clean := filepath.Clean(p)
	if endsInSpace(clean) {
		return bad("path ends in white space, which juicefs warmup cannot read from its list file: rename it")
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
	real, err := filepath.EvalSymlinks(clean)
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
		return "", &PathError{Path: p, Reason: "resolves to " + ShowPath(real) + ", which is outside every JuiceFS mount", Status: 400}
	}
	if !c.Root() {
		if err := readableBy(real, c); err != nil {
			return "", &PathError{Path: p, Reason: err.Error(), Status: 403}
		}
	}
	return real, nil
}

// mountOf returns the mount that contains p, or "".
func (pp *PathPolicy) mountOf(p string) string {
	for _, m := range pp.Mounts {
		if p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/") {
			return m
		}
	}
	return ""
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

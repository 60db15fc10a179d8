package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

func cmdClone(args []string) int {
	flags, pos, err := splitArgs(args, nil)
	if err == nil {
		err = checkFlags(flags, "p", "preserve")
	}
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	if len(pos) != 2 {
		fatalf("main", "main.go", 31, "clone needs exactly 2 arguments: SRC DST (got %d)", len(pos))
	}
	preserve := flags["p"] == "true" || flags["preserve"] == "true"
	srcAbs, err := filepath.Abs(pos[0])
	if err != nil {
		fatalf("main", "main.go", 31, "abs of %s: %s", pos[0], err)
	}
	srcAbs = backingPath(srcAbs)
	srcFi, err := os.Lstat(srcAbs)
	if err != nil {
		fatalf("main", "main.go", 31, "lookup inode for %s: %s", pos[0], err)
	}
	dst := pos[1]
	if a, err := filepath.Abs(dst); err == nil {
		dst = backingPath(a) + map[bool]string{true: "/"}[strings.HasSuffix(dst, "/")]
	}
	if strings.HasSuffix(dst, "/") {
		dst = filepath.Join(dst, filepath.Base(srcAbs))
	}
	if _, err := os.Lstat(dst); err == nil {
		fatalf("main", "main.go", 31, "%s already exists", dst)
	} else if !os.IsNotExist(err) {
		fatalf("main", "main.go", 31, "stat %s: %s", dst, err)
	}
	dstAbs, err := filepath.Abs(dst)
	if err != nil {
		fatalf("main", "main.go", 31, "abs of %s: %s", dst, err)
	}
	srcMp, err := findMount(srcAbs)
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	dstMp, err := findMount(filepath.Dir(dstAbs))
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	if srcMp != dstMp {
		fatalf("main", "main.go", 31, "the clone DST path should be at the same mount point as the SRC path")
	}
	if strings.HasPrefix(dstAbs, filepath.Clean(srcAbs)+"/") {
		fatalf("main", "main.go", 31, "the clone DST path should not be under the SRC path")
	}
	if _, err := os.Lstat(filepath.Dir(dstAbs)); err != nil {
		fatalf("main", "main.go", 31, "lookup inode for %s: %s", filepath.Dir(dstAbs), err)
	}
	vol, err := openVolume(srcMp)
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	c := cloner{vol: vol, preserve: preserve, umask: os.FileMode(umask)}
	if err := c.copyTree(srcAbs, dstAbs, srcFi); err != nil {
		_ = os.RemoveAll(dstAbs)
		fatalf("main", "main.go", 31, "clone failed: %s", err)
	}
	// Record that every copied file shares its source's slices.
	if err := vol.withMeta(func(m *metaState) error {
		for _, p := range c.pairs {
			sfi, err := os.Lstat(p[0])
			if err != nil {
				return err
			}
			dfi, err := os.Lstat(p[1])
			if err != nil {
				return err
			}
			sm := sliceFor(m, p[0], sfi)
			m.setFile(inodeKey(dfi), &fileMeta{Length: dfi.Size(), MtimeNs: dfi.ModTime().UnixNano(), Sum: sm.Sum, Slices: append([]uint64(nil), sm.Slices...)})
		}
		return nil
	}); err != nil {
		_ = os.RemoveAll(dstAbs)
		fatalf("main", "main.go", 31, "clone failed: %s", err)
	}
	return 0
}

type cloner struct {
	vol      *volume
	preserve bool
	umask    os.FileMode
	pairs    [][2]string // regular files: source, clone
}

func (c *cloner) mode(fi os.FileInfo) os.FileMode {
	if c.preserve {
		return fi.Mode().Perm()
	}
	return fi.Mode().Perm() &^ c.umask
}

func (c *cloner) own(path string, fi os.FileInfo) {
	if c.preserve {
		st := fi.Sys().(*syscall.Stat_t)
		_ = os.Lchown(path, int(st.Uid), int(st.Gid))
		_ = os.Chmod(path, fi.Mode().Perm())
	}
}

// copyTree copies the data (so reads work on a plain file system) and
// remembers the file pairs whose slices the clone shares.
func (c *cloner) copyTree(src, dst string, fi os.FileInfo) error {
	switch {
	case fi.Mode().IsRegular():
		if err := copyFile(src, dst, c.mode(fi)); err != nil {
			return err
		}
		c.own(dst, fi)
		c.pairs = append(c.pairs, [2]string{src, dst})
	case fi.IsDir():
		if err := os.Mkdir(dst, c.mode(fi)|0o700); err != nil {
			return err
		}
		ents, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if src == c.vol.mount && internalNames[e.Name()] {
				continue
			}
			efi, err := e.Info()
			if err != nil {
				return err
			}
			if err := c.copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), efi); err != nil {
				return err
			}
		}
		_ = os.Chmod(dst, c.mode(fi))
		c.own(dst, fi)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	default:
		return fmt.Errorf("%s: unsupported file type %s", src, fi.Mode().Type())
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

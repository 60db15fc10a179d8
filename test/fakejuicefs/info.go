package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func cmdInfo(args []string) int {
	flags, pos, err := splitArgs(args, nil)
	if err == nil {
		err = checkFlags(flags, "raw", "r", "recursive", "strict", "i", "inode")
	}
	if err != nil {
		fatalf("main", "main.go", 31, "%s", err)
	}
	raw := flags["raw"] == "true"
	if len(pos) == 0 {
		fatalf("main", "main.go", 31, "info needs at least 1 argument: PATH")
	}
	// Consecutive paths of one volume are answered in one transaction on its
	// metadata, not one per path.
	type entry struct {
		arg, abs string
		fi       os.FileInfo
	}
	var vol *volume
	var run []entry
	flush := func() {
		if len(run) == 0 {
			return
		}
		if err := vol.withMeta(func(m *metaState) error {
			for _, e := range run {
				fmt.Print(vol.info(m, e.arg, e.abs, e.fi, raw))
			}
			return nil
		}); err != nil {
			errorf("info", "info.go", 140, "failed to get info: %s", err)
		}
		run = run[:0]
	}
	byInode := flags["i"] == "true" || flags["inode"] == "true"
	for _, p := range pos {
		var abs string
		if byInode {
			// juicefs info -i INODE: the current directory is inside JuiceFS.
			if abs, err = inodePath(p); err != nil {
				errorf("info", "info.go", 102, "lookup inode for %s: %s", p, err)
				continue
			}
		} else if abs, err = filepath.Abs(p); err != nil {
			fatalf("info", "info.go", 96, "abs of %q: %s", p, err)
		}
		abs = backingPath(abs)
		fi, err := os.Lstat(abs)
		if err != nil {
			errorf("info", "info.go", 102, "lookup inode for %q: %s", p, err)
			continue
		}
		mount, err := findMount(abs)
		if err != nil {
			errorf("info", "info.go", 110, "Open control file for %q: %s", abs, err)
			continue
		}
		if st := filepath.Join(mount, stateDir); abs == st || strings.HasPrefix(abs, st+"/") {
			errorf("info", "info.go", 102, "lookup inode for %q: no such file or directory (the stand-in's private state)", p)
			continue
		}
		if vol == nil || vol.mount != mount {
			flush()
			if vol, err = openVolume(mount); err != nil {
				errorf("info", "info.go", 110, "Open control file for %q: %s", abs, err)
				vol = nil
				continue
			}
		}
		run = append(run, entry{p, abs, fi})
	}
	flush()
	return 0
}

// inode is the inode number a FUSE mount shows: 1 for the root, as JuiceFS.
func (v *volume) inode(abs string, fi os.FileInfo) uint64 {
	if abs == v.mount {
		return 1
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// inodePath finds the file with inode number s (as `info` and a FUSE
// mount's access log show it) in the volume holding the current directory.
func inodePath(s string) (string, error) {
	ino, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%q is not an inode number", s)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	mount, err := findMount(backingPath(cwd))
	if err != nil {
		return "", err
	}
	if ino == 1 {
		return mount, nil
	}
	found := ""
	_ = filepath.WalkDir(mount, func(q string, d fs.DirEntry, err error) error {
		if err != nil || found != "" {
			return filepath.SkipDir
		}
		if filepath.Dir(q) == mount && internalNames[d.Name()] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if i, err := d.Info(); err == nil && i.Sys().(*syscall.Stat_t).Ino == ino {
			found = q
			return filepath.SkipAll
		}
		return nil
	})
	if found == "" {
		return "", syscall.ENOENT
	}
	return found, nil
}

func align4k(n int64) int64 { return (n + 4095) &^ 4095 }

// info renders `juicefs info [--raw]` of one path; m is the volume's
// metadata, locked by the caller.
func (v *volume) info(m *metaState, arg, abs string, fi os.FileInfo, raw bool) string {
	var files, dirs, length, size int64
	if fi.IsDir() {
		_ = filepath.WalkDir(abs, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if filepath.Dir(q) == v.mount && internalNames[d.Name()] {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				dirs++
				size += 4096
			} else if i, err := d.Info(); err == nil && i.Mode().IsRegular() {
				files++
				length += i.Size()
				size += align4k(i.Size())
			}
			return nil
		})
	} else {
		files, length, size = 1, fi.Size(), align4k(fi.Size())
	}
	rel, _ := filepath.Rel(v.mount, abs)
	var b strings.Builder
	fmt.Fprintln(&b, arg, ":")
	fmt.Fprintf(&b, "  inode: %d\n", v.inode(abs, fi))
	fmt.Fprintf(&b, "  files: %d\n", files)
	fmt.Fprintf(&b, "   dirs: %d\n", dirs)
	fmt.Fprintf(&b, " length: %s\n", formatBytes(uint64(length)))
	fmt.Fprintf(&b, "   size: %s\n", formatBytes(uint64(size)))
	fmt.Fprintf(&b, "   path: %s\n", filepath.Join("/", rel))
	fmt.Fprintf(&b, "   tier: 0->\n")
	if !fi.Mode().IsRegular() || fi.Size() == 0 {
		return b.String()
	}
	fm := sliceFor(m, abs, fi)
	if raw {
		rows := [][]string{{"chunkIndex", "sliceId", "size", "offset", "length"}}
		for ci, id := range fm.Slices {
			sl := min(chunkSize, fm.Length-int64(ci)*chunkSize)
			rows = append(rows, []string{strconv.Itoa(ci), strconv.FormatUint(id, 10),
				strconv.FormatInt(sl, 10), "0", strconv.FormatInt(sl, 10)})
		}
		fmt.Fprintln(&b, " chunks:")
		printTable(&b, rows, -1)
		return b.String()
	}
	rows := [][]string{{"chunkIndex", "objectName", "size", "offset", "length", "pos"}}
	for _, blk := range v.blocks(abs, fm) {
		key := strings.TrimPrefix(filepath.ToSlash(blk.path), filepath.ToSlash(filepath.Join(blk.dir, v.set.UUID, "raw"))+"/")
		rows = append(rows, []string{strconv.FormatInt(blk.off/chunkSize, 10), v.set.Name + "/" + key,
			strconv.FormatInt(blk.length, 10), "0", strconv.FormatInt(blk.length, 10), strconv.FormatInt(blk.off, 10)})
	}
	fmt.Fprintln(&b, " objects:")
	printTable(&b, rows, 1)
	return b.String()
}

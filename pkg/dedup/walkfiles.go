package dedup

import (
	"context"
	"path/filepath"
	"sync"
)

// WalkFiles visits every regular, non-empty file under roots (directories or
// files) with the scanner's parallel walker: a pool of workers sharing one
// queue of directories, each listing a directory with getdents and stat'ing
// its entries relative to it (restic-style, one component per lookup). It
// stays on each root's file system. onFile is called from several goroutines
// at once with the file's path and size; an error it returns stops the walk.
// Unreadable entries go to onErr (nil: ignored). workers < 1 means 16.
func WalkFiles(ctx context.Context, roots []string, workers int, onFile func(path string, size int64) error, onErr func(path string, err error)) error {
	if workers < 1 {
		workers = 16
	}
	if onErr == nil {
		onErr = func(string, error) {}
	}
	var mu sync.Mutex
	var dirs []string
	w := &walker{
		fs:      LocalFS{},
		workers: workers,
		dirID: func(p string) uint32 {
			mu.Lock()
			defer mu.Unlock()
			dirs = append(dirs, p)
			return uint32(len(dirs) - 1)
		},
		onFile: func(dir uint32, name string, fi FileInfo) error {
			mu.Lock()
			d := dirs[dir]
			mu.Unlock()
			return onFile(filepath.Join(d, name), fi.Size)
		},
		onErr:  onErr,
		onSkip: func(string, string) {},
	}
	return w.walk(ctx, roots)
}

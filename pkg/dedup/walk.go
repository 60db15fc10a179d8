package dedup

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
)

// walker visits directory trees with a pool of goroutines sharing one queue
// of directories. It reports every regular, non-empty file to onFile and
// every unreadable entry to onErr; it never leaves the file system (st_dev)
// of the root it started from.
type walker struct {
	fs      FS
	workers int
	onFile  func(dir uint32, name string, fi FileInfo) error
	dirID   func(path string) uint32
	onErr   func(path string, err error)
	onSkip  func(path string, why string)

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []walkDir
	pending int
	err     error
}

type walkDir struct {
	path string
	dev  uint64
}

func (w *walker) walk(ctx context.Context, roots []string) error {
	w.cond = sync.NewCond(&w.mu)
	for _, r := range roots {
		fi, err := w.fs.Lstat(r)
		if err != nil {
			return fmt.Errorf("scan root %s: %w", r, err)
		}
		switch {
		case fi.Mode.IsDir():
			w.queue = append(w.queue, walkDir{path: r, dev: fi.Dev})
		case fi.Mode.IsRegular():
			if fi.Size > 0 {
				if err := w.onFile(w.dirID(filepath.Dir(r)), filepath.Base(r), fi); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("scan root %s is neither a directory nor a regular file", r)
		}
	}
	w.pending = len(w.queue)
	n := w.workers
	if n < 1 {
		n = 1
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work(ctx)
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		if w.err == nil {
			w.err = ctx.Err()
		}
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	wg.Wait()
	// The AfterFunc may be setting w.err at this very moment (the context
	// ended as the workers finished): read it under the lock.
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *walker) work(ctx context.Context) {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 && w.err == nil {
			w.cond.Wait()
		}
		if w.pending == 0 || w.err != nil {
			w.mu.Unlock()
			w.cond.Broadcast()
			return
		}
		d := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		subdirs, err := w.readDir(d)

		w.mu.Lock()
		if err != nil && w.err == nil {
			w.err = err
		}
		w.queue = append(w.queue, subdirs...)
		w.pending += len(subdirs) - 1
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// readDir handles one directory and returns its subdirectories.
func (w *walker) readDir(d walkDir) ([]walkDir, error) {
	ents, err := w.fs.ReadDir(d.path)
	if err != nil {
		w.onErr(d.path, err)
		if len(ents) == 0 {
			return nil, nil
		}
	}
	var subdirs []walkDir
	did, registered := uint32(0), false
	for _, de := range ents {
		if de.Err != nil {
			w.onErr(filepath.Join(d.path, de.Name), de.Err)
			continue
		}
		fi := de.Info
		switch {
		case fi.Mode.IsDir():
			p := filepath.Join(d.path, de.Name)
			if fi.Dev != d.dev {
				w.onSkip(p, "other file system")
				continue
			}
			subdirs = append(subdirs, walkDir{path: p, dev: d.dev})
		case fi.Mode.IsRegular():
			if fi.Size == 0 {
				continue
			}
			if !registered {
				did, registered = w.dirID(d.path), true
			}
			if err := w.onFile(did, de.Name, fi); err != nil {
				return subdirs, err
			}
		}
		// symlinks, devices, sockets and FIFOs are skipped
	}
	return subdirs, nil
}

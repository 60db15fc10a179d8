package jfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// infoBatch is how many files one `juicefs info --raw` run is asked about.
const infoBatch = 64

// internalNames are the virtual files a JuiceFS mount shows at its root;
// they hold no data blocks.
var internalNames = map[string]bool{
	".accesslog": true, ".config": true, ".stats": true, ".control": true, ".trash": true,
	".jfs.accesslog": true, ".jfs.config": true, ".jfs.stats": true, ".jfs.control": true, ".jfs.trash": true,
}

// EvictResult is what EvictBlocks removed.
type EvictResult struct {
	Files  int64 // regular files whose slices were looked up
	Slices int64 // distinct slices
	Blocks int64 // block files removed (complete blocks and <name>.tmp leftovers)
	Bytes  int64 // their size on disk (data plus checksums)
}

// EvictBlocks removes the cached blocks of paths (files or directories,
// walked recursively) by deleting their block files from the mount's cache
// directories. Slice ids come from `juicefs info --raw` of every file, block
// names from the layout in MountConfig (block size, HashPrefix, several
// directories, see BlockKey).
//
// This is the eviction that works for every block: `juicefs warmup --evict`
// removes only the blocks its own mount process wrote since it was mounted
// (after a remount, or for blocks another client wrote into a shared cache
// directory, it prints its summary and removes nothing). Clients mounted with
// --cache-scan-interval=-1 look at the disk on every read, so a deleted block
// is simply a miss; a client with an in-memory index drops the entry when the
// file is gone. Blocks shared with clones (same slices) go too.
//
// The mount's .config is read to find the cache directories (root only on a
// real mount). Verify the result with Check.
func (d *Driver) EvictBlocks(ctx context.Context, paths []string) (*EvictResult, error) {
	res := &EvictResult{}
	err := d.blocks(ctx, "evict", paths, func(where []string) {
		for _, p := range where {
			d.removeBlock(p, res)
			d.removeBlock(p+".tmp", res)
		}
	}, res)
	if err != nil {
		return res, err
	}
	d.Log.Debug().Strs("paths", paths).Int64("files", res.Files).Int64("slices", res.Slices).
		Int64("blocks", res.Blocks).Int64("bytes", res.Bytes).Msg("evicted block files")
	return res, nil
}

// Blocks calls fn once for every block of the data of paths (files or
// directories, walked recursively; each slice once), cached or not, with
// the path the block has in each cache directory of its mount (BlockPath)
// whether or not a file is there. op names the caller in errors.
// EvictBlocks removes them; a test waits for a real client to finish
// writing them (its cache writes run after the read that fetched the
// block).
func (d *Driver) Blocks(ctx context.Context, op string, paths []string, fn func(where []string)) error {
	return d.blocks(ctx, op, paths, fn, &EvictResult{})
}

// blocks is Blocks counting the files and slices it looked up in res.
func (d *Driver) blocks(ctx context.Context, op string, paths []string, fn func(where []string), res *EvictResult) error {
	// The files of all paths, per mount, so that info runs on full batches.
	var mounts []*MountConfig
	files := map[*MountConfig][]string{}
	byMount := map[string]*MountConfig{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return &PathError{Op: op, Path: p, Detail: err.Error()}
		}
		if _, err := os.Lstat(abs); err != nil {
			return &PathError{Op: op, Path: abs, Detail: err.Error()}
		}
		mount, err := FindMount(abs)
		if err != nil {
			return &PathError{Op: op, Path: abs, Detail: err.Error()}
		}
		mc := byMount[mount]
		if mc == nil {
			if mc, err = ReadMountConfig(mount); err != nil {
				return err
			}
			if mc.Memory {
				return fmt.Errorf("jfs: %s %s: the mount at %s caches blocks in memory only; there are no block files", op, abs, mount)
			}
			byMount[mount] = mc
			mounts = append(mounts, mc)
		}
		found, err := regularFiles(abs, mount, op)
		if err != nil {
			return err
		}
		files[mc] = append(files[mc], found...)
	}
	for _, mc := range mounts {
		if err := d.sliceBlocks(ctx, op, files[mc], mc, fn, res); err != nil {
			return err
		}
	}
	return nil
}

// regularFiles lists the regular files at or under abs, leaving out the
// mount root's virtual files. Symlinks are not followed (juicefs warmup does
// not follow them either).
func regularFiles(abs, mount, op string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(abs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile: nothing of it to evict
			}
			return &PathError{Op: op, Path: p, Detail: err.Error()}
		}
		if filepath.Dir(p) == mount && internalNames[e.Name()] {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// sliceBlocks looks up the slices of files (infoBatch at a time) and calls
// fn with where each of their blocks is cached in the block directories of mc.
func (d *Driver) sliceBlocks(ctx context.Context, op string, files []string, mc *MountConfig, fn func(where []string), res *EvictResult) error {
	dirs := mc.BlockDirs()
	seen := map[uint64]bool{}
	for start := 0; start < len(files); start += infoBatch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("jfs: %s stopped after %d of %d files: %w", op, start, len(files), err)
		}
		batch := files[start:min(start+infoBatch, len(files))]
		for _, f := range batch {
			if strings.ContainsAny(f, "\n\r") {
				return &PathError{Op: op, Path: fmt.Sprintf("%q", f), Detail: "has a newline, which juicefs info output cannot express; rename it"}
			}
		}
		// Files removed meanwhile only get an ERROR line; their blocks are
		// found again by nobody, which is what eviction wants anyway.
		stdout, _, err := d.run(ctx, op, batch[0], append([]string{"info", "--raw"}, batch...))
		if err != nil {
			return err
		}
		res.Files += int64(len(batch))
		for _, r := range ParseInfoRaw(stdout) {
			if r.SliceID == 0 || seen[r.SliceID] {
				continue
			}
			seen[r.SliceID] = true
			res.Slices++
			for _, key := range SliceBlockKeys(r.SliceID, int64(r.Size), mc.BlockSize, mc.HashPrefix) {
				where := make([]string, len(dirs))
				for i, dir := range dirs {
					where[i] = BlockPath(dir, key)
				}
				fn(where)
			}
		}
	}
	return nil
}

// removeBlock deletes one block file if it is there and counts it. A block
// that cannot be removed is logged and left; the caller's Check shows it.
func (d *Driver) removeBlock(p string, res *EvictResult) {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	if err := os.Remove(p); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.Log.Warn().Err(err).Str("block", p).Msg("block file not removed")
		}
		return
	}
	res.Blocks++
	res.Bytes += fi.Size()
}

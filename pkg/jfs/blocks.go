package jfs

import (
	"fmt"
	"path/filepath"
)

// The block cache layout of JuiceFS (pkg/chunk: cached_store.go rSlice.key,
// disk_cache.go cachePath/getPathFromKey, 1.0 – 1.5): a slice of Size bytes
// is stored as blocks of BlockSize bytes (the last one shorter), and block i
// of slice id is cached in one of the mount's block directories as
//
//	<dir>/raw/chunks/<id/1e6>/<id/1e3>/<id>_<i>_<blockLen>     (default)
//	<dir>/raw/chunks/<id%256 as %02X>/<id/1e6>/<id>_<i>_<blockLen>  (HashPrefix)
//
// where <dir> is a .config cache dir (already ending in the volume UUID).
// Which directory holds a block depends on a consistent hash over random
// per-directory ids, so a block is looked for in every directory. A block
// being written is <name>.tmp until it is renamed into place.

// BlockKey returns the cache key of block index (blockLen bytes long) of
// slice id: "chunks/…/<id>_<index>_<blockLen>".
func BlockKey(id uint64, index int, blockLen int64, hashPrefix bool) string {
	if hashPrefix {
		return fmt.Sprintf("chunks/%02X/%d/%d_%d_%d", id%256, id/1000/1000, id, index, blockLen)
	}
	return fmt.Sprintf("chunks/%d/%d/%d_%d_%d", id/1000/1000, id/1000, id, index, blockLen)
}

// SliceBlockKeys returns the cache keys of every block of a slice of size
// bytes (the "size" column of `juicefs info --raw`, not the used length):
// blocks of blockSize bytes, the last one shorter. Slice id 0 (a hole) and
// empty slices have no blocks.
func SliceBlockKeys(id uint64, size, blockSize int64, hashPrefix bool) []string {
	if id == 0 || size <= 0 || blockSize <= 0 {
		return nil
	}
	n := int((size-1)/blockSize + 1)
	keys := make([]string, n)
	for i := range n {
		keys[i] = BlockKey(id, i, min(blockSize, size-int64(i)*blockSize), hashPrefix)
	}
	return keys
}

// BlockPath is where a block with the given key is cached in block
// directory dir (a MountConfig.BlockDirs entry).
func BlockPath(dir, key string) string {
	return filepath.Join(dir, "raw", filepath.FromSlash(key))
}

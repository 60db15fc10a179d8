package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// cacheCounters are the block cache counters the stand-in can really know:
// it writes and evicts blocks, but reads of the plain tree never go through
// it, so it reports no hits or misses.
type cacheCounters struct {
	Writes     int64
	WriteBytes int64
	Evicts     int64
}

// writeStats adds to the persistent counters and rewrites <mount>/.stats
// ("name value" lines, like a real mount's). Cached blocks and bytes are
// counted from the block files really present. Called under the meta lock.
func (v *volume) writeStats(m *metaState, add cacheCounters) error {
	m.Counters.Writes += add.Writes
	m.Counters.WriteBytes += add.WriteBytes
	m.Counters.Evicts += add.Evicts
	var blocks, bytes int64
	for _, d := range v.set.CacheDirs {
		_ = filepath.WalkDir(filepath.Join(d, v.set.UUID, "raw"), func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.Type().IsRegular() || strings.HasSuffix(p, ".tmp") {
				return nil
			}
			if fi, err := e.Info(); err == nil {
				blocks++
				bytes += fi.Size()
			}
			return nil
		})
	}
	vals := map[string]int64{
		"juicefs_blockcache_blocks":      blocks,
		"juicefs_blockcache_bytes":       bytes,
		"juicefs_blockcache_writes":      m.Counters.Writes,
		"juicefs_blockcache_write_bytes": m.Counters.WriteBytes,
		"juicefs_blockcache_evicts":      m.Counters.Evicts,
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d\n", n, vals[n])
	}
	p := filepath.Join(v.mount, ".stats")
	if err := os.WriteFile(p+".tmp", []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

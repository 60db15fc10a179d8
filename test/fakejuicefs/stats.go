package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// cacheCounters are the block cache and object storage counters. Without a
// FUSE mount, reads of the plain tree never go through the stand-in, so
// only the CLI's writes and evictions are counted; a FUSE mount (fuse.go)
// also counts the hits and misses of reads through it.
type cacheCounters struct {
	Writes     int64
	WriteBytes int64
	Evicts     int64
	Hits       int64 `json:",omitempty"`
	HitBytes   int64 `json:",omitempty"`
	Misses     int64 `json:",omitempty"`
	MissBytes  int64 `json:",omitempty"`
	GetBytes   int64 `json:",omitempty"` // juicefs_object_request_data_bytes_GET: data read from object storage
}

func (c *cacheCounters) add(o cacheCounters) {
	c.Writes += o.Writes
	c.WriteBytes += o.WriteBytes
	c.Evicts += o.Evicts
	c.Hits += o.Hits
	c.HitBytes += o.HitBytes
	c.Misses += o.Misses
	c.MissBytes += o.MissBytes
	c.GetBytes += o.GetBytes
}

// metrics gives the counters under their real metric names (see
// ../shared/juicefs-samples/11b_stats_after_read.txt). withReads adds the
// read-side ones, which only a FUSE mount can know.
func (c cacheCounters) metrics(withReads bool) map[string]int64 {
	m := map[string]int64{
		"juicefs_blockcache_writes":      c.Writes,
		"juicefs_blockcache_write_bytes": c.WriteBytes,
		"juicefs_blockcache_evicts":      c.Evicts,
	}
	if withReads {
		m["juicefs_blockcache_hits"] = c.Hits
		m["juicefs_blockcache_hit_bytes"] = c.HitBytes
		m["juicefs_blockcache_miss"] = c.Misses
		m["juicefs_blockcache_miss_bytes"] = c.MissBytes
		m["juicefs_blockcache_drops"] = 0
		m["juicefs_object_request_data_bytes_GET"] = c.GetBytes
	}
	return m
}

// cachedBlocks counts the complete block files of the volume really present.
func (v *volume) cachedBlocks() (blocks, bytes int64) {
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
	return blocks, bytes
}

// statsText renders "name value" lines sorted by name, as a real .stats.
func statsText(vals map[string]int64) string {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d\n", n, vals[n])
	}
	return b.String()
}

// writeStats adds to the persistent counters and rewrites <mount>/.stats
// ("name value" lines, like a real mount's). Cached blocks and bytes are
// counted from the block files really present. Called under the meta lock.
// Work the CLI did through a FUSE mount is also counted for that mount
// (metaState.mountCounters), whose own .stats is virtual (fuse.go).
func (v *volume) writeStats(m *metaState, add cacheCounters) error {
	m.Counters.add(add)
	if mnt := mountOf(v.mount); mnt != "" {
		m.mountCounters(mnt).add(add)
	}
	vals := m.Counters.metrics(false)
	vals["juicefs_blockcache_blocks"], vals["juicefs_blockcache_bytes"] = v.cachedBlocks()
	p := filepath.Join(v.mount, ".stats")
	if err := os.WriteFile(p+".tmp", []byte(statsText(vals)), 0o644); err != nil {
		return err
	}
	return os.Rename(p+".tmp", p)
}

package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// chunkExtras are the .config fields of Chunk that pkg/jfs does not read.
type chunkExtras struct {
	Chunk *struct {
		CacheSize         int64
		CacheEviction     string
		CacheScanInterval int64 // nanoseconds; negative: never scan
		FreeSpace         float64
	}
}

// ReadMount describes the mount at mount: its file system type from
// mountinfo (the agent's own, /proc/self/mountinfo by default) and its
// .config (root only on a real mount).
func ReadMount(mount, mountinfo string) (*api.MountReport, error) {
	r := &api.MountReport{}
	if mountinfo == "" {
		mountinfo = jfs.MountinfoPath
	}
	if f, err := os.Open(mountinfo); err == nil {
		ms, _ := jfs.ParseMountinfo(f)
		f.Close()
		for _, m := range ms {
			if m.MountPoint == mount {
				r.FSType, r.Volume = m.FSType, m.Source
			}
		}
	}
	p := filepath.Join(mount, ".config")
	data, err := os.ReadFile(p)
	if err != nil {
		return r, fmt.Errorf("read %s (is JuiceFS mounted at %s, and does the agent run as root?): %w", p, mount, err)
	}
	mc, err := jfs.ParseMountConfig(data)
	if err != nil {
		return r, fmt.Errorf("%w (file %s)", err, p)
	}
	var x chunkExtras
	_ = json.Unmarshal(data, &x)
	r.Volume, r.Version = mc.Name, mc.Version
	r.CacheDir = strings.Join(mc.CacheDirs, ":")
	if mc.Memory {
		r.CacheDir = "memory"
	}
	if x.Chunk != nil {
		r.CacheSize = x.Chunk.CacheSize
		if r.CacheSize > 0 && r.CacheSize < 1<<24 { // ≤ 1.3 gives MiB
			r.CacheSize <<= 20
		}
		r.CacheEviction = x.Chunk.CacheEviction
		r.CacheScanInterval = float64(x.Chunk.CacheScanInterval) / 1e9
		if x.Chunk.CacheScanInterval < 0 {
			r.CacheScanInterval = -1
		}
		r.FreeSpaceRatio = x.Chunk.FreeSpace
	}
	if dirs := mc.BlockDirs(); len(dirs) > 0 {
		var st unix.Statfs_t
		if unix.Statfs(dirs[0], &st) == nil {
			r.CacheFreeBytes = int64(st.Bavail) * int64(st.Bsize)
		}
	}
	return r, nil
}

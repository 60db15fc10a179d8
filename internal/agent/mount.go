package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
// mountinfo (the agent's own, /proc/self/mountinfo by default), its options
// from the mounts file next to it (/proc/self/mounts) and its .config (root
// only on a real mount).
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
	r.Options = mountOptions(filepath.Join(filepath.Dir(mountinfo), "mounts"), mount)
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

// mountOptions returns the options field of mount's line in a
// /proc/mounts-format file ("" when absent).
func mountOptions(file, mount string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	opts := ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && unescapeOctal(f[1]) == mount {
			opts = f[3] // the last mount on the point wins
		}
	}
	return opts
}

// unescapeOctal decodes the \040-style escapes of /proc/mounts fields.
func unescapeOctal(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

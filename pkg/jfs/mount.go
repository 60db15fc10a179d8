package jfs

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MountConfig is what accel-data needs from a mount's `<mount>/.config`
// (the JSON of JuiceFS's vfs.Config that the mount process serves; a whole
// real one is testdata/60_config.json).
type MountConfig struct {
	Mount string // the mount point the config was read from
	Name  string // volume name (Format.Name)
	UUID  string // volume UUID (Format.UUID)
	// CacheDirs are the block cache directories of this mount: Chunk.CacheDir
	// split at ':'. JuiceFS appends the volume UUID to each configured
	// --cache-dir at mount, so each already ends in UUID
	// ("/beegfs/jfscache/<UUID>"); blocks live under <dir>/raw/chunks/….
	// An entry may be a glob pattern (JuiceFS expands it): see BlockDirs.
	// Empty when Memory is set.
	CacheDirs []string
	// Memory: the mount caches blocks in memory only (Chunk.CacheDir
	// "memory", or a cache size of 0): there are no block files.
	Memory bool
	// HashPrefix selects the block layout chunks/<id%256 as %02X>/<id/1e6>/…
	// instead of chunks/<id/1e6>/<id/1e3>/… (Chunk.HashPrefix or
	// Format.HashPrefix, set by `juicefs format --hash-prefix`).
	HashPrefix bool
	BlockSize  int64 // bytes (Chunk.BlockSize, or Format.BlockSize KiB × 1024)
	// MetricsAddr is Port.PrometheusAgent, e.g. "127.0.0.1:9567" (metrics at
	// http://MetricsAddr/metrics); "" when the mount serves none.
	MetricsAddr string
	Version     string // client version, when the config has it
}

// BlockDirs returns the existing block cache directories: CacheDirs with
// glob patterns expanded, as JuiceFS does when it opens its cache.
func (mc *MountConfig) BlockDirs() []string {
	var out []string
	for _, d := range mc.CacheDirs {
		if !strings.ContainsAny(d, `*?[\`) {
			out = append(out, d)
			continue
		}
		m, _ := filepath.Glob(d)
		out = append(out, m...)
	}
	return out
}

// rawConfig mirrors the parts of JuiceFS's vfs.Config we read.
type rawConfig struct {
	Format *struct {
		Name       string
		UUID       string
		BlockSize  int64 // KiB
		HashPrefix bool
	}
	Chunk *struct {
		CacheDir   string
		CacheSize  *int64
		BlockSize  int64 // bytes
		HashPrefix bool
	}
	Port *struct {
		PrometheusAgent string
	}
	Version string
}

// ParseMountConfig parses the JSON of a mount's .config. It fails unless the
// JSON has a Format with a Name and a UUID (i.e. it is a JuiceFS config).
func ParseMountConfig(data []byte) (*MountConfig, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("jfs: .config is not JSON: %w", err)
	}
	if raw.Format == nil || raw.Format.UUID == "" || raw.Format.Name == "" {
		return nil, errors.New("jfs: .config has no Format.Name/Format.UUID: not a JuiceFS mount config")
	}
	mc := &MountConfig{Name: raw.Format.Name, UUID: raw.Format.UUID, Version: raw.Version, HashPrefix: raw.Format.HashPrefix}
	mc.BlockSize = raw.Format.BlockSize << 10
	if raw.Chunk != nil {
		if raw.Chunk.BlockSize > 0 {
			mc.BlockSize = raw.Chunk.BlockSize
		}
		mc.HashPrefix = mc.HashPrefix || raw.Chunk.HashPrefix
		cd := strings.TrimSpace(raw.Chunk.CacheDir)
		mc.Memory = cd == "memory" || (raw.Chunk.CacheSize != nil && *raw.Chunk.CacheSize == 0)
		if !mc.Memory {
			for _, d := range strings.Split(cd, ":") {
				if d = strings.TrimSpace(d); d != "" {
					mc.CacheDirs = append(mc.CacheDirs, d)
				}
			}
		}
	}
	if raw.Port != nil {
		mc.MetricsAddr = raw.Port.PrometheusAgent
	}
	return mc, nil
}

// ReadMountConfig reads and parses <mount>/.config (<mount>/.jfs.config on
// a mount with --prefix-internal, looked for first as JuiceFS itself does).
// On a real mount the file is readable by root only.
func ReadMountConfig(mount string) (*MountConfig, error) {
	p := filepath.Join(mount, ".jfs.config")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		p = filepath.Join(mount, ".config")
		data, err = os.ReadFile(p)
	}
	if err != nil {
		return nil, fmt.Errorf("jfs: read %s (is a JuiceFS volume mounted at %s, and are we root?): %w", p, mount, err)
	}
	mc, err := ParseMountConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, p)
	}
	mc.Mount = mount
	return mc, nil
}

// MountinfoPath is where FindMount looks for fuse.juicefs mounts.
var MountinfoPath = "/proc/self/mountinfo"

// FindMount returns the JuiceFS mount containing path: the deepest
// fuse.juicefs mount point in MountinfoPath that contains it or, failing
// that, the nearest ancestor (or path itself) whose .config parses as a
// JuiceFS config (this also finds the test stand-in). path need not exist.
func FindMount(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("jfs: absolute path of %s: %w", path, err)
	}
	if f, err := os.Open(MountinfoPath); err == nil {
		mounts, _ := ParseMountinfo(f)
		f.Close()
		best := ""
		for _, m := range mounts {
			if m.FSType == "fuse.juicefs" && within(abs, m.MountPoint) && len(m.MountPoint) > len(best) {
				best = m.MountPoint
			}
		}
		if best != "" {
			return best, nil
		}
	}
	for p := abs; ; p = filepath.Dir(p) {
		if data, err := os.ReadFile(filepath.Join(p, ".config")); err == nil {
			if _, err := ParseMountConfig(data); err == nil {
				return p, nil
			}
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	return "", fmt.Errorf("jfs: %s is not inside a JuiceFS mount (no .config found in any parent; is the volume mounted here?)", abs)
}

func within(path, dir string) bool {
	if dir == "/" {
		return true
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// MountEntry is one line of /proc/self/mountinfo.
type MountEntry struct {
	MountPoint string
	FSType     string
	Source     string
}

// ParseMountinfo parses the format of /proc/<pid>/mountinfo (octal escapes
// such as \040 in mount points are decoded). Malformed lines are skipped.
func ParseMountinfo(r io.Reader) ([]MountEntry, error) {
	var out []MountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, MountEntry{MountPoint: unescapeOctal(f[4]), FSType: f[sep+1], Source: unescapeOctal(f[sep+2])})
	}
	return out, sc.Err()
}

func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

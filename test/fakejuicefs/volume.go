package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	stateDir  = ".fakejuicefs" // private state of the stand-in, under the mount
	chunkSize = 64 << 20       // JuiceFS chunk size
)

// internal names at the mount root that are never part of a dataset.
var internalNames = map[string]bool{
	".config": true, stateDir: true, ".stats": true, ".accesslog": true, ".control": true, ".trash": true,
}

// settings is the stand-in's private format record.
type settings struct {
	Name       string
	UUID       string
	CacheDirs  []string
	BlockSize  int64   // bytes
	Bandwidth  float64 // MiB/s; 0 = unlimited
	HashPrefix bool    // block keys chunks/<id%256 %02X>/<id/1e6>/… (format --hash-prefix)
	// Backing is the directory format made a volume: data, .config and
	// private state. A FUSE mount (`mount BACKING MOUNTPOINT`, fuse.go)
	// serves it at another path; the CLI works on Backing directly.
	Backing string
}

type volume struct {
	mount string
	set   settings
	metaHandle
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// parseBlockSize accepts "4M", "4MiB", "4096K", "4194304B" or a plain number
// of KiB (as juicefs format --block-size).
func parseBlockSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1 << 10)
	for _, suf := range []struct {
		s string
		m int64
	}{{"MIB", 1 << 20}, {"KIB", 1 << 10}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(u, suf.s) {
			u, mult = strings.TrimSuffix(u, suf.s), suf.m
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 || n*mult < 64<<10 || n*mult > 16<<20 {
		return 0, fmt.Errorf("invalid block size %q (want 64K..16M, e.g. 4M)", s)
	}
	return n * mult, nil
}

func cmdFormat(args []string) int {
	flags, pos, err := splitArgs(args, map[string]bool{"cache-dir": true, "bandwidth": true, "block-size": true, "name": true})
	if err == nil {
		err = checkFlags(flags, "cache-dir", "bandwidth", "block-size", "name", "hash-prefix")
	}
	if err != nil {
		fatalf("format", "format.go", 447, "%s", err)
	}
	if len(pos) != 1 || flags["cache-dir"] == "" {
		fatalf("format", "format.go", 450, "usage: fakejuicefs format MOUNTDIR --cache-dir DIR [--bandwidth MiB/s] [--block-size 4M] [--name NAME] [--hash-prefix]")
	}
	mount, err := filepath.Abs(pos[0])
	if err != nil {
		fatalf("format", "format.go", 454, "abs of %s: %s", pos[0], err)
	}
	set := settings{Name: "fakevol", UUID: newUUID(), BlockSize: 4 << 20, Bandwidth: 100, Backing: mount}
	if v := flags["name"]; v != "" {
		set.Name = v
	}
	set.HashPrefix = flags["hash-prefix"] == "true"
	if v := flags["block-size"]; v != "" {
		if set.BlockSize, err = parseBlockSize(v); err != nil {
			fatalf("format", "format.go", 460, "%s", err)
		}
	}
	if v := flags["bandwidth"]; v != "" {
		if set.Bandwidth, err = strconv.ParseFloat(v, 64); err != nil || set.Bandwidth < 0 {
			fatalf("format", "format.go", 464, "invalid bandwidth %q (MiB/s, 0 = unlimited)", v)
		}
	}
	for _, d := range strings.Split(flags["cache-dir"], ":") {
		if d == "" {
			continue
		}
		a, err := filepath.Abs(d)
		if err != nil {
			fatalf("format", "format.go", 470, "abs of %s: %s", d, err)
		}
		if err := os.MkdirAll(a, 0o755); err != nil {
			fatalf("format", "format.go", 473, "create cache dir %s: %s", a, err)
		}
		set.CacheDirs = append(set.CacheDirs, a)
	}
	if _, err := os.Stat(filepath.Join(mount, ".config")); err == nil {
		fatalf("format", "format.go", 478, "%s is already a stand-in mount (%s exists)", mount, filepath.Join(mount, ".config"))
	}
	if err := os.MkdirAll(filepath.Join(mount, stateDir), 0o755); err != nil {
		fatalf("format", "format.go", 481, "create %s: %s", mount, err)
	}
	if err := writeJSON(filepath.Join(mount, stateDir, "settings.json"), set); err != nil {
		fatalf("format", "format.go", 484, "%s", err)
	}
	if err := createMeta(mount); err != nil {
		fatalf("format", "format.go", 487, "%s", err)
	}
	if err := writeJSON(filepath.Join(mount, ".config"), mountConfigJSON(mount, set)); err != nil {
		fatalf("format", "format.go", 490, "%s", err)
	}
	vol := &volume{mount: mount, set: set}
	if err := vol.withMeta(func(m *metaState) error { return vol.writeStats(m, cacheCounters{}) }); err != nil {
		fatalf("format", "format.go", 493, "%s", err)
	}
	infof("format", "format.go", 621, "Volume is formatted as stand-in %q (UUID %s) at %s, cache %s", set.Name, set.UUID, mount, strings.Join(set.CacheDirs, ":"))
	return 0
}

// cmdMount (stand-in only) remounts a stand-in volume: a new mount process
// that knows nothing of the blocks the previous one wrote, so its
// `warmup --evict` does not remove them (as measured on a real 1.4 client).
// Block files and metadata are kept.
func cmdMount(args []string) int {
	flags, pos, err := splitArgs(args, map[string]bool{"log": true, "cache-scan-interval": true})
	if err == nil && len(pos) == 2 {
		return cmdFuseMount(flags, pos[0], pos[1])
	}
	if err == nil {
		err = checkFlags(flags)
	}
	if err != nil || len(pos) != 1 {
		fatalf("mount", "mount.go", 580, "usage: fakejuicefs mount MOUNTDIR (remount a stand-in volume made by format) or fakejuicefs mount [-d] VOLUMEDIR MOUNTPOINT (FUSE)")
	}
	mount, err := filepath.Abs(pos[0])
	if err != nil {
		fatalf("mount", "mount.go", 584, "abs of %s: %s", pos[0], err)
	}
	if b := backingPath(mount); b != mount {
		// A FUSE mount point: start over as a new mount process would,
		// knowing of no blocks written (unmount and mount to really restart).
		vol, err := openVolume(b)
		if err != nil {
			fatalf("mount", "mount.go", 586, "%s: %s", mount, err)
		}
		if err := vol.withMeta(func(m *metaState) error { m.forgetMount(mount, false); m.Mount++; return nil }); err != nil {
			fatalf("mount", "mount.go", 589, "%s", err)
		}
		infof("mount", "mount.go", 601, "stand-in volume %q remounted at %s (FUSE mount: its record of written blocks is reset)", vol.set.Name, mount)
		return 0
	}
	vol, err := openVolume(mount)
	if err != nil {
		fatalf("mount", "mount.go", 588, "%s is not a stand-in volume (run format first): %s", mount, err)
	}
	var n int
	if err := vol.withMeta(func(m *metaState) error {
		m.Mount++
		m.forgetMount("", false)
		n = m.Mount
		return nil
	}); err != nil {
		fatalf("mount", "mount.go", 596, "%s", err)
	}
	if err := writeJSON(filepath.Join(mount, ".config"), mountConfigJSON(mount, vol.set)); err != nil {
		fatalf("mount", "mount.go", 599, "%s", err)
	}
	infof("mount", "mount.go", 601, "stand-in volume %q remounted at %s (mount #%d)", vol.set.Name, mount, n)
	return 0
}

// mountConfigJSON has the shape of JuiceFS's vfs.Config as a real 1.4 mount
// serves it in <mount>/.config (pkg/jfs/testdata/60_config.json is a real
// one): Chunk.CacheDir lists the cache dirs with the volume UUID appended,
// as a real mount appends it, and blocks are under <that>/raw/chunks.
func mountConfigJSON(mount string, s settings) map[string]any {
	dirs := make([]string, len(s.CacheDirs))
	for i, d := range s.CacheDirs {
		dirs[i] = filepath.Join(d, s.UUID)
	}
	return map[string]any{
		"Meta": map[string]any{
			"Retries": 10, "MaxDeletes": 10, "SkipDirNlink": 20, "CaseInsensi": false,
			"ReadOnly": false, "NoBGJob": false, "OpenCache": 0, "OpenCacheLimit": 10000,
			"Heartbeat": int64(12 * time.Second), "MountPoint": mount, "Subdir": "", "AtimeMode": "noatime",
			"DirStatFlushPeriod": int64(time.Second), "SkipDirMtime": int64(100 * time.Millisecond), "Sid": 1,
			"SortDir": false, "FastStatfs": false, "NetworkInterfaces": nil,
		},
		"Format": map[string]any{
			"Name": s.Name, "UUID": s.UUID, "Storage": "file",
			"Tiers":  map[string]any{"0": map[string]any{"ID": 0, "StorageClass": "", "Tag": ""}},
			"Bucket": filepath.Join(mount, stateDir, "bucket") + "/", "BlockSize": s.BlockSize >> 10,
			"Compression": "none", "EncryptAlgo": "aes256gcm-rsa", "TrashDays": 0, "MetaVersion": 1,
			"MinClientVersion": "1.1.0-A", "DirStats": true, "EnableACL": false, "HashPrefix": s.HashPrefix,
		},
		"Chunk": map[string]any{
			"CacheDir": strings.Join(dirs, ":"), "CacheMode": 0o600, "CacheSize": int64(100 << 30),
			"CacheItems": 0, "CacheChecksum": "extend", "CacheEviction": "2-random",
			"CacheScanInterval": int64(-time.Second), "CacheExpire": 0, "OSCache": true, "FreeSpace": 0.1,
			"AutoCreate": true, "Compress": "none", "MaxUpload": 20, "MaxDownload": 200, "MaxStageWrite": 1000,
			"MaxRetries": 10, "UploadLimit": 0, "DownloadLimit": int64(s.Bandwidth * (1 << 20)), "Writeback": false,
			"WritebackThresholdSize": 0, "UploadDelay": 0, "UploadHours": "", "HashPrefix": s.HashPrefix, "BlockSize": s.BlockSize,
			"GetTimeout": int64(60 * time.Second), "PutTimeout": int64(60 * time.Second),
			"CacheFullBlock": true, "CacheLargeWrite": false, "BufferSize": int64(300 << 20),
			"Readahead": 8 * s.BlockSize, "Prefetch": 1,
		},
		"Security":        map[string]any{"EnableCap": false, "EnableSELinux": false},
		"Port":            map[string]any{"PrometheusAgent": "127.0.0.1:0", "DebugAgent": ""},
		"NegEntryTimeout": 0,
		"UMask":           0xFFFF,
		"Mountpoint":      "",
		"Version":         version,
		"AttrTimeout":     int64(time.Second),
		"DirEntryTimeout": int64(time.Second),
		"EntryTimeout":    int64(time.Second),
		"ReaddirCache":    false,
		"BackupMeta":      0,
		"BackupSkipTrash": false,
		"PrefixInternal":  false,
		"HideInternal":    false,
		"Pid":             os.Getpid(),
		"PPid":            os.Getppid(),
		"CommPath":        "",
		"StatePath":       "",
		"FuseOpts": map[string]any{
			"AllowOther": true, "Options": []string{"default_permissions"}, "MaxBackground": 200,
			"MaxWrite": 131072, "MaxReadAhead": 1 << 20, "FsName": "JuiceFS:" + s.Name, "Name": "juicefs",
			"DisableXAttrs": false, "EnableLocks": true, "DirectMount": true, "DontUmask": true,
			"Timeout": int64(900 * time.Second),
		},
	}
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}

// findMount walks up from abs (which need not exist) to the nearest directory
// holding a stand-in .config and private state.
func findMount(abs string) (string, error) {
	for p := abs; ; p = filepath.Dir(p) {
		if _, err := os.Stat(filepath.Join(p, stateDir, "settings.json")); err == nil {
			if _, err := os.Stat(filepath.Join(p, ".config")); err == nil {
				return p, nil
			}
		}
		if p == filepath.Dir(p) {
			return "", fmt.Errorf("%s is not inside JuiceFS", abs)
		}
	}
}

func readSettings(mount string) (settings, error) {
	var s settings
	data, err := os.ReadFile(filepath.Join(mount, stateDir, "settings.json"))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("stand-in settings %s: %w", mount, err)
	}
	return s, nil
}

// backings caches backingPath's answers: mount point -> backing directory.
var backings = map[string]string{}

// backingPath maps a path under a FUSE mount of a stand-in volume to the
// same path in the volume's backing directory, so that the CLI's own work
// (warm-ups, checks, clones) neither goes through the mount nor shows up in
// its access log and counters, as a real CLI's work is done inside the
// mount process. Other paths come back unchanged. abs need not exist.
func backingPath(abs string) string {
	for m, b := range backings {
		if abs == m || strings.HasPrefix(abs, m+"/") {
			return b + abs[len(m):]
		}
	}
	m, err := findMount(abs)
	if err != nil {
		return abs
	}
	s, err := readSettings(m)
	if err != nil || s.Backing == "" || s.Backing == m {
		return abs
	}
	backings[m] = s.Backing
	return s.Backing + abs[len(m):]
}

// mountOf is the FUSE mount point whose path backingPath rewrote to p, or
// "" (the CLI counts its work for that mount's .stats).
func mountOf(p string) string {
	for m, b := range backings {
		if p == b || strings.HasPrefix(p, b+"/") {
			return m
		}
	}
	return ""
}

func openVolume(mount string) (*volume, error) {
	set, err := readSettings(mount)
	if err != nil {
		return nil, err
	}
	v := &volume{mount: mount, set: set}
	if bw := os.Getenv("FAKEJUICEFS_BANDWIDTH"); bw != "" {
		f, err := strconv.ParseFloat(bw, 64)
		if err != nil || f < 0 {
			return nil, fmt.Errorf("FAKEJUICEFS_BANDWIDTH=%q is not a number of MiB/s", bw)
		}
		v.set.Bandwidth = f
	}
	return v, nil
}

// sliceFor returns the file's metadata, assigning new slices when the file is
// seen for the first time or was rewritten. Like JuiceFS, only new data makes
// new slices: a changed length is a rewrite; a changed mtime alone (touch,
// utimes restoring an older time) keeps the slices when the content's
// fingerprint is unchanged.
func sliceFor(m *metaState, path string, fi os.FileInfo) *fileMeta {
	key := inodeKey(fi)
	mt := fi.ModTime().UnixNano()
	if fm, ok := m.file(key); ok && fm.Length == fi.Size() {
		if fm.MtimeNs == mt {
			return fm
		}
		if sum := fingerprint(path, fi.Size()); sum != "" && sum == fm.Sum {
			fm.MtimeNs = mt
			m.setFile(key, fm)
			return fm
		}
	}
	nchunks := int((fi.Size() + chunkSize - 1) / chunkSize)
	fm := &fileMeta{Length: fi.Size(), MtimeNs: mt, Sum: fingerprint(path, fi.Size()), Slices: make([]uint64, nchunks)}
	for i := range fm.Slices {
		fm.Slices[i] = m.NextSlice
		m.NextSlice++
	}
	m.setFile(key, fm)
	return fm
}

// fingerprint is the size and CRC-32C of the whole content: fast (hardware
// CRC), and enough for a test double to tell a rewrite from a touch. ""
// when the file cannot be read.
func fingerprint(path string, size int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return fmt.Sprintf("%d:%08x", size, h.Sum32())
}

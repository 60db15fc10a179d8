package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/accel-data/accel-data/pkg/jfs"
)

// JuiceFSEnv names a real juicefs binary; when set, NewVolume formats and
// FUSE-mounts a real local volume instead of using the stand-in.
const JuiceFSEnv = "ACCEL_TEST_JUICEFS"

// RealJuiceFS is the real juicefs binary JuiceFSEnv names, as an absolute
// path (a bare name is looked up in PATH), or "" when the variable is empty:
// the tests hand it to processes that run in other directories (array
// tasks run from /, Docker resolves paths against its compose file). A name
// that is no executable fails the test, saying so.
func RealJuiceFS(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(JuiceFSEnv)
	if bin == "" {
		return ""
	}
	p, err := exec.LookPath(bin)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		t.Fatalf("testutil: %s=%s: %v; name the real juicefs binary, or unset it to use the stand-in", JuiceFSEnv, bin, err)
	}
	return p
}

// StandInFUSEEnv=0 makes the stand-in's volumes plain directories (its
// plain mode: reads go around it) unless a test asks WithFUSE; by default
// they are FUSE mounts (StandInFUSE).
const StandInFUSEEnv = "ACCEL_TEST_STANDIN_FUSE"

// StandInFUSE tells whether the stand-in's volumes are FUSE mounts by
// default, as a real client is: yes, unless StandInFUSEEnv is 0. The e2e
// multi-host cluster follows it too.
func StandInFUSE() bool { return os.Getenv(StandInFUSEEnv) != "0" }

// BandwidthEnv is the warm-up read bandwidth in MiB/s (0 = unlimited) that a
// test sets with t.Setenv before NewVolume. The stand-in reads it on every
// run; a real client gets the equivalent --download-limit at mount, so a
// warm-up that must take time takes it on both.
const BandwidthEnv = "FAKEJUICEFS_BANDWIDTH"

// DefaultBandwidth (MiB/s) is the warm-up bandwidth when the test sets none:
// a 100–400 MiB warm-up takes seconds, as with the stand-in's default.
const DefaultBandwidth = 100

// Volume is a JuiceFS volume for one test: a real local volume (sqlite3
// metadata, file storage, FUSE mount) when ACCEL_TEST_JUICEFS names a juicefs
// binary, else a volume of the JuiceFS stand-in (test/fakejuicefs).
type Volume struct {
	Mount    string // the mount point (datasets go under it)
	CacheDir string // the --cache-dir given; blocks under CacheDir/<UUID>/raw/chunks
	Binary   string // the juicefs binary to drive it with (real or stand-in)
	Real     bool   // true for a real JuiceFS client
	// Bandwidth is the warm-up bandwidth in MiB/s (0 = unlimited) the volume
	// was made with (BandwidthEnv, else DefaultBandwidth).
	Bandwidth float64
	// MetaURL names the volume's metadata for the commands that take one
	// (`juicefs config`, `juicefs changelog`): a real volume's sqlite3 URL,
	// the stand-in's volume directory.
	MetaURL string

	mountArgs []string // real client: the argv of `juicefs mount`, for Remount
	backing   string   // stand-in with WithFUSE: the volume directory its FUSE mounts serve
	dir       string   // the test's directory holding mount points, logs and metadata
}

// VolumeOption changes how NewVolume formats a volume.
type VolumeOption func(*volumeOptions)

type volumeOptions struct {
	hashPrefix bool
	fuse       bool
}

// WithHashPrefix formats the volume with --hash-prefix (the other block
// cache layout).
func WithHashPrefix() VolumeOption { return func(o *volumeOptions) { o.hashPrefix = true } }

// WithFUSE makes a stand-in volume a real FUSE mount (the stand-in's
// `mount -d VOLUMEDIR MOUNTPOINT`; needs root and /dev/fuse): reads go
// through its block cache, .accesslog and .stats, as on a real client.
// It is the default (StandInFUSE); with StandInFUSEEnv=0 and without it the
// stand-in's mount is a plain directory. A real client is always a FUSE
// mount, so the option changes nothing there.
func WithFUSE() VolumeOption { return func(o *volumeOptions) { o.fuse = true } }

// NewVolume creates a volume under t.TempDir() and removes (unmounts) it when
// the test ends. Warm-ups read at BandwidthEnv MiB/s when the test set it
// (t.Setenv before NewVolume), else at DefaultBandwidth.
func NewVolume(t testing.TB, opts ...VolumeOption) *Volume {
	t.Helper()
	o := volumeOptions{fuse: StandInFUSE()}
	for _, f := range opts {
		f(&o)
	}
	bw := float64(DefaultBandwidth)
	if e := os.Getenv(BandwidthEnv); e != "" {
		f, err := strconv.ParseFloat(e, 64)
		if err != nil || f < 0 {
			t.Fatalf("testutil: %s=%q: want MiB/s (0 = unlimited)", BandwidthEnv, e)
		}
		bw = f
	}
	if bin := RealJuiceFS(t); bin != "" {
		return newRealVolume(t, bin, bw, o)
	}
	bin := Binary(t, "test/fakejuicefs")
	dir := t.TempDir()
	v := &Volume{Mount: filepath.Join(dir, "mnt"), CacheDir: filepath.Join(dir, "cache"), Binary: bin, Bandwidth: bw, dir: dir}
	formatAt := v.Mount
	if o.fuse {
		RequireRoot(t, "FUSE-mounts the JuiceFS stand-in")
		v.backing = filepath.Join(dir, "vol")
		formatAt = v.backing
	}
	v.MetaURL = formatAt
	args := []string{"format", formatAt, "--cache-dir", v.CacheDir}
	if o.hashPrefix {
		args = append(args, "--hash-prefix")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testutil: format stand-in volume: %v\n%s", err, out)
	}
	if o.fuse {
		v.mountArgs = []string{"mount", "-d", v.backing}
		t.Cleanup(func() { v.umountAt(t, v.Mount) })
		v.run(t, append(v.mountArgs, v.Mount)...)
	}
	t.Logf("testutil: using the JuiceFS stand-in (test/fakejuicefs) at %s because %s is not set; "+
		"set %s=/path/to/juicefs (root, /dev/fuse) to run against a real client", v.Mount, JuiceFSEnv, JuiceFSEnv)
	return v
}

// DownloadLimitMbps is the `juicefs mount --download-limit` (Mbit/s, an
// integer) that gives warm-ups mibps MiB/s: JuiceFS lets 85 % of the limit
// through (pkg/chunk cached_store.go: "overheads coming from HTTP/TCP/IP").
// 0 means no limit. The limit is the mount's, shared by all its reads and
// warm-ups (the stand-in's is per `juicefs warmup`), and its token bucket
// starts full: a tenth of a second of the limit goes at once (since 1.3,
// juicefs pull request 6102; a whole second before), so a test that needs a
// warm-up to last T seconds sizes its data for a little more than T.
func DownloadLimitMbps(mibps float64) int64 {
	if mibps <= 0 {
		return 0
	}
	return max(1, int64(math.Ceil(mibps*(1<<20)*8/1e6/0.85)))
}

func newRealVolume(t testing.TB, bin string, bw float64, o volumeOptions) *Volume {
	t.Helper()
	RequireRoot(t, "mounts a real JuiceFS client and reads its root-only .config")
	dir := t.TempDir()
	v := &Volume{Mount: filepath.Join(dir, "mnt"), CacheDir: filepath.Join(dir, "cache"), Binary: bin, Real: true, Bandwidth: bw, dir: dir}
	metaURL := "sqlite3://" + filepath.Join(dir, "meta.db")
	v.MetaURL = metaURL
	format := []string{"format", "--storage", "file", "--bucket", filepath.Join(dir, "bucket"), "--trash-days", "0", "--no-update"}
	if o.hashPrefix {
		format = append(format, "--hash-prefix")
	}
	v.run(t, append(format, metaURL, fmt.Sprintf("testvol%d", time.Now().UnixNano()%1e6))...)
	port := freePort(t)
	if err := os.MkdirAll(v.Mount, 0o755); err != nil {
		t.Fatal(err)
	}
	// --enable-xattr: dedup apply preserves xattrs. --cache-scan-interval=-1:
	// look at the disk on every read (see docs/design/juicefs-contract.md).
	// --free-space-ratio 0.01: the client evicts blocks by itself while the
	// file system holding its cache has less free (default 10 %), and here
	// that is the test's temporary directory, which also holds the volume's
	// bucket: a nearly full /tmp would take warm blocks away mid-test.
	v.mountArgs = []string{"mount", "-d", metaURL, v.Mount, "--cache-dir", v.CacheDir, "--cache-scan-interval=-1",
		"--free-space-ratio", "0.01", "--enable-xattr", "--no-usage-report", "--metrics", fmt.Sprintf("127.0.0.1:%d", port), "--log", filepath.Join(dir, "mount.log")}
	if mbps := DownloadLimitMbps(bw); mbps > 0 {
		v.mountArgs = append(v.mountArgs, "--download-limit", strconv.FormatInt(mbps, 10))
	}
	t.Cleanup(func() { v.umount(t) }) // before mounting: a mount that came up although the command failed goes too
	v.runLogged(t, filepath.Join(dir, "mount.log"), v.mountArgs...)
	t.Logf("testutil: using a real JuiceFS client %s, volume mounted at %s (log %s, warm-ups at %g MiB/s)",
		bin, v.Mount, filepath.Join(dir, "mount.log"), bw)
	return v
}

func (v *Volume) run(t testing.TB, args ...string) { v.runLogged(t, "", args...) }

// runLogged runs the juicefs binary with args; when it fails, the test's
// message ends with the end of log (when not ""): a real client's `mount
// -d` says why there, and its command only says to look.
func (v *Volume) runLogged(t testing.TB, log string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, v.Binary, args...).CombinedOutput()
	if err == nil {
		return
	}
	if log != "" {
		b, _ := os.ReadFile(log)
		out = fmt.Appendf(out, "\nthe end of %s:\n%s", log, b[max(0, len(b)-4096):])
	}
	t.Fatalf("testutil: %s %v: %v\n%s", v.Binary, args, err, out)
}

func (v *Volume) umount(t testing.TB) { v.umountAt(t, v.Mount) }

// umountAt unmounts mnt and waits (up to 10 s) for its mount processes to
// exit: `juicefs umount` only detaches the mount, and a real client's
// daemon and its supervisor then close their session and write their
// files, which must be done before the test's directory is removed.
func (v *Volume) umountAt(t testing.TB, mnt string) {
	if m, err := os.ReadFile("/proc/self/mounts"); err == nil && !strings.Contains(string(m), " "+mnt+" ") {
		return // unmounted already (by the test)
	}
	files := supervisorFiles(mnt)
	err := Unmount(t.Logf, mnt, 1, func(force bool) ([]byte, error) {
		args := []string{"umount", mnt}
		if force {
			args = append(args, "--force")
		}
		return exec.Command(v.Binary, args...).CombinedOutput()
	})
	if err != nil {
		t.Logf("testutil: %v", err)
		return
	}
	for _, f := range files {
		_ = os.Remove(f)
	}
}

// mountConfig is what the tests read of a mount's .config about its
// processes (a real client's, and the stand-in's, which leaves the paths
// empty).
type mountConfig struct {
	Pid, PPid           int
	CommPath, StatePath string
}

// readMountConfig reads mnt's .config; false when it cannot be read.
func readMountConfig(mnt string) (mountConfig, bool) {
	var c mountConfig
	b, err := os.ReadFile(filepath.Join(mnt, ".config"))
	if err != nil || json.Unmarshal(b, &c) != nil {
		return mountConfig{}, false
	}
	return c, true
}

// supervisorFiles are the files a real client's `mount -d` supervisor
// keeps outside the test's directory (.config's CommPath and StatePath,
// /tmp/fuse_fd_comm.PPID and /tmp/statePPID.json), to remove once its
// processes have exited; only names of that shape are returned.
func supervisorFiles(mnt string) []string {
	c, ok := readMountConfig(mnt)
	if !ok {
		return nil
	}
	var out []string
	for _, f := range []string{c.CommPath, c.StatePath} {
		if dir, name := filepath.Split(f); dir == "/tmp/" && (strings.HasPrefix(name, "fuse_fd_comm.") || strings.HasPrefix(name, "state") && strings.HasSuffix(name, ".json")) {
			out = append(out, f)
		}
	}
	return out
}

// Unmount detaches the JuiceFS mount whose mount point this process sees
// at view (a host's mount through /proc/PID/root, say) by calling umount,
// which runs `juicefs umount` (with --force when force is true) wherever
// the mount is: after tries failed calls, once more by force (logged with
// logf, t.Logf say). Then it waits up to 10 s for the mount's processes
// (MountPids) to exit.
func Unmount(logf func(format string, args ...any), view string, tries int, umount func(force bool) ([]byte, error)) error {
	pids := MountPids(view)
	var first string // why the first try failed: a forced one that works says nothing of it
	for try := 1; ; try++ {
		out, err := umount(try > tries)
		if err == nil {
			break
		}
		if first == "" {
			first = fmt.Sprintf("%v: %s", err, out)
		}
		if try > tries {
			return fmt.Errorf("umount %s: %s; by force: %v: %s", view, first, err, out)
		}
		if try < tries {
			time.Sleep(time.Second)
		}
	}
	if first != "" {
		logf("testutil: umount %s needed --force: %s", view, first)
	}
	if left := WaitExited(pids, 10*time.Second); len(left) > 0 {
		return fmt.Errorf("the mount processes %v of %s still run 10 s after umount", left, view)
	}
	return nil
}

// WaitExited waits up to d for the processes pids to exit and returns those
// still running then.
func WaitExited(pids []int, d time.Duration) []int {
	pids = slices.Clone(pids)
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		pids = slices.DeleteFunc(pids, func(p int) bool { return !Running(p) })
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
	}
}

// MountPids are the processes serving the JuiceFS mount at mnt, from its
// .config (Pid, and PPid when that runs the same binary: a real client's
// `mount -d` supervisor); nil when it cannot be read. They exit after the
// mount is detached, closing their session and their files.
func MountPids(mnt string) []int {
	c, ok := readMountConfig(mnt)
	if !ok || c.Pid <= 0 {
		return nil
	}
	pids := []int{c.Pid}
	if c.PPid > 1 {
		if self, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.Pid)); err == nil {
			if parent, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.PPid)); err == nil && parent == self {
				pids = append(pids, c.PPid)
			}
		}
	}
	return pids
}

// FUSE reports whether the volume is a FUSE mount: a real client, or the
// stand-in made WithFUSE.
func (v *Volume) FUSE() bool { return v.Real || v.backing != "" }

// MountAgain mounts the volume a second time, at a new mount point it
// returns (unmounted when the test ends), with the same options and the
// same cache directory: a second client of one volume sharing its cache, as
// two nodes on one shared cache dir. Only for FUSE volumes.
func (v *Volume) MountAgain(t testing.TB) string {
	t.Helper()
	if !v.FUSE() {
		t.Fatalf("testutil: MountAgain needs a FUSE volume (a real client, or the stand-in WithFUSE)")
	}
	mnt, err := os.MkdirTemp(v.dir, "mnt-")
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	args := append([]string{}, v.mountArgs...)
	if v.Real {
		// Same meta URL and cache dir; a mount point, metrics port and log of its own.
		for i, a := range args {
			switch {
			case a == v.Mount:
				args[i] = mnt
			case i > 0 && args[i-1] == "--metrics":
				args[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
			case i > 0 && args[i-1] == "--log":
				args[i] = mnt + ".log"
			}
		}
	} else {
		args = append(args, mnt)
	}
	t.Cleanup(func() { v.umountAt(t, mnt) })
	log := "" // the stand-in logs where its volume keeps its state
	if v.Real {
		log = mnt + ".log"
	}
	v.runLogged(t, log, args...)
	return mnt
}

// Remount unmounts and mounts the volume again with the same options, as a
// reboot or an upgrade does: the new mount process did not write the blocks
// already cached, so its `warmup --evict` leaves them (on a real client and
// on the stand-in alike). Cached blocks and data stay.
func (v *Volume) Remount(t testing.TB) {
	t.Helper()
	if !v.FUSE() {
		v.run(t, "mount", v.Mount)
		return
	}
	if !v.Real {
		v.umount(t)
		v.run(t, append(v.mountArgs, v.Mount)...)
		return
	}
	v.umount(t)
	v.runLogged(t, filepath.Join(v.dir, "mount.log"), v.mountArgs...)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testutil: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WriteFiles creates the directory Mount/rel holding n files f0000.bin, … of
// size bytes each, with pseudo-random content that depends only on rel and
// the file index, and returns the directory's absolute path. The new files
// start cold: a real client caches the partial and tail blocks it writes, so
// their block files are removed (jfs.Driver.EvictBlocks) on both paths.
func (v *Volume) WriteFiles(t testing.TB, rel string, n int, size int64) string {
	t.Helper()
	dir := filepath.Join(v.Mount, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(rel))
	seed := h.Sum64()
	buf := make([]byte, 1<<20)
	files := make([]string, 0, n)
	for i := range n {
		var key [32]byte
		for j := range 8 {
			key[j] = byte(seed >> (8 * j))
			key[8+j] = byte(uint64(i) >> (8 * j))
		}
		rng := rand.NewChaCha8(key)
		p := filepath.Join(dir, fmt.Sprintf("f%04d.bin", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatalf("testutil: %v", err)
		}
		for left := size; left > 0; {
			k := min(left, int64(len(buf)))
			_, _ = rng.Read(buf[:k])
			if _, err := f.Write(buf[:k]); err != nil {
				f.Close()
				t.Fatalf("testutil: write %s: %v", p, err)
			}
			left -= k
		}
		if err := f.Close(); err != nil {
			t.Fatalf("testutil: close %s: %v", p, err)
		}
		files = append(files, p)
	}
	v.evictCold(t, files)
	return dir
}

// evictCold evicts files until --check finds none of them cached: a real
// client writes the cache blocks of what it uploaded asynchronously, so one
// may land just after an eviction.
func (v *Volume) evictCold(t testing.TB, files []string) {
	t.Helper()
	if len(files) == 0 {
		return
	}
	d := &jfs.Driver{Binary: v.Binary}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		v.Evict(t, files...)
		ctx, cancel := context.WithTimeout(context.Background(), budget(time.Minute, len(files)))
		r, err := d.Check(ctx, files)
		cancel()
		if err != nil {
			t.Fatalf("testutil: check %s after writing it: %v", files[0], err)
		}
		if r.Ratio == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: %s still %.1f%% cached 10 s after writing it and evicting its blocks", filepath.Dir(files[0]), 100*r.Ratio)
		}
	}
}

// Evict removes the cached blocks of paths by deleting their block files
// (jfs.Driver.EvictBlocks: the eviction warmupd uses, which works whichever
// mount wrote the blocks).
func (v *Volume) Evict(t testing.TB, paths ...string) {
	t.Helper()
	if len(paths) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget(2*time.Minute, len(paths)))
	defer cancel()
	if _, err := (&jfs.Driver{Binary: v.Binary}).EvictBlocks(ctx, paths); err != nil {
		t.Fatalf("testutil: evict the blocks of %s: %v", paths[0], err)
	}
}

// WaitBlocksWritten returns once every block of the data of paths (files or
// directories) is a file in the volume's cache directory: a real client
// writes the blocks a warm-up or a read fetched after the call returned
// (the stand-in before it returns), and `warmup --check` on that mount
// counts a block still waiting in memory as cached. A test that counts or
// removes block files, reads them through another mount, or remounts right
// after a warm-up waits here first. The test fails after 30 s.
func (v *Volume) WaitBlocksWritten(t testing.TB, paths ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget(2*time.Minute, len(paths)))
	defer cancel()
	var blocks [][]string
	err := (&jfs.Driver{Binary: v.Binary}).Blocks(ctx, "wait for the blocks of", paths, func(where []string) {
		blocks = append(blocks, where)
	})
	if err != nil {
		t.Fatalf("testutil: list the blocks of %s: %v", paths[0], err)
	}
	// A real client writes <block>.tmp and renames it: the block's own
	// name means written (a .tmp left by a killed write means nothing).
	written := func(where []string) bool {
		return slices.ContainsFunc(where, func(p string) bool {
			fi, err := os.Lstat(p)
			return err == nil && fi.Mode().IsRegular()
		})
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		for len(blocks) > 0 && written(blocks[0]) {
			blocks = blocks[1:]
		}
		if len(blocks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: %d blocks of %s are not in the cache 30 s after the warm-up (the first: %s)", len(blocks), paths[0], blocks[0][0])
		}
	}
}

// budget is the time a juicefs command over n files may take: base, plus
// 30 ms a file beyond the first thousand (a test of thousands of files
// evicts and checks them all through the mount, on a shared machine).
func budget(base time.Duration, n int) time.Duration {
	return base + time.Duration(max(n-1000, 0))*30*time.Millisecond
}

// EnableChangelog turns on the volume's metadata changelog (`config
// META-URL --changelog`) and returns once the mount logs its operations: a
// real client picks the setting up at its next refresh of the volume's
// format, so probe files are created at the mount root until the changelog,
// read as warmupd reads it (jfs.Driver.Changelog), lists one. It returns the
// version to read new entries from.
func (v *Volume) EnableChangelog(t testing.TB) int64 {
	t.Helper()
	v.run(t, "config", v.MetaURL, "--changelog")
	// A short idle bound: a read cut early is taken up again from where it
	// stopped.
	d := &jfs.Driver{Binary: v.Binary, ChangelogIdle: 250 * time.Millisecond}
	deadline := time.Now().Add(3 * time.Minute)
	from := int64(1)
	for i := 0; ; i++ {
		name := fmt.Sprintf("changelogprobe%d", i)
		if err := os.WriteFile(filepath.Join(v.Mount, name), nil, 0o644); err != nil {
			t.Fatalf("testutil: probe the changelog: %v", err)
		}
		es, err := d.Changelog(context.Background(), v.MetaURL, from)
		if err != nil {
			t.Fatalf("testutil: juicefs changelog: %v", err)
		}
		for _, e := range es {
			from = max(from, e.Ver+1)
			if e.Op == "CREATE" && len(e.Args) > 1 && e.Args[0] == "1" && strings.HasPrefix(e.Args[1], "changelogprobe") {
				return e.Ver + 1
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("testutil: the mount logged no operation 3 minutes after `config --changelog`")
		}
	}
}

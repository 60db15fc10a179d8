package testutil

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// JuiceFSEnv names a real juicefs binary; when set, NewVolume formats and
// FUSE-mounts a real local volume instead of using the stand-in.
const JuiceFSEnv = "ACCEL_TEST_JUICEFS"

// Volume is a JuiceFS volume for one test: a real local volume (sqlite3
// metadata, file storage, FUSE mount) when ACCEL_TEST_JUICEFS names a juicefs
// binary, else a volume of the JuiceFS stand-in (test/fakejuicefs).
type Volume struct {
	Mount    string // the mount point (datasets go under it)
	CacheDir string // the cache directory (blocks under CacheDir/<UUID>/raw/chunks)
	Binary   string // the juicefs binary to drive it with (real or stand-in)
	Real     bool   // true for a real JuiceFS client
}

// NewVolume creates a volume under t.TempDir() and removes (unmounts) it when
// the test ends. The stand-in reads at 100 MiB/s unless the test sets
// FAKEJUICEFS_BANDWIDTH (MiB/s, 0 = unlimited) with t.Setenv.
func NewVolume(t testing.TB) *Volume {
	t.Helper()
	if bin := os.Getenv(JuiceFSEnv); bin != "" {
		return newRealVolume(t, bin)
	}
	bin := Binary(t, "test/fakejuicefs")
	dir := t.TempDir()
	v := &Volume{Mount: filepath.Join(dir, "mnt"), CacheDir: filepath.Join(dir, "cache"), Binary: bin}
	out, err := exec.Command(bin, "format", v.Mount, "--cache-dir", v.CacheDir).CombinedOutput()
	if err != nil {
		t.Fatalf("testutil: format stand-in volume: %v\n%s", err, out)
	}
	t.Logf("testutil: using the JuiceFS stand-in (test/fakejuicefs) at %s because %s is not set; "+
		"set %s=/path/to/juicefs (root, /dev/fuse) to run against a real client", v.Mount, JuiceFSEnv, JuiceFSEnv)
	return v
}

func newRealVolume(t testing.TB, bin string) *Volume {
	t.Helper()
	dir := t.TempDir()
	v := &Volume{Mount: filepath.Join(dir, "mnt"), CacheDir: filepath.Join(dir, "cache"), Binary: bin, Real: true}
	metaURL := "sqlite3://" + filepath.Join(dir, "meta.db")
	run := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("testutil: %s %v: %v\n%s", bin, args, err, out)
		}
	}
	run("format", "--storage", "file", "--bucket", filepath.Join(dir, "bucket"), "--trash-days", "0",
		"--no-update", metaURL, fmt.Sprintf("testvol%d", time.Now().UnixNano()%1e6))
	port := freePort(t)
	if err := os.MkdirAll(v.Mount, 0o755); err != nil {
		t.Fatal(err)
	}
	run("mount", "-d", metaURL, v.Mount, "--cache-dir", v.CacheDir, "--cache-scan-interval=-1",
		"--no-usage-report", "--metrics", fmt.Sprintf("127.0.0.1:%d", port), "--log", filepath.Join(dir, "mount.log"))
	t.Cleanup(func() {
		if out, err := exec.Command(bin, "umount", v.Mount).CombinedOutput(); err != nil {
			t.Logf("testutil: umount %s: %v\n%s; forcing", v.Mount, err, out)
			_ = exec.Command(bin, "umount", "--force", v.Mount).Run()
		}
	})
	t.Logf("testutil: using a real JuiceFS client %s, volume mounted at %s (log %s)", bin, v.Mount, filepath.Join(dir, "mount.log"))
	return v
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
// the file index, and returns the directory's absolute path.
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
	}
	return dir
}

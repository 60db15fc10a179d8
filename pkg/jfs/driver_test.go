package jfs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// newDriver gives a driver for a fresh volume (the stand-in unless
// ACCEL_TEST_JUICEFS names a real client) and points TMPDIR at a directory of
// its own so that tests can see the list files the driver leaves behind.
func newDriver(t *testing.T) (*jfs.Driver, *testutil.Volume, string) {
	t.Helper()
	v := testutil.NewVolume(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	return &jfs.Driver{Binary: v.Binary, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)}, v, tmp
}

func requireNoListFiles(t *testing.T, tmp string) {
	t.Helper()
	ents, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, ents, "the driver must remove its list files")
}

func TestDriverWarmupCheckEvict(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	d, v, tmp := newDriver(t)
	ds := v.WriteFiles(t, "ds1", 5, 3<<20+12345)
	ctx := context.Background()
	total := int64(5 * (3<<20 + 12345))

	if !v.Real { // a real client caches on write
		r, err := d.Check(ctx, []string{ds})
		require.NoError(t, err)
		require.Equal(t, int64(5), r.Files)
		require.Equal(t, 0.0, r.Ratio)
		require.Equal(t, int64(0), r.CachedBytes)
	}

	s, err := d.Warmup(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, int64(5), s.Files)
	require.InDelta(t, total, s.Bytes, float64(total)/100, "summary bytes are humanized, so within 1%")

	r, err := d.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, int64(5), r.Files)
	require.Equal(t, jfs.MaxRoundedRatio, r.Ratio, "juicefs printed 100.0%, which may be 99.95 %")

	// The blocks are really where .config says.
	mc, err := jfs.ReadMountConfig(v.Mount)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(v.CacheDir, mc.UUID)}, mc.CacheDirs, "the UUID is part of the cache dir in .config")
	v.WaitBlocksWritten(t, ds)
	blocks, err := filepath.Glob(filepath.Join(mc.CacheDirs[0], "raw", "chunks", "*", "*", "*_*_*"))
	require.NoError(t, err)
	require.Len(t, blocks, 5, "one 4 MiB block per file of 3 MiB")

	st, err := jfs.ReadStats(v.Mount)
	require.NoError(t, err)
	require.Equal(t, 5.0, st["juicefs_blockcache_blocks"])
	if !v.Real {
		require.Equal(t, 5.0, st["juicefs_blockcache_writes"])
	}

	e, err := d.Evict(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, int64(5), e.Files)
	st, err = jfs.ReadStats(v.Mount)
	require.NoError(t, err)
	require.Equal(t, 0.0, st["juicefs_blockcache_blocks"])
	require.Equal(t, 0.0, st["juicefs_blockcache_bytes"])
	if !v.Real {
		require.Equal(t, 5.0, st["juicefs_blockcache_evicts"])
	}

	r, err = d.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, 0.0, r.Ratio)
	require.Equal(t, int64(0), r.CachedBytes)
	requireNoListFiles(t, tmp)
}

func TestDriverPartialCache(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	d, v, _ := newDriver(t)
	ds := v.WriteFiles(t, "ds", 4, 1<<20)
	ctx := context.Background()
	_, err := d.Warmup(ctx, []string{ds})
	require.NoError(t, err)
	_, err = d.Evict(ctx, []string{filepath.Join(ds, "f0001.bin")})
	require.NoError(t, err)

	r, err := d.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, int64(4), r.Files)
	require.InDelta(t, 0.75, r.Ratio, 1e-9)
	require.Equal(t, int64(3<<20), r.CachedBytes)

	// Several paths in one request, relative ones included.
	t.Chdir(ds)
	r, err = d.Check(ctx, []string{"f0000.bin", filepath.Join(ds, "f0001.bin")})
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Files)
	require.InDelta(t, 0.5, r.Ratio, 1e-9)
}

func TestDriverWarmupCancelledKillsProcessGroup(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "20") // 40 MiB take ~2 s
	d, v, tmp := newDriver(t)
	d.Threads = 1 // one block after the other: ~200 ms per 4 MiB block
	ds := v.WriteFiles(t, "big", 10, 4<<20)
	mc, err := jfs.ReadMountConfig(v.Mount)
	require.NoError(t, err)
	blockGlob := filepath.Join(mc.CacheDirs[0], "raw", "chunks", "*", "*", "*")
	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan []int, 1)
	go func() {
		// Cancel once the juicefs process is running and has cached a block.
		var pids []int
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if p := ownProcesses(t, v.Binary, nil); len(p) > 0 {
				pids = p
			}
			done, _ := filepath.Glob(blockGlob)
			done = slices.DeleteFunc(done, func(p string) bool { return strings.HasSuffix(p, ".tmp") })
			if len(pids) > 0 && len(done) > 0 {
				break
			}
		}
		seen <- pids
		cancel()
	}()
	_, err = d.Warmup(ctx, []string{ds})
	pids := <-seen
	require.NotEmpty(t, pids, "the juicefs process was never seen running")

	var ee *jfs.ExecError
	require.ErrorAs(t, err, &ee)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, ownProcesses(t, v.Binary, pids), "no juicefs process of the cancelled command's group may survive the cancel")
	requireNoListFiles(t, tmp)

	r, err := d.Check(context.Background(), []string{ds})
	require.NoError(t, err)
	require.Less(t, r.Ratio, jfs.MaxRoundedRatio, "the fetch stopped short")
	require.Greater(t, r.Ratio, 0.0, "blocks fetched before the kill stay cached")
	// Only complete blocks (or .tmp files) are left behind.
	blocks, _ := filepath.Glob(blockGlob)
	for _, b := range blocks {
		if strings.HasSuffix(b, ".tmp") {
			continue
		}
		fi, err := os.Stat(b)
		require.NoError(t, err)
		require.Equal(t, int64(4<<20+4*128), fi.Size(), "block %s must be complete (4 MiB + CRCs)", b)
	}
}

// ownProcesses lists the running processes whose executable is bin that
// this test started (its children), or that belong to the process group of
// one of leaders: the driver runs each juicefs command as the leader of a
// process group of its own. Other packages' tests run the same real juicefs
// binary at the same time, and the volume's mount daemons are not children
// (`mount -d` returns once its daemon runs).
func ownProcesses(t *testing.T, bin string, leaders []int) []int {
	t.Helper()
	want, err := filepath.EvalSymlinks(bin)
	require.NoError(t, err)
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	self := strconv.Itoa(os.Getpid())
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != want {
			continue
		}
		f := testutil.ProcStat(pid)
		if len(f) < 3 || !testutil.Running(pid) {
			continue
		}
		if f[1] == self || slices.ContainsFunc(leaders, func(l int) bool { return f[2] == strconv.Itoa(l) }) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestDriverMissingPathIsPathError(t *testing.T) {
	d, v, tmp := newDriver(t)
	ctx := context.Background()
	missing := filepath.Join(v.Mount, "no-such-dataset")
	for name, call := range map[string]func([]string) error{
		"warmup": func(p []string) error { _, err := d.Warmup(ctx, p); return err },
		"check":  func(p []string) error { _, err := d.Check(ctx, p); return err },
		"evict":  func(p []string) error { _, err := d.Evict(ctx, p); return err },
	} {
		err := call([]string{missing})
		var pe *jfs.PathError
		require.ErrorAs(t, err, &pe, name)
		require.Equal(t, missing, pe.Path, name)
		require.Contains(t, pe.Detail, "open control file", name)

		err = call([]string{t.TempDir()}) // exists, but outside JuiceFS
		require.ErrorAs(t, err, &pe, name)
		require.Contains(t, err.Error(), "retrying will not help", name)
	}
	// A later missing path is not an error (juicefs exits 0); the summary
	// counts only what exists.
	ds := v.WriteFiles(t, "ds", 2, 1000)
	r, err := d.Check(ctx, []string{ds, missing})
	require.NoError(t, err)
	require.Equal(t, int64(2), r.Files)

	// A path a list file cannot express is refused before running anything.
	_, err = d.Check(ctx, []string{ds + "\nx"})
	var pe *jfs.PathError
	require.ErrorAs(t, err, &pe)
	requireNoListFiles(t, tmp)
}

// EvictBlocks removes a dataset's block files whichever mount wrote them:
// after a remount `juicefs warmup --evict` removes nothing (real 1.4.1 client
// and stand-in alike), EvictBlocks still does, and --check says 0 %.
func TestDriverEvictBlocksAfterRemount(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	for _, hp := range []bool{false, true} {
		t.Run(fmt.Sprintf("hashprefix=%v", hp), func(t *testing.T) {
			var opts []testutil.VolumeOption
			if hp {
				opts = append(opts, testutil.WithHashPrefix())
			}
			v := testutil.NewVolume(t, opts...)
			d := &jfs.Driver{Binary: v.Binary, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)}
			ctx := context.Background()
			ds := v.WriteFiles(t, "ds", 4, 5<<20+3)   // 2 blocks each
			keep := v.WriteFiles(t, "keep", 1, 1<<20) // another dataset stays cached
			mc, err := jfs.ReadMountConfig(v.Mount)
			require.NoError(t, err)
			require.Equal(t, hp, mc.HashPrefix)
			blocks := func() []string {
				var out []string
				for _, dir := range mc.BlockDirs() {
					_ = filepath.WalkDir(filepath.Join(dir, "raw"), func(p string, e os.DirEntry, err error) error {
						if err == nil && e.Type().IsRegular() {
							out = append(out, p)
						}
						return nil
					})
				}
				return out
			}
			_, err = d.Warmup(ctx, []string{keep})
			require.NoError(t, err)
			v.WaitBlocksWritten(t, keep) // a real client writes them after the warm-up returns
			nKeep := len(blocks())
			_, err = d.Warmup(ctx, []string{ds})
			require.NoError(t, err)
			v.WaitBlocksWritten(t, ds)
			nAll := len(blocks())
			require.GreaterOrEqual(t, nAll-nKeep, 8, "4 files of 2 blocks")
			layout := `/raw/chunks/\d+/\d+/\d+_\d+_\d+$`
			if hp {
				layout = `/raw/chunks/[0-9A-F]{2}/\d+/\d+_\d+_\d+$`
			}
			for _, b := range blocks() {
				require.Regexp(t, layout, b)
			}

			v.Remount(t)
			_, err = d.Evict(ctx, []string{ds})
			require.NoError(t, err)
			require.Len(t, blocks(), nAll, "warmup --evict of a remounted client removes nothing")

			// A leftover <block>.tmp of the dataset goes too.
			rows, err := d.InfoRaw(ctx, filepath.Join(ds, "f0000.bin"))
			require.NoError(t, err)
			require.NotEmpty(t, rows)
			key := jfs.SliceBlockKeys(rows[0].SliceID, int64(rows[0].Size), mc.BlockSize, mc.HashPrefix)[0]
			tmp := jfs.BlockPath(mc.BlockDirs()[0], key) + ".tmp"
			require.NoError(t, os.WriteFile(tmp, []byte("partial"), 0o600))

			res, err := d.EvictBlocks(ctx, []string{ds})
			require.NoError(t, err)
			require.Equal(t, int64(4), res.Files)
			require.GreaterOrEqual(t, res.Slices, int64(4))
			require.Equal(t, int64(nAll-nKeep+1), res.Blocks, "the dataset's blocks and the .tmp")
			require.Len(t, blocks(), nKeep, "only the other dataset's blocks are left")
			r, err := d.Check(ctx, []string{ds})
			require.NoError(t, err)
			require.Equal(t, 0.0, r.Ratio)
			r, err = d.Check(ctx, []string{keep})
			require.NoError(t, err)
			require.Greater(t, r.Ratio, 0.999)

			// Evicting again finds nothing; a missing path is a PathError.
			res, err = d.EvictBlocks(ctx, []string{ds})
			require.NoError(t, err)
			require.Equal(t, int64(0), res.Blocks)
			_, err = d.EvictBlocks(ctx, []string{filepath.Join(v.Mount, "nope")})
			var pe *jfs.PathError
			require.ErrorAs(t, err, &pe)
			_, err = d.EvictBlocks(ctx, []string{t.TempDir()})
			require.ErrorAs(t, err, &pe, "outside JuiceFS")
		})
	}
}

func TestDriverMissingBinaryIsExecError(t *testing.T) {
	d := &jfs.Driver{Binary: filepath.Join(t.TempDir(), "no-juicefs")}
	_, err := d.Warmup(context.Background(), []string{t.TempDir()})
	var ee *jfs.ExecError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, -1, ee.ExitCode)
	require.Contains(t, err.Error(), "check the juicefs binary path")
	var pe *jfs.PathError
	require.False(t, errors.As(err, &pe))
}

func TestDriverOtherFailures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, bin := range []string{"false", "true"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s(1) is needed by this test: %v", bin, err)
		}
	}
	// Exit 1 without a FATAL line about the path: may be transient.
	_, err := (&jfs.Driver{Binary: "false"}).Warmup(ctx, []string{dir})
	var ee *jfs.ExecError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 1, ee.ExitCode)

	// Exit 0 without a summary line.
	_, err = (&jfs.Driver{Binary: "true"}).Check(ctx, []string{dir})
	require.ErrorIs(t, err, jfs.ErrNoSummary)
	_, err = (&jfs.Driver{Binary: "true"}).Warmup(ctx, []string{dir})
	require.ErrorIs(t, err, jfs.ErrNoSummary)
	_, err = (&jfs.Driver{Binary: "true"}).InfoRaw(ctx, dir)
	var pe *jfs.PathError
	require.ErrorAs(t, err, &pe, "info that prints nothing about the path")

	// A context that is already done never starts juicefs.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = (&jfs.Driver{Binary: "true"}).Warmup(cctx, []string{dir})
	require.ErrorAs(t, err, &ee)
	require.ErrorIs(t, err, context.Canceled)
}

func TestDriverCloneSharesBlocks(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	d, v, _ := newDriver(t)
	ds := v.WriteFiles(t, "orig", 3, 5<<20)
	ctx := context.Background()
	clone := filepath.Join(v.Mount, "orig_clone")
	require.NoError(t, d.Clone(ctx, ds, clone, true))

	// The clone reads the same data.
	a, err := os.ReadFile(filepath.Join(ds, "f0002.bin"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(clone, "f0002.bin"))
	require.NoError(t, err)
	require.Equal(t, a, b)

	// Slices are shared: info rows are equal, and warming one warms the other.
	ra, err := d.InfoRaw(ctx, filepath.Join(ds, "f0002.bin"))
	require.NoError(t, err)
	rb, err := d.InfoRaw(ctx, filepath.Join(clone, "f0002.bin"))
	require.NoError(t, err)
	require.NotEmpty(t, ra)
	require.Equal(t, ra, rb)
	require.Equal(t, uint64(5<<20), ra[0].Length)
	other, err := d.InfoRaw(ctx, filepath.Join(ds, "f0001.bin"))
	require.NoError(t, err)
	require.NotEqual(t, ra, other, "different files have different slices")
	dir, err := d.InfoRaw(ctx, ds)
	require.NoError(t, err)
	require.Empty(t, dir, "a directory has no slice rows")
	_, err = d.InfoRaw(ctx, filepath.Join(ds, "missing.bin"))
	var ipe *jfs.PathError
	require.ErrorAs(t, err, &ipe, "juicefs info exits 0 for a missing path; the driver must not")
	require.Contains(t, ipe.Detail, "lookup inode for")

	if !v.Real {
		_, err = d.Evict(ctx, []string{ds})
		require.NoError(t, err)
		r, err := d.Check(ctx, []string{clone})
		require.NoError(t, err)
		require.Equal(t, 0.0, r.Ratio)
	}
	_, err = d.Warmup(ctx, []string{ds})
	require.NoError(t, err)
	r, err := d.Check(ctx, []string{clone})
	require.NoError(t, err)
	require.Equal(t, jfs.MaxRoundedRatio, r.Ratio, "warming the original makes the clone cached")

	// DST must not exist; SRC must exist.
	err = d.Clone(ctx, ds, clone, false)
	var pe *jfs.PathError
	require.ErrorAs(t, err, &pe)
	require.Contains(t, pe.Detail, "already exists")
	err = d.Clone(ctx, filepath.Join(v.Mount, "nope"), filepath.Join(v.Mount, "nope2"), false)
	require.ErrorAs(t, err, &pe)

	// Relative paths, and a DST ending in "/" meaning DST/<base of SRC>.
	t.Chdir(v.Mount)
	require.NoError(t, os.Mkdir("into", 0o755))
	require.NoError(t, d.Clone(ctx, "orig/f0000.bin", "into/", false))
	rc, err := d.InfoRaw(ctx, "into/f0000.bin")
	require.NoError(t, err)
	r0, err := d.InfoRaw(ctx, "orig/f0000.bin")
	require.NoError(t, err)
	require.Equal(t, r0, rc)
}

func TestDriverBatchesLargeLists(t *testing.T) {
	d, v, tmp := newDriver(t)
	n := jfs.BatchMax + 5
	dir := filepath.Join(v.Mount, "many")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, "f"+strings.Repeat("0", 6-len(itoa(i)))+itoa(i))
		require.NoError(t, os.WriteFile(paths[i], []byte("x"), 0o644))
	}
	r, err := d.Check(context.Background(), paths)
	require.NoError(t, err)
	require.Equal(t, int64(n), r.Files, "both batches are counted")
	require.Equal(t, int64(n), r.TotalBytes)
	requireNoListFiles(t, tmp)
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

func TestFindMountAndConfigOnVolume(t *testing.T) {
	_, v, _ := newDriver(t)
	ds := v.WriteFiles(t, "a/b", 1, 10)
	m, err := jfs.FindMount(filepath.Join(ds, "f0000.bin"))
	require.NoError(t, err)
	require.Equal(t, v.Mount, m)
	m, err = jfs.FindMount(filepath.Join(ds, "not-yet-there"))
	require.NoError(t, err)
	require.Equal(t, v.Mount, m)

	mc, err := jfs.ReadMountConfig(m)
	require.NoError(t, err)
	require.NotEmpty(t, mc.UUID)
	require.NotEmpty(t, mc.Name)
	require.Equal(t, int64(4<<20), mc.BlockSize)

	outside := t.TempDir()
	_, err = jfs.FindMount(outside)
	require.ErrorContains(t, err, "is not inside a JuiceFS mount (no .config found in any parent; is the volume mounted here?)")
	_, err = jfs.ReadMountConfig(outside)
	require.ErrorContains(t, err, "is a JuiceFS volume mounted")
}

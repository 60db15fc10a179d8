package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// The stand-in's formatting helpers give the real client's strings.

func TestIBytesMatchesRealSamples(t *testing.T) {
	// 523609614 bytes is ds1 in the samples (10_info_dir.txt), printed as 499 MiB.
	require.Equal(t, "499 MiB", iBytes(523609614))
	require.Equal(t, "0 B", iBytes(0))
	require.Equal(t, "9 B", iBytes(9))
	require.Equal(t, "1000 B", iBytes(1000))
	require.Equal(t, "1.5 GiB", iBytes(3<<29))
	require.Equal(t, "9.5 MiB", iBytes(10000000))
	require.Equal(t, "3.56 MiB (3730526 Bytes)", formatBytes(3730526)) // 10b_info_file.txt
	require.Equal(t, "499.35 MiB (523609614 Bytes)", formatBytes(523609614))
}

func TestPrintTableMatchesRealInfoOutput(t *testing.T) {
	real, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pkg", "jfs", "testdata", "10b_info_file.txt"))
	require.NoError(t, err)
	var b strings.Builder
	printTable(&b, [][]string{
		{"chunkIndex", "objectName", "size", "offset", "length", "pos"},
		{"0", "testvol/chunks/0/0/1_0_3730526", "3730526", "0", "3730526", "0"},
	}, 1)
	require.Contains(t, string(real), b.String())
}

// runFJ runs the stand-in binary and returns stdout, stderr and the exit code.
func runFJ(t *testing.T, bin, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

var logLineRE = regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} juicefs\[\d+\] <(INFO|WARNING|ERROR|FATAL)>: .* \[\w+@\w+\.go:\d+\]$`)

func blockFiles(t *testing.T, cache string) (complete, tmp []string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() {
			if strings.HasSuffix(p, ".tmp") {
				tmp = append(tmp, p)
			} else {
				complete = append(complete, p)
			}
		}
		return nil
	}))
	return complete, tmp
}

// standInVolume gives a stand-in volume. These tests are about the stand-in
// itself, so they skip (saying why) when ACCEL_TEST_JUICEFS names a real
// client and testutil.NewVolume would give a real volume.
func standInVolume(t *testing.T, opts ...testutil.VolumeOption) *testutil.Volume {
	t.Helper()
	if bin := os.Getenv(testutil.JuiceFSEnv); bin != "" {
		t.Skipf("this test is about the JuiceFS stand-in itself; %s=%s selects a real client, which it does not test", testutil.JuiceFSEnv, bin)
	}
	return testutil.NewVolume(t, opts...)
}

func TestStandInCLI(t *testing.T) {
	v := standInVolume(t)
	fast := []string{"FAKEJUICEFS_BANDWIDTH=0"}
	ds := v.WriteFiles(t, "ds", 3, 5<<20) // 2 blocks each: 4 MiB + 1 MiB

	out, _, code := runFJ(t, v.Binary, "", nil, "--version")
	require.Equal(t, 0, code)
	require.Equal(t, "juicefs version 1.3.0+fakejuicefs\n", out)
	out, _, code = runFJ(t, v.Binary, "", nil, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "a test double, only built for tests")

	// Relative paths resolve against the working directory.
	out, errs, code := runFJ(t, v.Binary, v.Mount, fast, "warmup", "-p", "2", "ds")
	require.Equal(t, 0, code)
	require.Empty(t, out)
	require.Regexp(t, logLineRE, strings.TrimSpace(errs))
	require.Contains(t, errs, "<INFO>: warmup cache: 3 files (15 MiB bytes) [warmup@warmup.go:309]")
	complete, _ := blockFiles(t, v.CacheDir)
	require.Len(t, complete, 6)
	for _, p := range complete {
		require.Regexp(t, `/raw/chunks/\d+/\d+/\d+_[01]_(4194304|1048576)$`, p)
	}

	// A warm dataset is not re-read: block files are untouched.
	before := map[string]time.Time{}
	for _, p := range complete {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		before[p] = fi.ModTime()
	}
	time.Sleep(20 * time.Millisecond)
	_, _, code = runFJ(t, v.Binary, "", []string{"FAKEJUICEFS_BANDWIDTH=0.01"}, "warmup", ds)
	require.Equal(t, 0, code)
	for p, mt := range before {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, mt, fi.ModTime(), p)
	}

	out, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
	require.Equal(t, 0, code)
	require.Contains(t, errs, "check cache: 3 files checked, 15 MiB of 15 MiB (100.0%) cached [warmup@warmup.go:332]")
	require.Contains(t, out, " Location ")
	require.Contains(t, out, "|     100.0% |")

	// Rewriting a file gives it new slices: it is no longer cached.
	require.NoError(t, os.WriteFile(filepath.Join(ds, "f0000.bin"), bytes.Repeat([]byte("a"), 1<<20), 0o644))
	_, errs, _ = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
	require.Contains(t, errs, "check cache: 3 files checked, 10 MiB of 11 MiB (90.9%) cached")

	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--evict", ds)
	require.Equal(t, 0, code)
	require.Contains(t, errs, "evict cache: 3 files (11 MiB bytes) [warmup@warmup.go:311]")
	out, errs, _ = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
	require.Empty(t, out, "no location table when nothing is cached")
	require.Contains(t, errs, "check cache: 3 files checked, 0 B of 11 MiB (0.0%) cached")

	// Errors as the real client.
	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--check", "--evict", ds)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "<FATAL>: --check and --evict can't be used together")
	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", filepath.Join(v.Mount, "missing"), ds)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "<FATAL>: open control file for "+filepath.Join(v.Mount, "missing"))
	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds, filepath.Join(v.Mount, "missing"))
	require.Equal(t, 0, code, "a later missing path does not fail the command")
	require.Contains(t, errs, "check cache: 3 files checked")
	log, err := os.ReadFile(filepath.Join(v.Mount, ".fakejuicefs", "mount.log"))
	require.NoError(t, err)
	require.Contains(t, string(log), "missing", "the mount log says what was skipped")
	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds, t.TempDir())
	require.Equal(t, 0, code)
	require.Contains(t, errs, "is not under mount point")
	_, errs, code = runFJ(t, v.Binary, "", nil, "clone", ds, ds)
	require.Equal(t, 1, code)
	require.Contains(t, errs, "already exists")
	_, errs, code = runFJ(t, v.Binary, "", nil, "clone", ds, filepath.Join(ds, "sub"))
	require.Equal(t, 1, code)
	require.Contains(t, errs, "should not be under the SRC path")
	_, errs, code = runFJ(t, v.Binary, "", nil, "clone", ds, filepath.Join(t.TempDir(), "x"))
	require.Equal(t, 1, code)
	require.Contains(t, errs, "not inside JuiceFS")

	// Clone: nothing printed, equal info rows, shared blocks.
	out, errs, code = runFJ(t, v.Binary, "", nil, "clone", ds, filepath.Join(v.Mount, "ds2"))
	require.Equal(t, 0, code)
	require.Empty(t, out+errs)
	a, _, _ := runFJ(t, v.Binary, "", nil, "info", "--raw", filepath.Join(ds, "f0001.bin"))
	b, _, _ := runFJ(t, v.Binary, "", nil, "info", "--raw", filepath.Join(v.Mount, "ds2", "f0001.bin"))
	tableOf := func(s string) string { return s[strings.Index(s, " chunks:"):] }
	require.Contains(t, a, " chunks:\n+------------+---------+---------+--------+---------+\n| chunkIndex | sliceId |   size  | offset |  length |\n")
	require.Equal(t, tableOf(a), tableOf(b))
	_, _, code = runFJ(t, v.Binary, "", fast, "warmup", filepath.Join(v.Mount, "ds2", "f0001.bin"))
	require.Equal(t, 0, code)
	_, errs, _ = runFJ(t, v.Binary, "", nil, "warmup", "--check", filepath.Join(ds, "f0001.bin"))
	require.Contains(t, errs, "(100.0%) cached", "warming the clone warms the original")

	// Background: returns at once, the work happens anyway.
	list := filepath.Join(t.TempDir(), "list")
	require.NoError(t, os.WriteFile(list, []byte(ds+"\n"), 0o644))
	_, errs, code = runFJ(t, v.Binary, "", fast, "warmup", "-b", "-f", list)
	require.Equal(t, 0, code)
	require.Contains(t, errs, "warmup cache for 1 paths in background")
	require.Eventually(t, func() bool {
		_, errs, _ := runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
		return strings.Contains(errs, "(100.0%) cached")
	}, 10*time.Second, 50*time.Millisecond)
}

func TestStandInKilledLeavesOnlyCompleteBlocks(t *testing.T) {
	v := standInVolume(t)
	ds := v.WriteFiles(t, "ds", 8, 4<<20)
	cmd := exec.Command(v.Binary, "warmup", "-p", "1", ds)
	cmd.Env = append(os.Environ(), "FAKEJUICEFS_BANDWIDTH=40") // 100 ms per block
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { c, _ := blockFiles(t, v.CacheDir); return len(c) > 0 }, 20*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	complete, _ := blockFiles(t, v.CacheDir)
	require.NotEmpty(t, complete, "some blocks were fetched before the kill")
	require.Less(t, len(complete), 8, "the kill came before the end")
	for _, p := range complete {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		require.Equal(t, int64(4<<20+4*128), fi.Size(), "%s is a complete block (data + CRC per 32 KiB)", p)
	}
	// Warming again completes the rest, re-reading only what is missing.
	_, errs, code := runFJ(t, v.Binary, "", []string{"FAKEJUICEFS_BANDWIDTH=0"}, "warmup", ds)
	require.Equal(t, 0, code)
	require.Contains(t, errs, "warmup cache: 8 files (32 MiB bytes)")
	complete, _ = blockFiles(t, v.CacheDir)
	require.Len(t, complete, 8)
}

func TestStandInFormat(t *testing.T) {
	bin := testutil.Binary(t, "test/fakejuicefs")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	_, errs, code := runFJ(t, bin, "", nil, "format", mnt, "--cache-dir", filepath.Join(dir, "c1")+":"+filepath.Join(dir, "c2"), "--block-size", "1M", "--bandwidth", "0")
	require.Equal(t, 0, code, errs)
	cfg, err := os.ReadFile(filepath.Join(mnt, ".config"))
	require.NoError(t, err)
	var got struct{ Format struct{ UUID string } }
	require.NoError(t, json.Unmarshal(cfg, &got))
	uuid := got.Format.UUID
	require.NotEmpty(t, uuid)
	for _, want := range []string{`"Format": {`, `"BlockSize": 1024,`, `"BlockSize": 1048576,`,
		// As a real mount: each cache dir with the volume UUID appended.
		`"CacheDir": "` + filepath.Join(dir, "c1", uuid) + ":" + filepath.Join(dir, "c2", uuid) + `"`, `"PrometheusAgent": "127.0.0.1:0"`} {
		require.Contains(t, string(cfg), want)
	}
	_, errs, code = runFJ(t, bin, "", nil, "format", mnt, "--cache-dir", filepath.Join(dir, "c1"))
	require.Equal(t, 1, code)
	require.Contains(t, errs, "already a stand-in mount")
	_, _, code = runFJ(t, bin, "", nil, "format", mnt+"2")
	require.Equal(t, 1, code, "--cache-dir is required")

	// Blocks spread over both cache dirs and are all seen by --check.
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "ds"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "ds", "f"), bytes.Repeat([]byte("z"), 16<<20), 0o644))
	_, _, code = runFJ(t, bin, "", nil, "warmup", filepath.Join(mnt, "ds"))
	require.Equal(t, 0, code)
	c1, _ := blockFiles(t, filepath.Join(dir, "c1"))
	c2, _ := blockFiles(t, filepath.Join(dir, "c2"))
	require.Len(t, append(c1, c2...), 16)
	require.NotEmpty(t, c1)
	require.NotEmpty(t, c2)
	_, errs, _ = runFJ(t, bin, "", nil, "warmup", "--check", filepath.Join(mnt, "ds"))
	require.Contains(t, errs, "16 MiB of 16 MiB (100.0%) cached")
}

// The stand-in's .config has every key of a real 1.4.1 mount's .config
// (pkg/jfs/testdata/60_config.json), so code reading it cannot depend on a
// shape only the stand-in has.
func TestStandInConfigHasTheRealShape(t *testing.T) {
	bin := testutil.Binary(t, "test/fakejuicefs")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	_, errs, code := runFJ(t, bin, "", nil, "format", mnt, "--cache-dir", filepath.Join(dir, "cache"))
	require.Equal(t, 0, code, errs)
	read := func(p string) map[string]any {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		return m
	}
	real := read(filepath.Join(testutil.RepoRoot(t), "pkg", "jfs", "testdata", "60_config.json"))
	fake := read(filepath.Join(mnt, ".config"))
	for k, rv := range real {
		fv, ok := fake[k]
		require.True(t, ok, "key %s", k)
		if sub, ok := rv.(map[string]any); ok && k != "FuseOpts" { // FuseOpts: FUSE details the stand-in has no use for
			fsub, ok := fv.(map[string]any)
			require.True(t, ok, "%s is an object", k)
			for k2 := range sub {
				require.Contains(t, fsub, k2, "key %s.%s", k, k2)
			}
		}
	}
	format := fake["Format"].(map[string]any)
	chunk := fake["Chunk"].(map[string]any)
	require.Equal(t, filepath.Join(dir, "cache", format["UUID"].(string)), chunk["CacheDir"])
}

// `warmup --evict` removes only the blocks the same mount wrote since it
// was mounted, as measured on a real 1.4.1 client: after a remount, or for
// blocks it did not write, it prints the same summary and removes nothing.
func TestStandInEvictOnlyWhatThisMountWrote(t *testing.T) {
	v := standInVolume(t)
	fast := []string{"FAKEJUICEFS_BANDWIDTH=0"}
	ds := v.WriteFiles(t, "ds", 3, 5<<20)
	_, _, code := runFJ(t, v.Binary, "", fast, "warmup", ds)
	require.Equal(t, 0, code)
	complete, _ := blockFiles(t, v.CacheDir)
	require.Len(t, complete, 6)

	_, errs, code := runFJ(t, v.Binary, "", nil, "mount", v.Mount)
	require.Equal(t, 0, code, errs)
	require.Contains(t, errs, "remounted")
	_, errs, code = runFJ(t, v.Binary, "", nil, "warmup", "--evict", ds)
	require.Equal(t, 0, code)
	require.Contains(t, errs, "evict cache: 3 files (15 MiB bytes)", "the summary says nothing about what was removed")
	after, _ := blockFiles(t, v.CacheDir)
	require.Equal(t, complete, after, "a remounted client does not evict blocks it did not write")
	_, errs, _ = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
	require.Contains(t, errs, "(100.0%) cached")

	// Blocks this mount writes after the remount, it evicts.
	require.NoError(t, os.WriteFile(filepath.Join(ds, "f0001.bin"), bytes.Repeat([]byte("n"), 1<<20), 0o644))
	_, _, code = runFJ(t, v.Binary, "", fast, "warmup", ds)
	require.Equal(t, 0, code)
	_, _, code = runFJ(t, v.Binary, "", nil, "warmup", "--evict", ds)
	require.Equal(t, 0, code)
	_, errs, _ = runFJ(t, v.Binary, "", nil, "warmup", "--check", ds)
	require.Contains(t, errs, "10 MiB of 11 MiB (90.9%) cached", "only the rewritten file's new block was evicted")
}

// --hash-prefix gives the HashPrefix block layout.
func TestStandInHashPrefixLayout(t *testing.T) {
	bin := testutil.Binary(t, "test/fakejuicefs")
	dir := t.TempDir()
	mnt, cache := filepath.Join(dir, "mnt"), filepath.Join(dir, "cache")
	_, errs, code := runFJ(t, bin, "", nil, "format", mnt, "--cache-dir", cache, "--hash-prefix", "--bandwidth", "0")
	require.Equal(t, 0, code, errs)
	cfg, err := os.ReadFile(filepath.Join(mnt, ".config"))
	require.NoError(t, err)
	require.Contains(t, string(cfg), `"HashPrefix": true`)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "f"), bytes.Repeat([]byte("h"), 5<<20), 0o644))
	_, _, code = runFJ(t, bin, "", nil, "warmup", filepath.Join(mnt, "f"))
	require.Equal(t, 0, code)
	complete, _ := blockFiles(t, cache)
	require.Len(t, complete, 2)
	for _, p := range complete {
		require.Regexp(t, `/raw/chunks/01/0/1_[01]_(4194304|1048576)$`, p)
	}
}

// Like JuiceFS, only new data makes new slices: restoring an older mtime
// keeps a clone's shared slices; rewriting the content (same size) does not.
func TestTouchKeepsSlicesRewriteDoesNot(t *testing.T) {
	bin := testutil.Binary(t, "test/fakejuicefs")
	root := t.TempDir()
	mnt, cache := filepath.Join(root, "mnt"), filepath.Join(root, "cache")
	out, err := exec.Command(bin, "format", mnt, "--cache-dir", cache).CombinedOutput()
	require.NoError(t, err, "%s", out)
	src, dst := filepath.Join(mnt, "a"), filepath.Join(mnt, "b")
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(src, data, 0o644))
	out, err = exec.Command(bin, "clone", src, dst).CombinedOutput()
	require.NoError(t, err, "%s", out)
	rows := func(p string) string {
		out, err := exec.Command(bin, "info", "--raw", p).Output()
		require.NoError(t, err)
		return string(out[strings.Index(string(out), "chunkIndex"):])
	}
	require.Equal(t, rows(src), rows(dst))
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, os.Chtimes(dst, old, old))
	require.Equal(t, rows(src), rows(dst), "a touch keeps the shared slices")
	data[1<<20] ^= 0xff
	require.NoError(t, os.WriteFile(dst, data, 0o644))
	require.NoError(t, os.Chtimes(dst, old.Add(time.Hour), old.Add(time.Hour)))
	require.NotEqual(t, rows(src), rows(dst), "new data makes new slices")
}

// Commands run at once (warmupd checks several datasets while warming
// another) each record the files they name in their own transaction on the
// metadata database: no slice id is given twice, and no file is lost.
func TestConcurrentCommandsGetDistinctSlices(t *testing.T) {
	bin := testutil.Binary(t, "test/fakejuicefs")
	root := t.TempDir()
	mnt, cache := filepath.Join(root, "mnt"), filepath.Join(root, "cache")
	out, err := exec.Command(bin, "format", mnt, "--cache-dir", cache, "--bandwidth", "0").CombinedOutput()
	require.NoError(t, err, "%s", out)
	const dirs, files = 6, 25
	var paths []string
	for d := range dirs {
		require.NoError(t, os.MkdirAll(filepath.Join(mnt, fmt.Sprint("d", d)), 0o755))
		for f := range files {
			p := filepath.Join(mnt, fmt.Sprint("d", d), fmt.Sprint("f", f))
			require.NoError(t, os.WriteFile(p, []byte(p), 0o644))
			paths = append(paths, p)
		}
	}
	errs := make(chan error, dirs)
	for d := range dirs {
		args := []string{"warmup", filepath.Join(mnt, fmt.Sprint("d", d))}
		if d%2 == 1 {
			args = append(args, "--check")
		}
		go func() {
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%v: %w\n%s", args, err, out)
			}
			errs <- err
		}()
	}
	for range dirs {
		require.NoError(t, <-errs)
	}
	out, err = exec.Command(bin, append([]string{"info", "--raw"}, paths...)...).Output()
	require.NoError(t, err)
	ids := regexp.MustCompile(`(?m)^\|\s+0 \|\s+(\d+) \|`).FindAllStringSubmatch(string(out), -1)
	require.Len(t, ids, len(paths), "one slice per file:\n%s", out)
	seen := map[string]bool{}
	for _, m := range ids {
		require.False(t, seen[m[1]], "slice %s given twice", m[1])
		seen[m[1]] = true
	}
	out, err = exec.Command(bin, "warmup", "--check", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), fmt.Sprintf("check cache: %d files checked", len(paths)))
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// These tests drive a FUSE mount: the stand-in made testutil.WithFUSE, or a
// real client when ACCEL_TEST_JUICEFS names one; they assert only what a
// real 1.4 client does too.

// The access log line of a real 1.4 client (pkg/jfs/testdata/12_accesslog.txt,
// 62_accesslog_lookup_read.txt): "<time> [uid:U,gid:G,pid:P] <op> <args>: <result> - OK <seconds>".
var (
	accessLineRE = regexp.MustCompile(`^(\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\.\d{6}) \[uid:(\d+),gid:(\d+),pid:(\d+)\] (\w+) (.*) - (OK|[a-z][a-z ]*) <(\d+\.\d{6})>$`)
	attrsRE      = `\[[-dlcbps][-rwxsStT]{9}:0[0-7]{6},\d+,\d+,\d+,\d+,\d+,\d+,\d+\]`
	// accessOpRE is the part after the op name, per op; submatches are numbers.
	accessOpRE = map[string]*regexp.Regexp{
		"lookup":     regexp.MustCompile(`^\((\d+),(.+)\): \((\d+),` + attrsRE + `\)$`),
		"getattr":    regexp.MustCompile(`^\((\d+)\): \((\d+),` + attrsRE + `\)$`),
		"open":       regexp.MustCompile(`^\((\d+),0x[0-9a-f]+\) \[fh:(\d+)\]$`),
		"read":       regexp.MustCompile(`^\((\d+),(\d+),(\d+),(\d+)\): \((\d+)\)$`),
		"flush":      regexp.MustCompile(`^\((\d+),(\d+),[0-9A-F]{16}\)$`),
		"release":    regexp.MustCompile(`^\((\d+),(\d+)\)$`),
		"opendir":    regexp.MustCompile(`^\((\d+)\) \[fh:(\d+)\]$`),
		"readdir":    regexp.MustCompile(`^\((\d+),(\d+),(\d+),(true|false)\): \((\d+)\)$`),
		"releasedir": regexp.MustCompile(`^\((\d+)\)$`),
	}
)

// accessLine is one parsed access log line.
type accessLine struct {
	pid  int
	op   string
	args []string // the op's submatches
}

func parseAccessLine(line string) (accessLine, error) {
	m := accessLineRE.FindStringSubmatch(line)
	if m == nil {
		return accessLine{}, fmt.Errorf("not an access log line: %q", line)
	}
	re, ok := accessOpRE[m[5]]
	if !ok {
		return accessLine{}, fmt.Errorf("op %q has no pattern: %q", m[5], line)
	}
	a := re.FindStringSubmatch(m[6])
	if a == nil {
		return accessLine{}, fmt.Errorf("%s line does not match %s: %q", m[5], re, line)
	}
	pid, _ := strconv.Atoi(m[4])
	return accessLine{pid: pid, op: m[5], args: a[1:]}, nil
}

// parseLogged parses one line of v's access log, failing the test on a
// line it cannot read. A real client mounted --enable-xattr also logs the
// getxattr of `ls -l` (security.selinux), which the samples' mount had off:
// on a real client only, an op the samples do not show needs only the
// line's shape, and ok is false (the caller skips the line).
func parseLogged(t *testing.T, v *testutil.Volume, l string) (a accessLine, ok bool) {
	t.Helper()
	if m := accessLineRE.FindStringSubmatch(l); v.Real && m != nil && accessOpRE[m[5]] == nil {
		return accessLine{}, false
	}
	a, err := parseAccessLine(l)
	require.NoError(t, err)
	return a, true
}

func fuseVolume(t *testing.T) *testutil.Volume {
	t.Helper()
	return testutil.NewVolume(t, testutil.WithFUSE())
}

// stats reads <mnt>/.stats ("name value" lines).
func stats(t *testing.T, mnt string) map[string]float64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mnt, ".stats"))
	require.NoError(t, err)
	out := map[string]float64{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, l)
			out[k] = f
		}
	}
	return out
}

func delta(after, before map[string]float64, name string) float64 { return after[name] - before[name] }

// readUncached reads the file through the mount, first dropping its pages
// from the kernel's page cache so the reads reach the mount process.
func readUncached(t *testing.T, p string) int64 {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED))
	n, err := io.Copy(io.Discard, f)
	require.NoError(t, err)
	return n
}

func requireCached(t *testing.T, v *testutil.Volume, p string) {
	t.Helper()
	d := &jfs.Driver{Binary: v.Binary}
	require.Eventually(t, func() bool { // a real client writes cache blocks asynchronously
		r, err := d.Check(context.Background(), []string{p})
		require.NoError(t, err)
		return r.Ratio >= jfs.MaxRoundedRatio
	}, 20*time.Second, 100*time.Millisecond, "%s is in the cache after a read through the mount", p)
}

// A cold read is throttled to the download bandwidth, fills the cache and
// counts as misses and object GET bytes; a second read is all hits.
func TestFUSEColdReadFillsTheCacheSecondReadHits(t *testing.T) {
	const mibps, size = 8, 24 << 20 // 3 s at the bandwidth
	t.Setenv(testutil.BandwidthEnv, strconv.Itoa(mibps))
	v := fuseVolume(t)
	f := filepath.Join(v.WriteFiles(t, "ds", 1, size), "f0000.bin")

	before := stats(t, v.Mount)
	start := time.Now()
	require.EqualValues(t, size, readUncached(t, f))
	took := time.Since(start)
	// A lower bound only (a loaded machine is slower, never faster): the
	// bandwidth, less a real client's one-second burst allowance.
	require.GreaterOrEqual(t, took, time.Duration(float64(size)/(mibps<<20)*float64(time.Second))-time.Second-200*time.Millisecond,
		"a cold read of %d MiB at %d MiB/s", size>>20, mibps)
	cold := stats(t, v.Mount)
	// A real client counts a read of a block that its read-ahead has just
	// fetched as a hit: there only some of the bytes need count as misses.
	if v.Real {
		require.Positive(t, delta(cold, before, "juicefs_blockcache_miss_bytes"))
	} else {
		require.GreaterOrEqual(t, delta(cold, before, "juicefs_blockcache_miss_bytes"), float64(size))
	}
	require.GreaterOrEqual(t, delta(cold, before, "juicefs_object_request_data_bytes_GET"), float64(size))
	require.Positive(t, delta(cold, before, "juicefs_blockcache_miss"))
	requireCached(t, v, f)

	warm := stats(t, v.Mount)
	require.EqualValues(t, size, readUncached(t, f))
	after := stats(t, v.Mount)
	require.GreaterOrEqual(t, delta(after, warm, "juicefs_blockcache_hit_bytes"), float64(size))
	require.Zero(t, delta(after, warm, "juicefs_blockcache_miss_bytes"), "a warm read misses nothing")
	require.Zero(t, delta(after, warm, "juicefs_object_request_data_bytes_GET"), "a warm read fetches nothing")
}

// Two mounts of one volume share the cache directory: blocks one mount
// fetched are hits on the other at once (--cache-scan-interval=-1).
func TestFUSETwoMountsShareTheCache(t *testing.T) {
	v := fuseVolume(t)
	f := filepath.Join(v.WriteFiles(t, "ds", 2, 5<<20), "f0001.bin")
	mnt2 := v.MountAgain(t)
	f2 := filepath.Join(mnt2, "ds", "f0001.bin")

	readUncached(t, f)
	requireCached(t, v, f)
	v.WaitBlocksWritten(t, f) // mount 1's check counts blocks still in its memory; mnt2 looks at the disk
	before := stats(t, mnt2)
	require.EqualValues(t, 5<<20, readUncached(t, f2))
	after := stats(t, mnt2)
	require.GreaterOrEqual(t, delta(after, before, "juicefs_blockcache_hit_bytes"), float64(5<<20))
	require.Zero(t, delta(after, before, "juicefs_blockcache_miss_bytes"), "the other mount's blocks are hits")
	require.Zero(t, delta(after, before, "juicefs_object_request_data_bytes_GET"))
}

// logTail reads <mnt>/.accesslog in the background and hands out lines.
type logTail struct {
	f     *os.File
	lines chan string
}

func tailAccessLog(t *testing.T, mnt string) *logTail {
	t.Helper()
	f, err := os.Open(filepath.Join(mnt, ".accesslog"))
	require.NoError(t, err)
	lt := &logTail{f: f, lines: make(chan string, 1<<16)}
	go func() {
		defer close(lt.lines)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lt.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { f.Close() })
	return lt
}

// until collects lines until done says so (or 20 s pass, then fails).
func (lt *logTail) until(t *testing.T, done func([]string) bool) []string {
	t.Helper()
	var got []string
	timeout := time.After(20 * time.Second)
	for !done(got) {
		select {
		case l, ok := <-lt.lines:
			require.True(t, ok, "the access log ended")
			got = append(got, l)
		case <-timeout:
			require.FailNow(t, "the access log did not show what was expected", "got:\n%s", strings.Join(got, "\n"))
		}
	}
	return got
}

// catThrough runs cat on a path (a process of its own, whose pid the access
// log must show) and returns its pid.
func catThrough(t *testing.T, p string) int {
	t.Helper()
	cmd := exec.Command("cat", p)
	cmd.Stdout = io.Discard
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// The access log shows a reader's lookups (from the root, inode 1, so paths
// can be rebuilt), open and reads with its pid, in a real client's format.
func TestFUSEAccessLogShowsLookupsAndReadsWithThePid(t *testing.T) {
	v := fuseVolume(t)
	v.WriteFiles(t, "ds/train", 1, 300<<10)
	// A second mount has never looked the names up: its log shows the lookups.
	mnt2 := v.MountAgain(t)
	lt := tailAccessLog(t, mnt2)
	pid := catThrough(t, filepath.Join(mnt2, "ds", "train", "f0000.bin"))

	var parsed []accessLine
	var bytesRead int64
	lt.until(t, func(got []string) bool {
		if len(got) > len(parsed) {
			l := got[len(got)-1]
			if l == "#" {
				parsed = append(parsed, accessLine{op: "#"})
				return false
			}
			a, ok := parseLogged(t, v, l)
			if !ok {
				parsed = append(parsed, accessLine{op: "#"})
				return false
			}
			parsed = append(parsed, a)
			if a.op == "read" && a.pid == pid {
				n, _ := strconv.ParseInt(a.args[4], 10, 64)
				bytesRead += n
			}
		}
		return bytesRead >= 300<<10
	})
	// Rebuild the path of the inode read from the lookup lines.
	names := map[string]string{"1": ""}
	var readIno string
	opened := false
	for _, a := range parsed {
		if a.pid != pid {
			continue
		}
		switch a.op {
		case "lookup":
			require.Contains(t, names, a.args[0], "lookups go down from the root")
			names[a.args[2]] = names[a.args[0]] + "/" + a.args[1]
		case "open":
			opened = true
		case "read":
			readIno = a.args[0]
		}
	}
	require.True(t, opened, "the reader's open is logged with its pid")
	require.Equal(t, "/ds/train/f0000.bin", names[readIno], "the read inode's path, from the lookup lines")

	// An inode the lookups did not show: `juicefs info -i INODE` inside the mount.
	info := exec.Command(v.Binary, "info", "-i", readIno)
	info.Dir = mnt2
	out, err := info.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `(?m)^\s+inode: `+readIno+`\n(.*\n)*\s+path: /ds/train/f0000.bin$`, string(out))
}

// Lines of the stand-in parse with the patterns that the real samples
// satisfy, for every op the samples show.
func TestFUSEAccessLogFormatMatchesRealSamples(t *testing.T) {
	realOps := map[string]bool{}
	for _, name := range []string{"12_accesslog.txt", "62_accesslog_lookup_read.txt"} {
		data, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pkg", "jfs", "testdata", name))
		require.NoError(t, err)
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if strings.HasPrefix(l, "$ ") || strings.HasPrefix(l, "[exit=") || l == "#" { // the sample's command and exit status
				continue
			}
			a, err := parseAccessLine(l)
			require.NoError(t, err, name)
			realOps[a.op] = true
		}
	}
	require.Len(t, realOps, len(accessOpRE), "every pattern is checked against a real line")

	v := fuseVolume(t)
	v.WriteFiles(t, "ds", 2, 200<<10)
	mnt2 := v.MountAgain(t)
	lt := tailAccessLog(t, mnt2)
	cmd := exec.Command("sh", "-c", `ls -la "$1" >/dev/null && cat "$1"/f0000.bin >/dev/null && stat "$1"/f0001.bin >/dev/null`, "sh",
		filepath.Join(mnt2, "ds"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	// An fstat after the attribute cache (1 s) expired asks the mount: getattr.
	g, err := os.Open(filepath.Join(mnt2, "ds", "f0001.bin"))
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	_, err = g.Stat()
	require.NoError(t, err)
	require.NoError(t, g.Close())
	seen := map[string]bool{}
	lt.until(t, func(got []string) bool {
		if len(got) == 0 {
			return false
		}
		if l := got[len(got)-1]; l != "#" {
			if a, ok := parseLogged(t, v, l); ok {
				seen[a.op] = true
			}
		}
		return len(seen) == len(realOps)
	})
	require.Equal(t, realOps, seen)
}

// A reader that does not keep up loses lines beyond its 10 240-line buffer;
// the mount's op counters (juicefs_fuse_ops_total_* in .stats) still count
// them, so a reader detects the drop by comparing.
func TestFUSEAccessLogDropsLinesOfASlowReader(t *testing.T) {
	const buffer = 10240
	v := fuseVolume(t)
	f := filepath.Join(v.WriteFiles(t, "ds", 1, 4096), "f0000.bin")
	ops := func(s map[string]float64) (n float64) {
		for k, v := range s {
			if strings.HasPrefix(k, "juicefs_fuse_ops_total_") {
				n += v
			}
		}
		return n
	}
	before := ops(stats(t, v.Mount))
	log, err := os.Open(filepath.Join(v.Mount, ".accesslog"))
	require.NoError(t, err)
	defer log.Close()
	for range 5000 { // open, flush, release: ≥ 15 000 lines, unread meanwhile
		g, err := os.Open(f)
		require.NoError(t, err)
		require.NoError(t, g.Close())
	}
	seen := 0
	r := bufio.NewReader(log)
	for {
		l, err := r.ReadString('\n')
		require.NoError(t, err)
		if l == "#\n" { // a second without lines: the buffer is drained
			break
		}
		seen++
	}
	total := ops(stats(t, v.Mount)) - before
	require.GreaterOrEqual(t, total, float64(3*5000))
	require.LessOrEqual(t, seen, buffer+100, "no more than the buffer (and the few lines logged while draining it)")
	require.Greater(t, total-float64(seen), float64(3*5000-buffer-100), "the drop shows as ops counted but never seen")
}

// `mount -d` leaves a daemon (its pid in .config, not a child of the
// caller); `umount` ends it and the mount.
func TestFUSEMountIsADaemonThatUmountEnds(t *testing.T) {
	v := fuseVolume(t)
	mnt := v.MountAgain(t)
	pid := mountPid(mnt)
	require.Positive(t, pid, "the mount process's pid is in .config")
	require.True(t, alive(pid))
	fields := testutil.ProcStat(pid)
	require.NotEmpty(t, fields)
	require.NotEqual(t, strconv.Itoa(os.Getpid()), fields[1], "the daemon is not the test's child")
	mounts, err := os.ReadFile("/proc/self/mounts")
	require.NoError(t, err)
	require.Contains(t, string(mounts), " "+mnt+" fuse.juicefs ")

	out, err := exec.Command(v.Binary, "umount", mnt).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 10*time.Millisecond, "umount ends the mount process")
	mounts, err = os.ReadFile("/proc/self/mounts")
	require.NoError(t, err)
	require.NotContains(t, string(mounts), " "+mnt+" ")
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(mnt, &st))
}

package jfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func sample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

func TestParseCheckSummaryOnRealSamples(t *testing.T) {
	for _, tc := range []struct {
		file               string
		files, total, cach int64
		ratio              float64
	}{
		// "100.0%" of 499 MiB may be 99.95 %: never read as 1.
		{"04_check_after_write.txt", 200, 499 << 20, 522977804, MaxRoundedRatio},
		{"06_check_after_evict.txt", 200, 499 << 20, 0, 0},
		{"08_check_after_warmup.txt", 200, 499 << 20, 522977804, MaxRoundedRatio},
		{"42_mnt2noscan_check_ds3_after_evict.txt", 50, 124 << 20, 0, 0},
		// 87.3% of 124 MiB: cached bytes come from the precise percentage, not the rounded "109 MiB".
		{"44_mnt2noscan_check_ds3_after_mnt1_warmup.txt", 50, 124 << 20, 113510449, 0.873},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r, err := ParseCheckSummary(sample(t, tc.file))
			require.NoError(t, err)
			require.Equal(t, tc.files, r.Files)
			require.Equal(t, tc.total, r.TotalBytes)
			require.InDelta(t, tc.ratio, r.Ratio, 1e-9)
			require.Equal(t, tc.cach, r.CachedBytes)
		})
	}
}

func TestParseWarmupAndEvictSummaryOnRealSamples(t *testing.T) {
	s, err := ParseWarmupSummary(sample(t, "07_warmup.txt"))
	require.NoError(t, err)
	require.Equal(t, &Summary{Files: 200, Bytes: 499 << 20}, s)

	s, err = ParseEvictSummary(sample(t, "05_evict.txt"))
	require.NoError(t, err)
	require.Equal(t, &Summary{Files: 200, Bytes: 499 << 20}, s)

	// A warmup line is not an evict line and vice versa.
	_, err = ParseEvictSummary(sample(t, "07_warmup.txt"))
	require.ErrorIs(t, err, ErrNoSummary)
	_, err = ParseWarmupSummary(sample(t, "05_evict.txt"))
	require.ErrorIs(t, err, ErrNoSummary)
}

func TestParseCheckSummary12Form(t *testing.T) {
	line := "2024/03/01 10:00:00.000000 juicefs[123] <INFO>: check cache: 12 files (1.5 GiB of 3.0 GiB (50.0%)) cached [warmup@warmup.go:301]\n"
	r, err := ParseCheckSummary(line)
	require.NoError(t, err)
	require.Equal(t, int64(12), r.Files)
	require.Equal(t, int64(3<<30), r.TotalBytes)
	require.Equal(t, int64(3<<30)/2, r.CachedBytes)
	require.InDelta(t, 0.5, r.Ratio, 1e-12)

	r, err = ParseCheckSummary("juicefs[1] <INFO>: check cache: 0 files (0 B of 0 B (0.0%)) cached\n")
	require.NoError(t, err)
	require.Equal(t, &CheckResult{}, r)
}

// --check rounds its percentage to nearest: "100.0%" can be 99.96 %. Sizes
// printed in bytes (below 1 KiB) are exact and give the exact ratio.
func TestParseCheckSummaryNeverPromisesAllFromARoundedFigure(t *testing.T) {
	line := func(c, tot, pct string) string {
		return "2026/12/01 10:00:00.000000 juicefs[1] <INFO>: check cache: 3 files checked, " + c + " of " + tot + " (" + pct + ") cached [warmup@warmup.go:332]\n"
	}
	// 99.96 % of 2 GiB prints as "2.0 GiB of 2.0 GiB (100.0%)".
	r, err := ParseCheckSummary(line("2.0 GiB", "2.0 GiB", "100.0%"))
	require.NoError(t, err)
	require.Less(t, r.Ratio, 1.0, "a rounded 100.0% is not all")
	require.Equal(t, MaxRoundedRatio, r.Ratio)
	require.Less(t, r.CachedBytes, r.TotalBytes)

	// Exact sizes: exact ratio, 1 only when everything is cached.
	r, err = ParseCheckSummary(line("1000 B", "1000 B", "100.0%"))
	require.NoError(t, err)
	require.Equal(t, 1.0, r.Ratio)
	require.Equal(t, int64(1000), r.CachedBytes)
	r, err = ParseCheckSummary(line("999 B", "1000 B", "99.9%"))
	require.NoError(t, err)
	require.InDelta(t, 0.999, r.Ratio, 1e-12)
	require.Equal(t, int64(999), r.CachedBytes)
	r, err = ParseCheckSummary(line("1023 B", "1023 B", "100.0%"))
	require.NoError(t, err)
	require.Equal(t, 1.0, r.Ratio)

	// Other percentages are taken as printed.
	r, err = ParseCheckSummary(line("109 MiB", "124 MiB", "87.3%"))
	require.NoError(t, err)
	require.InDelta(t, 0.873, r.Ratio, 1e-12)
}

func TestParseSummaryGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"garbage\n",
		"2026/11/25 00:41:01.696180 juicefs[22138] <INFO>: warmup cache: some files\n",
		"check cache: 200 files checked, 499 MiB of 499 MiB cached\n", // no percentage
	} {
		_, err := ParseCheckSummary(in)
		require.ErrorIs(t, err, ErrNoSummary, "input %q", in)
		_, err = ParseWarmupSummary(in)
		require.ErrorIs(t, err, ErrNoSummary, "input %q", in)
	}
	// A summary line with a size we cannot read is an error, but not ErrNoSummary.
	_, err := ParseWarmupSummary("warmup cache: 3 files (12 XB bytes)")
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrNoSummary)
	_, err = ParseCheckSummary("check cache: 3 files checked, 1 MiB of 2 MiB (150.0%) cached")
	require.Error(t, err)
}

func TestParseIBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"0 B": 0, "7 B": 7, "1023 B": 1023, "1.0 KiB": 1024, "499 MiB": 499 << 20,
		"1.5 GiB": 3 << 29, "2.0 TiB": 2 << 40, "1.0 PiB": 1 << 50, "9.5 MiB": 9961472,
	} {
		got, err := ParseIBytes(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "MiB", "1 MB", "x MiB", "-1 B", "1 2 3"} {
		_, err := ParseIBytes(in)
		require.Error(t, err, in)
	}
}

func TestParseFatal(t *testing.T) {
	line := "2026/11/25 00:41:01.000000 juicefs[1] <FATAL>: open control file for /jfs/nope: stat /jfs/nope: no such file or directory [main@main.go:31]\n"
	require.Equal(t, "open control file for /jfs/nope: stat /jfs/nope: no such file or directory", ParseFatal(line))
	require.Equal(t, "", ParseFatal(sample(t, "07_warmup.txt")))
}

func TestParseInfoRaw(t *testing.T) {
	// The objects table of plain `juicefs info` (6 columns) yields no slice rows.
	require.Empty(t, ParseInfoRaw(sample(t, "10b_info_file.txt")))
	require.Empty(t, ParseInfoRaw(sample(t, "10_info_dir.txt")))

	raw := strings.Join([]string{
		"/jfs/ds1/big.bin :",
		"  inode: 3",
		" chunks:",
		"+------------+---------+----------+--------+----------+",
		"| chunkIndex | sliceId |   size   | offset |  length  |",
		"+------------+---------+----------+--------+----------+",
		"|          0 |       7 | 67108864 |      0 | 67108864 |",
		"|          1 |       8 |  1048576 |   4096 |   524288 |",
		"+------------+---------+----------+--------+----------+",
	}, "\n")
	require.Equal(t, []SliceRow{
		{ChunkIndex: 0, SliceID: 7, Size: 67108864, Offset: 0, Length: 67108864},
		{ChunkIndex: 1, SliceID: 8, Size: 1048576, Offset: 4096, Length: 524288},
	}, ParseInfoRaw(raw))
}

func TestParseStatsOnRealSamples(t *testing.T) {
	before, err := ParseStats(strings.NewReader(sample(t, "11a_stats_before_read.txt")))
	require.NoError(t, err)
	after, err := ParseStats(strings.NewReader(sample(t, "11b_stats_after_read.txt")))
	require.NoError(t, err)
	require.Equal(t, 4.0, before["juicefs_blockcache_hits"])
	require.Equal(t, 0.0, before["juicefs_blockcache_miss"])
	require.Equal(t, 2.0, after["juicefs_blockcache_miss"])
	require.Equal(t, 1515532.0, after["juicefs_blockcache_miss_bytes"])

	_, err = ParseStats(strings.NewReader("juicefs_x 1\nnot a stats line\n"))
	require.ErrorContains(t, err, "line 2")
	_, err = ParseStats(strings.NewReader("juicefs_x one\n"))
	require.Error(t, err)
}

func TestReadStats(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".stats"), []byte(sample(t, "11b_stats_after_read.txt")), 0o644))
	m, err := ReadStats(dir)
	require.NoError(t, err)
	require.Equal(t, 6.0, m["juicefs_blockcache_hits"])
	_, err = ReadStats(t.TempDir())
	require.ErrorContains(t, err, "is a JuiceFS volume mounted")
}

// testdata/60_config.json is a whole .config of a real 1.4.1 mount: its
// Chunk.CacheDir already ends in the volume UUID.
func TestParseMountConfigReal(t *testing.T) {
	mc, err := ParseMountConfig([]byte(sample(t, "60_config.json")))
	require.NoError(t, err)
	require.Equal(t, "perfvol", mc.Name)
	require.Equal(t, "8564cb6e-a3cf-485c-a5c9-2a3b7964f65c", mc.UUID)
	require.Equal(t, []string{"/beegfs/jfscache/8564cb6e-a3cf-485c-a5c9-2a3b7964f65c"}, mc.CacheDirs,
		"the cache dir of .config is where the blocks are: the UUID is already appended")
	require.False(t, mc.Memory)
	require.False(t, mc.HashPrefix)
	require.Equal(t, int64(4<<20), mc.BlockSize)
	require.Equal(t, "127.0.0.1:9567", mc.MetricsAddr)
	require.Equal(t, "1.4.1+2026-07-30.0b90c7db5", mc.Version)

	// Several cache dirs (each with the UUID), HashPrefix from Format or Chunk.
	mc, err = ParseMountConfig([]byte(`{"Format":{"Name":"v","UUID":"u","BlockSize":4096,"HashPrefix":true},
		"Chunk":{"CacheDir":"/a/u:/b/u","BlockSize":4194304}}`))
	require.NoError(t, err)
	require.Equal(t, []string{"/a/u", "/b/u"}, mc.CacheDirs)
	require.True(t, mc.HashPrefix)
	mc, err = ParseMountConfig([]byte(`{"Format":{"Name":"v","UUID":"u"},"Chunk":{"CacheDir":"/a/u","HashPrefix":true}}`))
	require.NoError(t, err)
	require.True(t, mc.HashPrefix)

	// A memory cache has no block directories.
	mc, err = ParseMountConfig([]byte(`{"Format":{"Name":"v","UUID":"u"},"Chunk":{"CacheDir":"memory","CacheSize":104857600}}`))
	require.NoError(t, err)
	require.True(t, mc.Memory)
	require.Empty(t, mc.CacheDirs)
	require.Empty(t, mc.BlockDirs())

	// Format.BlockSize (KiB) is used when Chunk has none.
	mc, err = ParseMountConfig([]byte(`{"Format":{"Name":"v","UUID":"u","BlockSize":1024}}`))
	require.NoError(t, err)
	require.Equal(t, int64(1<<20), mc.BlockSize)

	for _, bad := range []string{`{}`, `{"Format":{"Name":"v"}}`, `not json`, `{"Meta":{}}`} {
		_, err := ParseMountConfig([]byte(bad))
		require.Error(t, err, bad)
	}
}

// A cache dir may be a glob pattern; BlockDirs expands it like JuiceFS.
func TestMountConfigBlockDirsExpandsGlobs(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"data1/jfs/u", "data2/jfs/u", "other/u"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	mc := &MountConfig{CacheDirs: []string{filepath.Join(root, "data*", "jfs", "u"), filepath.Join(root, "plain", "u")}}
	require.Equal(t, []string{filepath.Join(root, "data1/jfs/u"), filepath.Join(root, "data2/jfs/u"), filepath.Join(root, "plain", "u")}, mc.BlockDirs())
}

func TestParseMountinfoAndFindMount(t *testing.T) {
	mi := "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
		"40 22 0:40 / /jfs\\040data rw,relatime shared:20 - fuse.juicefs JuiceFS:testvol rw,user_id=0\n" +
		"41 22 0:41 / /jfs rw,relatime shared:21 - fuse.juicefs JuiceFS:other rw\n" +
		"garbage line\n"
	ents, err := ParseMountinfo(strings.NewReader(mi))
	require.NoError(t, err)
	require.Equal(t, []MountEntry{
		{MountPoint: "/", FSType: "ext4", Source: "/dev/sda1"},
		{MountPoint: "/jfs data", FSType: "fuse.juicefs", Source: "JuiceFS:testvol"},
		{MountPoint: "/jfs", FSType: "fuse.juicefs", Source: "JuiceFS:other"},
	}, ents)

	p := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(p, []byte(mi), 0o644))
	old := MountinfoPath
	MountinfoPath = p
	t.Cleanup(func() { MountinfoPath = old })
	m, err := FindMount("/jfs data/ds1/f.bin")
	require.NoError(t, err)
	require.Equal(t, "/jfs data", m)
	m, err = FindMount("/jfs/ds1")
	require.NoError(t, err)
	require.Equal(t, "/jfs", m)
	_, err = FindMount("/jfsx/ds1") // a name prefix is not a parent
	require.ErrorContains(t, err, "is not inside a JuiceFS mount")
}

// The path and exact length of `juicefs info` (real 1.4.1 samples).
func TestParseInfoPath(t *testing.T) {
	p, n, ok := ParseInfoPath(sample(t, "10b_info_file.txt"))
	require.True(t, ok)
	require.Equal(t, "ds1/f000.bin", p)
	require.Equal(t, int64(3730526), n)
	p, _, ok = ParseInfoPath(sample(t, "10_info_dir.txt"))
	require.True(t, ok)
	require.Equal(t, "ds1", p)
	_, _, ok = ParseInfoPath("2026/11/25 00:41:01.696180 juicefs[1] <ERROR>: lookup inode 99: no such file or directory\n")
	require.False(t, ok)
}

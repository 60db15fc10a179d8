package dedup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func bigData(seed byte, n int) string {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return string(b)
}

func scanTree(t *testing.T, tr tree, opts Options) (*Report, string) {
	t.Helper()
	root := t.TempDir()
	tr.build(t, root)
	opts.Log = zerolog.New(zerolog.NewTestWriter(t))
	r, err := Scan(context.Background(), []string{root}, opts)
	require.NoError(t, err)
	return r, root
}

func TestScanFindsOnlyByteEqualFiles(t *testing.T) {
	big := bigData(1, 300_000)
	// same size and same first KiB as big, differs in the last byte
	lateDiff := big[:len(big)-1] + string(big[len(big)-1]^0xff)
	// same size as big, differs in the first KiB
	earlyDiff := string(big[0]^1) + big[1:]
	tr := tree{
		"a/big1":      {Data: big},
		"b/big2":      {Data: big},
		"b/deep/big3": {Data: big},
		"c/lateDiff":  {Data: lateDiff},
		"c/earlyDiff": {Data: earlyDiff},
		"small/x":     {Data: "hello"},
		"small/y":     {Data: "hello"},
		"small/z":     {Data: "hellp"},
		"empty1":      {Data: ""},
		"empty2":      {Data: ""},
		"sym":         {Symlink: "a/big1"},
		"fifo":        {FIFO: true},
		"unique":      {Data: bigData(9, 5000)},
		"kib/exact1":  {Data: bigData(3, PrefixSize)},
		"kib/exact2":  {Data: bigData(3, PrefixSize)},
		"kib/plus1a":  {Data: bigData(4, PrefixSize+1)},
		"kib/plus1b":  {Data: bigData(4, PrefixSize+1)},
	}
	r, root := scanTree(t, tr, Options{})
	require.Equal(t, [][]string{
		{"a/big1", "b/big2", "b/deep/big3"},
		{"kib/exact1", "kib/exact2"},
		{"kib/plus1a", "kib/plus1b"},
		{"small/x", "small/y"},
	}, groupPaths(r, root, StateDuplicate))
	require.Empty(t, r.Errors)
	require.EqualValues(t, 2*300_000+PrefixSize+PrefixSize+1+5, r.Reclaimable)
	require.EqualValues(t, 13, r.Files, "empty files, symlinks and FIFOs are not counted")
	for _, g := range r.Groups {
		if g.Size == 300_000 {
			require.Equal(t, sumBytes([]byte(big)), g.SHA256)
		}
	}
	// per-directory totals: the kept file is not counted
	var dirs []string
	for _, d := range r.Dirs {
		rel, _ := filepath.Rel(root, string(d.Dir))
		dirs = append(dirs, rel)
	}
	require.Contains(t, dirs, "b/deep")
}

func TestScanHardLinksCountOnce(t *testing.T) {
	data := bigData(2, 10_000)
	r, root := scanTree(t, tree{
		"a":      {Data: data},
		"a-link": {Link: "a"},
		"b":      {Data: data},
		"only":   {Data: bigData(5, 7_000)},
		"only-l": {Link: "only"},
	}, Options{})
	require.Equal(t, [][]string{{"a", "a-link", "b"}}, groupPaths(r, root, StateDuplicate))
	g := r.Groups[0]
	require.Len(t, g.Files, 2, "two inodes")
	require.Equal(t, "a", filepath.Base(string(g.Files[0].Path)), "the inode with most links is kept")
	require.Len(t, g.Files[0].Links, 1)
	require.EqualValues(t, 10_000, r.Reclaimable)
	require.EqualValues(t, 3, r.Files, "a, b and only; the links count once")
	require.EqualValues(t, 27_000, r.Bytes)
}

func TestScanSpillsPartitionsToDisk(t *testing.T) {
	tr := tree{}
	for i := 0; i < 60; i++ {
		d := bigData(byte(i%7), 2000+i%7)
		tr[filepath.Join("d", string(rune('a'+i%26)), "f"+string(rune('A'+i/26))+".bin")] = node{Data: d}
	}
	spill := t.TempDir()
	r, root := scanTree(t, tr, Options{MemoryLimit: 5, Shards: 3, SpillDir: spill, Workers: 3})
	r2, err := Scan(context.Background(), []string{root}, Options{})
	require.NoError(t, err)
	require.Equal(t, groupPaths(r2, root, StateDuplicate), groupPaths(r, root, StateDuplicate))
	require.Len(t, groupPaths(r, root, StateDuplicate), 7)
	require.Positive(t, r.SpilledBytes, "partitions went to disk")
	require.Zero(t, r2.SpilledBytes, "the default limit holds a small tree in memory")
	left, err := os.ReadDir(spill)
	require.NoError(t, err)
	require.Empty(t, left, "spill files are removed")
}

func TestScanLargeGroupsSplitByHashFirst(t *testing.T) {
	tr := tree{}
	for i := 0; i < 9; i++ {
		tr["g/"+string(rune('a'+i))] = node{Data: bigData(byte(i%2), 3000)}
	}
	r, root := scanTree(t, tr, Options{MaxOpen: 2})
	require.Equal(t, [][]string{{"g/a", "g/c", "g/e", "g/g", "g/i"}, {"g/b", "g/d", "g/f", "g/h"}},
		groupPaths(r, root, StateDuplicate))
}

func TestScanStrangeNames(t *testing.T) {
	data := bigData(7, 4000)
	nl, sp, bad := "new\nline", "with space ", "bad\xff\xfename"
	r, root := scanTree(t, tree{nl: {Data: data}, sp: {Data: data}, bad: {Data: data}}, Options{})
	require.Equal(t, [][]string{{bad, nl, sp}}, groupPaths(r, root, StateDuplicate))

	var buf bytes.Buffer
	require.NoError(t, r.WriteJSON(&buf))
	dir := t.TempDir()
	f := filepath.Join(dir, "r.json")
	require.NoError(t, os.WriteFile(f, buf.Bytes(), 0o644))
	back, err := ReadReport(f)
	require.NoError(t, err)
	require.Equal(t, groupPaths(r, root, StateDuplicate), groupPaths(back, root, StateDuplicate),
		"invalid UTF-8 and newlines survive the JSON report")

	buf.Reset()
	require.NoError(t, r.WriteText(&buf, 0))
	for _, line := range strings.Split(buf.String(), "\n") {
		require.NotEqual(t, "line", line, "a newline in a name must not split a text line")
	}
	require.Contains(t, buf.String(), `"`+filepath.Join(root, "new\\nline")+`"`)
}

// Unreadable files (reported, not fatal) are tested in cmd/jfs-dedup, which
// runs the binary as an unprivileged user: root reads mode-000 files.
func TestScanMissingRootIsAnError(t *testing.T) {
	data := bigData(8, 4000)
	root := t.TempDir()
	tree{"a": {Data: data}, "b": {Data: data}}.build(t, root)
	r, err := Scan(context.Background(), []string{root, filepath.Join(root, "missing")}, Options{})
	require.Error(t, err, "a missing root stops the scan with a clear error")
	require.Nil(t, r)
	require.Contains(t, err.Error(), "missing")
}

func TestScanOverlappingRootsListEachFileOnce(t *testing.T) {
	d := bigData(10, 3000)
	root := t.TempDir()
	tree{"a": {Data: d}, "sub/b": {Data: d}}.build(t, root)
	r, err := Scan(context.Background(), []string{root, filepath.Join(root, "sub")}, Options{})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a", "sub/b"}}, groupPaths(r, root, StateDuplicate))
}

func TestScanNoHashFindsTheSameGroups(t *testing.T) {
	big := bigData(11, 200_000)
	tr := tree{"a": {Data: big}, "b": {Data: big}, "c": {Data: big[:199_999] + "x"}, "s1": {Data: "tiny"}, "s2": {Data: "tiny"}}
	r, root := scanTree(t, tr, Options{})
	rn, err := Scan(context.Background(), []string{root}, Options{NoHash: true})
	require.NoError(t, err)
	require.Equal(t, groupPaths(r, root, StateDuplicate), groupPaths(rn, root, StateDuplicate))
	require.Len(t, rn.Groups, 2)
	for i, g := range rn.Groups {
		require.Empty(t, g.SHA256)
		require.NotEmpty(t, r.Groups[i].SHA256)
	}
}

func TestScanFollowsASymlinkedRootOnly(t *testing.T) {
	d := bigData(14, 3000)
	root := t.TempDir()
	tree{"real/a": {Data: d}, "real/b": {Data: d}, "real/link-to-a": {Symlink: "a"}, "top": {Symlink: "real"}}.build(t, root)
	r, err := Scan(context.Background(), []string{filepath.Join(root, "top")}, Options{})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"real/a", "real/b"}}, groupPaths(r, root, StateDuplicate))
}

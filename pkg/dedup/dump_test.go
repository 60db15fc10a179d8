package dedup

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdata/meta_dump.json is the dump of a real JuiceFS 1.5 volume (shared
// juicefs-samples): ds1 (200 files), ds1_clone (juicefs clone of ds1), ds2, ds3.
func testdataDump(*testing.T) string { return filepath.Join("testdata", "meta_dump.json") }

func TestReadDumpOfARealVolume(t *testing.T) {
	f, err := os.Open(testdataDump(t))
	require.NoError(t, err)
	defer f.Close()
	var files []DumpFile
	require.NoError(t, ReadDump(f, func(df DumpFile) error {
		files = append(files, df)
		return nil
	}))
	require.Len(t, files, 500)
	require.Equal(t, "/ds1/f000.bin", files[0].Path)
	require.EqualValues(t, 3, files[0].Attr.Inode)
	require.EqualValues(t, 3730526, files[0].Attr.Length)
	require.Equal(t, "0:0:1:3730526:0:3730526;", sliceKey(files[0].Chunks))
}

func TestScanDumpReportsClonesAsShared(t *testing.T) {
	f, err := os.Open(testdataDump(t))
	require.NoError(t, err)
	defer f.Close()
	r, err := ScanDump(context.Background(), f, DumpOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 500, r.Files)
	require.Len(t, r.Groups, 200, "ds1_clone shares every slice of ds1")
	for _, g := range r.Groups {
		require.Equal(t, StateShared, g.State)
		require.Len(t, g.Files, 2)
		require.True(t, strings.HasPrefix(string(g.Files[0].Path), "/ds1"))
	}
	require.Zero(t, r.HashedBytes, "no data is read from a dump")
	require.Zero(t, r.Reclaimable)
	require.Positive(t, r.SharedBytes)
}

// dumpJSON builds a small dump: name -> (inode, length, slice id).
func dumpJSON(files []struct {
	name        string
	ino, length int
	slice       int
}) string {
	var b strings.Builder
	b.WriteString(`{"Setting":{"Name":"t"},"FSTree":{"attr":{"inode":1,"type":"directory"},"entries":{"d":{"attr":{"inode":2,"type":"directory"},"entries":{`)
	for i, f := range files {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + f.name + `":{"attr":{"inode":` + itoa(f.ino) + `,"type":"regular","mode":420,"nlink":1,"length":` + itoa(f.length) +
			`},"chunks":[{"index":0,"slices":[{"id":` + itoa(f.slice) + `,"size":` + itoa(f.length) + `,"len":` + itoa(f.length) + `}]}],"xattrs":[{"name":"user.a","value":"b"}]}`)
	}
	b.WriteString(`}},"link":{"attr":{"inode":9,"type":"symlink"},"symlink":"d/a"}}},"Trash":{}}`)
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestScanDumpComparesDataUnderMount(t *testing.T) {
	files := []struct {
		name        string
		ino, length int
		slice       int
	}{
		{"a", 10, 5000, 1},
		{"b", 11, 5000, 2},  // same content as a, other slices
		{"c", 12, 5000, 3},  // same size, other content
		{"a2", 13, 5000, 1}, // clone of a
	}
	dump := dumpJSON(files)

	r, err := ScanDump(context.Background(), strings.NewReader(dump), DumpOptions{})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"d/a", "d/a2"}}, groupPaths(r, "/", StateShared))
	require.Equal(t, [][]string{{"d/a", "d/b", "d/c"}}, groupPaths(r, "/", StateUnverified),
		"without a mount the data cannot be compared")

	mnt := t.TempDir()
	data := bigData(1, 5000)
	tree{"d/a": {Data: data}, "d/b": {Data: data}, "d/c": {Data: bigData(2, 5000)}, "d/a2": {Data: data}}.build(t, mnt)
	r, err = ScanDump(context.Background(), strings.NewReader(dump), DumpOptions{Mount: mnt})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"d/a", "d/a2"}}, groupPaths(r, mnt, StateShared))
	require.Equal(t, [][]string{{"d/a", "d/b"}}, groupPaths(r, mnt, StateDuplicate))
	require.Empty(t, groupPaths(r, mnt, StateUnverified))
}

func TestReadDumpRejectsOtherJSON(t *testing.T) {
	err := ReadDump(strings.NewReader(`{"hello":[1,2,{"x":3}]}`), func(DumpFile) error { return nil })
	require.ErrorContains(t, err, "juicefs dump")
	err = ReadDump(strings.NewReader(`{"FSTree":{"attr":`), func(DumpFile) error { return nil })
	require.ErrorContains(t, err, "juicefs dump")
}

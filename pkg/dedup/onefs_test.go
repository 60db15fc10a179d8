package dedup

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// mountedFS is the local file system where one directory appears to be the
// root of another file system (another st_dev), as a mount point does.
type mountedFS struct {
	LocalFS
	mountPoint string
}

func (m mountedFS) shift(p string, fi FileInfo) FileInfo {
	if p == m.mountPoint || strings.HasPrefix(p, m.mountPoint+"/") {
		fi.Dev += 1000
	}
	return fi
}

func (m mountedFS) Lstat(p string) (FileInfo, error) {
	fi, err := m.LocalFS.Lstat(p)
	return m.shift(p, fi), err
}

func (m mountedFS) ReadDir(p string) ([]DirEntry, error) {
	ents, err := m.LocalFS.ReadDir(p)
	for i := range ents {
		ents[i].Info = m.shift(filepath.Join(p, ents[i].Name), ents[i].Info)
	}
	return ents, err
}

func TestScanStaysOnOneFileSystem(t *testing.T) {
	root := t.TempDir()
	d := bigData(6, 3000)
	tree{"a": {Data: d}, "b": {Data: d}, "mnt/c": {Data: d}}.build(t, root)
	r, err := Scan(context.Background(), []string{root}, Options{FS: mountedFS{mountPoint: filepath.Join(root, "mnt")}})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"a", "b"}}, groupPaths(r, root, StateDuplicate), "mnt/ is another file system")
	require.EqualValues(t, 2, r.Files)
}

func TestScanReportsSharedSlicesWithoutReading(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	v := testutil.NewVolume(t)
	data := filepath.Join(v.Mount, "data")
	d := bigData(7, 200_000)
	tree{"orig": {Data: d}, "copy": {Data: d}}.build(t, data)
	drv := &jfs.Driver{Binary: v.Binary}
	require.NoError(t, drv.Clone(context.Background(), filepath.Join(data, "orig"), filepath.Join(data, "clone"), true))

	r, err := Scan(context.Background(), []string{data}, Options{Slices: JFSSlices{Driver: drv}})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"clone", "orig"}}, groupPaths(r, data, StateShared))
	require.Len(t, r.Groups, 2)
	for _, g := range r.Groups {
		if g.State == StateDuplicate {
			require.Len(t, g.Files, 2, "one of the shared pair is compared with the copy")
			names := []string{filepath.Base(string(g.Files[0].Path)), filepath.Base(string(g.Files[1].Path))}
			require.Contains(t, names, "copy")
		}
	}
	require.EqualValues(t, 2*(PrefixSize+200_000), r.HashedBytes, "two files read (prefix, then in full); the clone was not read")
	require.EqualValues(t, 200_000, r.SharedBytes)
}

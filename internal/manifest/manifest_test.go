package manifest

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// A walk lists the regular files (not a mount's virtual files, not
// symlinks); its manifest reads back, header first, and Pick returns the
// picked lines in one pass.
func TestWalkWritePick(t *testing.T) {
	root := t.TempDir()
	ds := filepath.Join(root, "ds")
	require.NoError(t, os.MkdirAll(filepath.Join(ds, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "a"), make([]byte, 10), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "sub", "b"), make([]byte, 30), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ds, ".stats"), make([]byte, 5), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(ds, "a"), filepath.Join(ds, "link")))

	files, info, err := Walk(context.Background(), ds)
	require.NoError(t, err)
	require.Equal(t, []File{{filepath.Join(ds, "a"), 10}, {filepath.Join(ds, "sub", "b"), 30}}, files)
	require.Equal(t, int64(2), info.Files)
	require.Equal(t, int64(40), info.Bytes)
	require.Equal(t, int64(30), info.MaxSize)

	dir := filepath.Join(root, "state", "manifests")
	_, err = ReadInfo(dir, ds)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NoError(t, Save(dir, ds, files))
	got, err := ReadInfo(dir, ds)
	require.NoError(t, err)
	require.Equal(t, info.Files, got.Files)
	require.Equal(t, info.Bytes, got.Bytes)
	require.Equal(t, info.MaxSize, got.MaxSize)

	picked, _, err := Pick(dir, ds, []int64{1, 1, 0})
	require.NoError(t, err)
	require.Equal(t, files, picked, "sorted, each line once")
	picked, _, err = Pick(dir, ds, []int64{5})
	require.NoError(t, err)
	require.Empty(t, picked, "a line past the end is not there")

	require.NoError(t, Remove(dir, ds))
	require.NoError(t, Remove(dir, ds), "removing a missing manifest is fine")
	require.Equal(t, filepath.Join(filepath.Dir("/var/lib/accel-data/warmupd.db"), "manifests"), Dir("/var/lib/accel-data/warmupd.db"))
}

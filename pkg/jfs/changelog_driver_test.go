package jfs_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// The changelog of a volume that has none is ErrChangelogOff; once enabled
// (`juicefs config META-URL --changelog`) it lists what the mount creates,
// renames and removes, with parent inodes that `juicefs info --inode` turns
// into paths.
func TestDriverChangelog(t *testing.T) {
	v := testutil.NewVolume(t, testutil.WithFUSE())
	d := &jfs.Driver{Binary: v.Binary, Dir: v.Mount, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)}
	ctx := context.Background()
	_, err := d.Changelog(ctx, v.MetaURL, 1)
	require.ErrorIs(t, err, jfs.ErrChangelogOff)

	from := v.EnableChangelog(t)
	ds := filepath.Join(v.Mount, "ds")
	require.NoError(t, os.Mkdir(ds, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "a"), []byte("x"), 0o644))
	require.NoError(t, os.Rename(filepath.Join(ds, "a"), filepath.Join(ds, "b, (c)|d")))
	require.NoError(t, os.Remove(filepath.Join(ds, "b, (c)|d")))
	es, err := d.Changelog(ctx, v.MetaURL, from)
	require.NoError(t, err)
	var kinds []string
	var names []string
	for _, e := range es {
		require.GreaterOrEqual(t, e.Ver, from)
		c, ok := e.Change()
		if !ok || c.Kind == "write" {
			continue
		}
		kinds = append(kinds, c.Kind)
		for _, n := range c.Names {
			dir, _, err := d.InfoInode(ctx, n.Dir)
			if n.Dir == 1 {
				dir, err = "", nil // the root: juicefs info --inode 1 prints "/"
			}
			require.NoError(t, err)
			names = append(names, filepath.Join(dir, n.Name))
		}
	}
	require.Equal(t, []string{"create", "create", "rename", "remove"}, kinds)
	require.Equal(t, []string{"ds", "ds/a", "ds/a", "ds/b, (c)|d", "ds/b, (c)|d"}, names)
}

package jfs_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// The changelog of a volume that has none is ErrChangelogOff; once enabled
// (`juicefs config META-URL --changelog`) it lists what the mount creates,
// renames and removes, with parent inodes that `juicefs info --inode` turns
// into paths. (A real client picks the setting up at its next refresh of
// the volume's format: the test creates probe files until one is logged.)
func TestDriverChangelog(t *testing.T) {
	v := testutil.NewVolume(t, testutil.WithFUSE())
	d := &jfs.Driver{Binary: v.Binary, Dir: v.Mount, Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)}
	ctx := context.Background()
	_, err := d.Changelog(ctx, v.MetaURL, 1)
	require.ErrorIs(t, err, jfs.ErrChangelogOff)

	out, err := exec.Command(v.Binary, "config", v.MetaURL, "--changelog").CombinedOutput()
	require.NoError(t, err, string(out))
	var from int64
	probe := 0
	require.Eventually(t, func() bool {
		probe++
		name := fmt.Sprintf("probe%d", probe)
		require.NoError(t, os.WriteFile(filepath.Join(v.Mount, name), nil, 0o644))
		es, err := d.Changelog(ctx, v.MetaURL, 1)
		require.NoError(t, err)
		for _, e := range es {
			if c, ok := e.Change(); ok && c.Kind == "create" && c.Names[0].Name == name {
				from = e.Ver + 1
				return true
			}
		}
		return false
	}, 3*time.Minute, 500*time.Millisecond, "the mount logs its operations once the changelog is on")

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

package jfs_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// `juicefs changelog` of 1.4.1 has no --follow: it prints the entries and
// then waits for new ones forever (the stand-in too). Changelog returns the
// entries once no line came for ChangelogIdle (ChangelogFirst when none came
// at all), and kills the process: none is left reading.
func TestDriverChangelogTails(t *testing.T) {
	v := testutil.NewVolume(t, testutil.WithFUSE())
	from := v.EnableChangelog(t)
	require.NoError(t, os.Mkdir(filepath.Join(v.Mount, "ds"), 0o755))
	var log bytes.Buffer
	d := &jfs.Driver{
		Binary: v.Binary, ChangelogIdle: 300 * time.Millisecond,
		ChangelogMax: time.Hour, // only the idle bounds can end these reads
		Log:          zerolog.New(io.MultiWriter(&log, zerolog.NewTestWriter(t))).Level(zerolog.DebugLevel),
	}
	read := func(from int64) []jfs.ChangeEntry {
		t.Helper()
		var es []jfs.ChangeEntry
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			es, err = d.Changelog(context.Background(), v.MetaURL, from)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("Changelog still reading 2 minutes on: the idle bound did not end `juicefs changelog`")
		}
		require.NoError(t, err)
		require.Contains(t, log.String(), `"ended":"no output for the idle bound"`, "the client was still following: Changelog killed it")
		require.Empty(t, changelogProcesses(v.MetaURL), "the killed juicefs changelog is gone")
		log.Reset()
		return es
	}
	es := read(from)
	require.NotEmpty(t, es)
	require.Equal(t, "CREATE", es[0].Op)
	require.Equal(t, []string{"1", "ds"}, es[0].Args[:2])
	last := es[len(es)-1].Ver

	// Nothing new: no line at all, ended by ChangelogFirst.
	require.Empty(t, read(last+1))
}

// changelogProcesses are the pids of the processes running `changelog …
// metaURL`.
func changelogProcesses(metaURL string) []int {
	return testutil.Processes(func(argv []string) bool {
		return slices.Contains(argv, "changelog") && slices.Contains(argv, metaURL)
	})
}

package cachemgr

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// On a volume (the stand-in, or a real client with ACCEL_TEST_JUICEFS), a
// file created under a warm dataset after its last check marks it stale
// through `juicefs changelog` and `juicefs info --inode`; one created under
// a dataset that is not warm marks nothing. A read that finds nothing new
// ends all the same (the client waits for more) and keeps the cursor.
func TestChangelogOnVolume(t *testing.T) {
	v := testutil.NewVolume(t, testutil.WithFUSE())
	ds, cold := filepath.Join(v.Mount, "ds"), filepath.Join(v.Mount, "cold")
	require.NoError(t, os.MkdirAll(filepath.Join(ds, "sub"), 0o755))
	require.NoError(t, os.Mkdir(cold, 0o755))
	v.EnableChangelog(t)

	r := newRig(t, Config{})
	r.clk.Set(time.Now().Add(-time.Second)) // the dataset's check, just before the changes below
	r.warm(ds, gib)
	drv := &jfs.Driver{Binary: v.Binary, Dir: v.Mount}
	c := NewChangelog(ChangelogConfig{MetaURL: v.MetaURL, Mount: v.Mount}, r.store, drv, zerolog.New(zerolog.NewTestWriter(t)), r.clk.Now)
	_, err := c.Read(context.Background()) // the probes and the mkdirs, before the check or outside the dataset
	require.NoError(t, err)
	require.Nil(t, r.dataset(ds).StaleAt)

	require.NoError(t, os.WriteFile(filepath.Join(cold, "x"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ds, "sub", "new.bin"), []byte("new"), 0o644))
	res, err := c.Read(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{ds}, res.Marked)
	d := r.dataset(ds)
	require.Equal(t, api.StaleChangelog, d.StaleReason)
	require.Contains(t, d.StaleDetail, "CREATE "+filepath.Join(ds, "sub", "new.bin"))
	require.Positive(t, res.Entries)

	// Nothing new: juicefs changelog prints nothing and waits (1.4.1 has no
	// --follow): the read ends at the driver's bound with nothing found, and
	// the cursor stays where it was.
	again, err := c.Read(context.Background())
	require.NoError(t, err)
	require.Zero(t, again.Entries)
	require.Equal(t, res.Version, again.Version)
	cursor, err := r.store.ChangelogCursor(context.Background(), v.MetaURL)
	require.NoError(t, err)
	require.Equal(t, res.Version, cursor)
}

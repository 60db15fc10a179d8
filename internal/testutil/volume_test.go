package testutil

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/jfs"
)

func TestNewVolumeAndWriteFiles(t *testing.T) {
	a := NewVolume(t)
	b := NewVolume(t)
	require.NotEqual(t, a.Mount, b.Mount)
	if !a.Real {
		_, err := os.Stat(filepath.Join(a.Mount, ".config"))
		require.NoError(t, err, "the stand-in volume has a .config")
	}
	da := a.WriteFiles(t, "ds", 3, 1<<20+7)
	db := b.WriteFiles(t, "ds", 3, 1<<20+7)
	dc := b.WriteFiles(t, "other", 1, 1<<20+7)
	require.Equal(t, filepath.Join(a.Mount, "ds"), da)

	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Len(t, data, 1<<20+7)
		return data
	}
	f0 := read(filepath.Join(da, "f0000.bin"))
	require.Equal(t, f0, read(filepath.Join(db, "f0000.bin")), "same rel and index: same content")
	require.NotEqual(t, f0, read(filepath.Join(da, "f0001.bin")), "files differ by index")
	require.NotEqual(t, f0, read(filepath.Join(dc, "f0000.bin")), "datasets differ by rel")
	ents, err := os.ReadDir(da)
	require.NoError(t, err)
	require.Len(t, ents, 3)
}

// New files start cold on both paths: a real client caches the tail blocks
// it writes (3 MiB files: 100 %), WriteFiles removes them.
func TestWriteFilesStartCold(t *testing.T) {
	t.Setenv(BandwidthEnv, "0")
	v := NewVolume(t)
	ds := v.WriteFiles(t, "ds", 3, 3<<20)
	d := &jfs.Driver{Binary: v.Binary}
	ctx := context.Background()
	r, err := d.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.Equal(t, int64(3), r.Files)
	require.Equal(t, 0.0, r.Ratio, "a dataset just written is cold")

	// After a remount the data and the cache are still there.
	_, err = d.Warmup(ctx, []string{ds})
	require.NoError(t, err)
	v.WaitBlocksWritten(t, ds) // a real client's blocks still in memory die with the process
	v.Remount(t)
	r, err = d.Check(ctx, []string{ds})
	require.NoError(t, err)
	require.Greater(t, r.Ratio, 0.99)
}

// --download-limit is in Mbit/s, of which JuiceFS lets 85 % through.
func TestDownloadLimitMbps(t *testing.T) {
	require.Equal(t, int64(0), DownloadLimitMbps(0))
	require.Equal(t, int64(987), DownloadLimitMbps(DefaultBandwidth)) // 100 MiB/s
	require.Equal(t, int64(79), DownloadLimitMbps(8))
	require.Equal(t, int64(1), DownloadLimitMbps(0.01), "never 0, which would mean unlimited")
	for _, mibps := range []float64{1, 8, 20, 100} {
		got := float64(DownloadLimitMbps(mibps)) * 1e6 / 8 * 0.85 / (1 << 20)
		require.InDelta(t, mibps, got, 0.15, "%v MiB/s", mibps)
	}
}

// The supervisor's files named by the real sample's .config are removed
// after an unmount; nothing else is, whatever a .config says.
func TestSupervisorFilesTakesOnlyTheSupervisorsNames(t *testing.T) {
	mnt := t.TempDir()
	sample, err := os.ReadFile(filepath.Join("..", "..", "pkg", "jfs", "testdata", "60_config.json")) // a real 1.4.1 client's
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, ".config"), sample, 0o600))
	require.Equal(t, []string{"/tmp/fuse_fd_comm.21919", "/tmp/state21919.json"}, supervisorFiles(mnt))

	require.NoError(t, os.WriteFile(filepath.Join(mnt, ".config"), []byte(`{"CommPath": "/etc/passwd", "StatePath": "/tmp/x/state1.json"}`), 0o600))
	require.Empty(t, supervisorFiles(mnt))
	require.Empty(t, supervisorFiles(t.TempDir()), "no .config")
}

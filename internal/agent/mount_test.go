package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The mount report comes from mountinfo, mounts and the real 1.4.1 .config
// (testdata/60_config.json: shared cache dir, CacheScanInterval -1s, 100 GiB).
func TestReadMountFromRealConfig(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "my mnt")
	require.NoError(t, os.MkdirAll(mnt, 0o755))
	cfg, err := os.ReadFile("testdata/60_config.json")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mnt, ".config"), cfg, 0o600))
	esc := filepath.Join(dir, `my\040mnt`)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mountinfo"),
		[]byte("36 25 0:32 / "+esc+" rw,relatime shared:1 - fuse.juicefs JuiceFS:perfvol rw,user_id=0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mounts"),
		[]byte("JuiceFS:perfvol "+esc+" fuse.juicefs rw,relatime,user_id=0,group_id=0,default_permissions,allow_other 0 0\n"), 0o644))
	r, err := ReadMount(mnt, filepath.Join(dir, "mountinfo"))
	require.NoError(t, err)
	require.Equal(t, "fuse.juicefs", r.FSType)
	require.Equal(t, "rw,relatime,user_id=0,group_id=0,default_permissions,allow_other", r.Options)
	require.Equal(t, "perfvol", r.Volume)
	require.Equal(t, "/beegfs/jfscache/8564cb6e-a3cf-485c-a5c9-2a3b7964f65c", r.CacheDir)
	require.Equal(t, int64(107374182400), r.CacheSize)
	require.Equal(t, "2-random", r.CacheEviction)
	require.Equal(t, float64(-1), r.CacheScanInterval)
	require.Equal(t, 0.1, r.FreeSpaceRatio)
	require.Equal(t, "1.4.1+2026-07-30.0b90c7db5", r.Version)
}

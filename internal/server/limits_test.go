package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMinDepthRefusesWholeVolumesToUsers(t *testing.T) {
	root := t.TempDir()
	mnt := filepath.Join(root, "jfs")
	require.NoError(t, os.MkdirAll(filepath.Join(mnt, "ds", "sub"), 0o755))
	require.NoError(t, os.Symlink(mnt, filepath.Join(mnt, "top")))
	require.NoError(t, os.Chmod(root, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(root), 0o755))
	user := Caller{UID: 4242, GID: 4242, Gids: []uint32{4242}}

	pp := &PathPolicy{Mounts: []string{mnt}, MinDepth: DefaultMinDepth}
	_, err := pp.Resolve(mnt+"/", user)
	require.ErrorContains(t, err, "is the JuiceFS mount root; users may warm only paths at least 1 level(s) below a mount (MinDepth=1)")
	var pe *PathError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 403, pe.Status)
	_, err = pp.Resolve(filepath.Join(mnt, "top"), user)
	require.ErrorContains(t, err, "mount root", "a symlink to the mount root is the mount root")
	got, err := pp.Resolve(filepath.Join(mnt, "ds"), user)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(mnt, "ds"), got)
	_, err = pp.Resolve(mnt, Caller{UID: 0})
	require.NoError(t, err, "root may warm a whole volume")

	pp.MinDepth = 2
	_, err = pp.Resolve(filepath.Join(mnt, "ds"), user)
	require.ErrorContains(t, err, "is only 1 level(s) below the JuiceFS mount "+mnt)
	_, err = pp.Resolve(filepath.Join(mnt, "ds", "sub"), user)
	require.NoError(t, err)

	pp.MinDepth = 0
	_, err = pp.Resolve(mnt, user)
	require.NoError(t, err, "MinDepth=0 turns the limit off")
}

func TestDepthBelowMountPicksTheDeepestMount(t *testing.T) {
	pp := &PathPolicy{Mounts: []string{"/jfs", "/jfs/inner"}}
	for p, want := range map[string]int{"/jfs": 0, "/jfs/a": 1, "/jfs/a/b": 2, "/jfs/inner": 0, "/jfs/inner/x": 1, "/jfsx": -1} {
		m, d := pp.depthBelowMount(p)
		if want < 0 {
			require.Empty(t, m, p)
			continue
		}
		require.Equal(t, want, d, p)
	}
}

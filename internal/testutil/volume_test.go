package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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

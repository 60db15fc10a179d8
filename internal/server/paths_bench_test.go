package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkResolve measures the path check of one submitted path on a
// local file system (the daemon side of every submit): as root (syntax,
// symlinks resolved, inside a mount) and as a user (plus a stat of every
// directory on the way, checked against the user's uid and groups). The
// path is 7 levels deep, as in the submit benchmarks.
func BenchmarkResolve(b *testing.B) {
	root := b.TempDir()
	mnt := filepath.Join(root, "mnt")
	ds := filepath.Join(mnt, "proj", "team", "d00001")
	require.NoError(b, os.MkdirAll(ds, 0o755))
	for p := ds; p != filepath.Dir(root); p = filepath.Dir(p) {
		require.NoError(b, os.Chmod(p, 0o755))
	}
	require.NoError(b, os.Chmod(filepath.Dir(root), 0o755)) // b.TempDir makes 0700 parents
	pp := &PathPolicy{Mounts: []string{mnt}, MaxPaths: 10}
	for _, c := range []struct {
		name string
		who  Caller
	}{{"root", Caller{UID: 0}}, {"user", Caller{UID: 4242, GID: 4242, Gids: []uint32{4242}}}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := pp.Resolve(ds, c.who); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

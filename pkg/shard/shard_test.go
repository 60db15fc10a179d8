package shard

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitBoundsBytesAndFiles(t *testing.T) {
	files := []File{{"a", 3}, {"b", 3}, {"c", 1}, {"d", 9}, {"e", 2}}
	require.Equal(t, []Shard{{[]string{"a"}, 3}, {[]string{"b", "c"}, 4}, {[]string{"d"}, 9}, {[]string{"e"}, 2}}, Split(files, 4, 1))
	require.Equal(t, []Shard{{[]string{"a", "b", "c", "d", "e"}, 18}}, Split(files, 0, 1), "DefaultBytes")
	require.GreaterOrEqual(t, len(Split(files, 0, 3)), 3, "at least minShards when the bytes allow")

	many := make([]File, MaxFiles+1)
	for i := range many {
		many[i] = File{Path: "f", Size: 1}
	}
	sh := Split(many, 0, 1)
	require.Len(t, sh, 2)
	require.Len(t, sh[0].Files, MaxFiles, "one juicefs request a shard")
}

// One walk lists every non-empty regular file below the root, sorted;
// the list file round-trips.
func TestMakeWalksOnceAndListsRoundTrip(t *testing.T) {
	root := t.TempDir()
	for _, f := range []struct {
		rel  string
		size int64
	}{{"b/2.bin", 20}, {"a/1.bin", 10}, {"a/x/3.bin", 30}, {"empty", 0}} {
		p := filepath.Join(root, f.rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, make([]byte, f.size), 0o644))
	}
	require.NoError(t, os.Symlink("a", filepath.Join(root, "link")))
	p, err := Make(context.Background(), root, 25, 1)
	require.NoError(t, err)
	require.Equal(t, 3, p.Files)
	require.Equal(t, int64(60), p.Bytes)
	j := func(rel string) string { return filepath.Join(root, rel) }
	require.Equal(t, []Shard{{[]string{j("a/1.bin")}, 10}, {[]string{j("a/x/3.bin")}, 30}, {[]string{j("b/2.bin")}, 20}}, p.Shards)

	list := filepath.Join(t.TempDir(), "shard-1")
	require.NoError(t, WriteList(list, p.Shards[0].Files))
	got, err := ReadList(list)
	require.NoError(t, err)
	require.Equal(t, p.Shards[0].Files, got)
	require.Error(t, WriteList(list, []string{"bad\nname"}))

	_, err = Make(context.Background(), filepath.Join(root, "missing"), 0, 1)
	require.Error(t, err)
}

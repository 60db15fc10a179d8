package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestScanTextGolden diffs the text report of a fixed tree against
// testdata/scan.golden (the temp dir is written as ROOT). Regenerate with
// `go test ./cmd/jfs-dedup -run Golden -update` and review the diff.
func TestScanTextGolden(t *testing.T) {
	dir := t.TempDir()
	a, b := data(20, 3<<20), data(21, 5000)
	write(t, filepath.Join(dir, "public/set/a.bin"), a, 0o644)
	write(t, filepath.Join(dir, "users/alice/a.bin"), a, 0o644)
	write(t, filepath.Join(dir, "users/bob/a copy.bin"), a, 0o644)
	write(t, filepath.Join(dir, "public/set/b.txt"), b, 0o644)
	write(t, filepath.Join(dir, "users/alice/b\nnewline.txt"), b, 0o644)
	write(t, filepath.Join(dir, "users/alice/other.bin"), data(22, 3<<20), 0o644)
	write(t, filepath.Join(dir, "users/alice/empty"), nil, 0o644)
	for _, p := range []string{"public/set/a.bin", "public/set/b.txt"} {
		old := int64(1_600_000_000)
		require.NoError(t, os.Chtimes(filepath.Join(dir, p), unixTime(old), unixTime(old)))
	}

	out, stderr, code := run(t, nil, "scan", dir)
	require.Equal(t, 0, code, stderr)
	got := strings.ReplaceAll(out, dir, "ROOT")
	golden := filepath.Join("testdata", "scan.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run with -update to create it")
	require.Equal(t, string(want), got)
}

func unixTime(s int64) time.Time { return time.Unix(s, 0) }

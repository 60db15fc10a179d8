package dedup

import (
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// node declares one entry of a test tree: a file with Data (and Mode), a
// hard link to another entry (Link), a symlink (Symlink), or a FIFO.
type node struct {
	Data    string
	Mode    os.FileMode
	Link    string
	Symlink string
	FIFO    bool
}

// tree is a declarative test directory: relative path -> node. Entries are
// created in name order, so a Link target must sort before the link.
type tree map[string]node

func (tr tree) build(t *testing.T, root string) {
	t.Helper()
	names := make([]string, 0, len(tr))
	for n := range tr {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		nd := tr[n]
		p := filepath.Join(root, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch {
		case nd.Link != "":
			require.NoError(t, os.Link(filepath.Join(root, nd.Link), p))
		case nd.Symlink != "":
			require.NoError(t, os.Symlink(nd.Symlink, p))
		case nd.FIFO:
			require.NoError(t, syscall.Mkfifo(p, 0o644))
		default:
			mode := nd.Mode
			if mode == 0 {
				mode = 0o644
			}
			require.NoError(t, os.WriteFile(p, []byte(nd.Data), mode))
			require.NoError(t, os.Chmod(p, mode))
		}
	}
}

// groupPaths returns each group of state as sorted paths relative to root
// (hard links included), groups sorted.
func groupPaths(r *Report, root, state string) [][]string {
	var out [][]string
	for _, g := range r.Groups {
		if g.State != state {
			continue
		}
		var ps []string
		for _, f := range g.Files {
			for _, p := range append([]Path{f.Path}, f.Links...) {
				rel, _ := filepath.Rel(root, string(p))
				ps = append(ps, rel)
			}
		}
		sort.Strings(ps)
		out = append(out, ps)
	}
	sort.Slice(out, func(a, b int) bool { return out[a][0] < out[b][0] })
	return out
}

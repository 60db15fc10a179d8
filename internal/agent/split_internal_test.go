package agent

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// A big report is cut into reports of at most max paths; nothing is lost,
// a job's final flag and counters go with its last part, the node-wide
// counts with the first report.
func TestSplitBoundsPathsPerReport(t *testing.T) {
	paths := func(n int) []api.PathAccess {
		out := make([]api.PathAccess, n)
		for i := range out {
			out[i] = api.PathAccess{Dataset: "/jfs/ds", Subpath: string(rune('a' + i%26)), Bytes: 1}
		}
		return out
	}
	r := api.AccessReport{Node: "n1", Mount: "/jfs", Lines: 7, Config: &api.MountReport{CacheDir: "/c"},
		Jobs: []api.JobAccess{{JobID: 1, Final: true, HitBytes: 5, Paths: paths(5)}, {JobID: 2, Paths: paths(2)}}}
	parts := split(r, 3)
	require.Len(t, parts, 3)
	var total int
	finals := map[uint64]int{}
	for i, p := range parts {
		n := 0
		for _, j := range p.Jobs {
			n += len(j.Paths)
			if j.Final {
				finals[j.JobID]++
				require.Equal(t, int64(5), j.HitBytes)
			}
		}
		require.LessOrEqual(t, n, 3)
		total += n
		require.Equal(t, "n1", p.Node)
		if i > 0 {
			require.Zero(t, p.Lines)
			require.Nil(t, p.Config)
		}
	}
	require.Equal(t, 7, total)
	require.Equal(t, map[uint64]int{1: 1}, finals)
	require.Len(t, split(r, 100), 1)
}

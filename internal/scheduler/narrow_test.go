package scheduler

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// With history, the subdirectories jobs read are warmed before the whole
// dataset; without, the dataset at once, as before.
func TestNarrowedWarmupWarmsHotSubpathsFirst(t *testing.T) {
	asked := []string{}
	narrow := func(_ context.Context, ds string) []string {
		asked = append(asked, ds)
		if ds == "/jfs/ds" {
			return []string{"/jfs/ds/train", "/jfs/ds/aux"}
		}
		return nil
	}
	r := newRig(t, newDriver(0, gib, 1), Config{Narrow: narrow})
	id := r.submit("/jfs/ds")
	r.attempt()
	require.Equal(t, api.TaskWarm, r.entry(id).State)
	require.Equal(t, [][]string{{"/jfs/ds/train", "/jfs/ds/aux"}, {"/jfs/ds"}}, r.drv.warmed)

	r2 := newRig(t, newDriver(0, gib, 1), Config{Narrow: narrow})
	r2.submit("/jfs/other")
	r2.attempt()
	require.Equal(t, [][]string{{"/jfs/other"}}, r2.drv.warmed)
	require.Equal(t, []string{"/jfs/ds", "/jfs/other"}, asked)
}

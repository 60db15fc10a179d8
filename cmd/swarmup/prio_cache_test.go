package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func samplePrio() []PriorityEntry {
	f := func(n string, v, w float64) PriorityFactor {
		return PriorityFactor{Name: n, Value: v, Weight: w, Contribution: v * w}
	}
	return []PriorityEntry{
		{TaskID: 7, Dataset: "/jfs/imagenet", State: api.TaskQueued, Priority: 10000 + 3448 + 429,
			Factors: []PriorityFactor{f("prolog_wait", 1, 10000), f("start_soon", 0.862, 4000), f("pending", 0.429, 1000)}},
		{TaskID: 12, Dataset: "/jfs/coco", State: api.TaskWarming, Priority: 200,
			Factors: []PriorityFactor{f("prolog_wait", 0, 10000), f("start_soon", 0, 4000), f("pending", 0.2, 1000)}},
	}
}

func TestPrioTable(t *testing.T) {
	all, def := prioColumns(samplePrio(), false)
	var b bytes.Buffer
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, mustCols(t, all, def, ""), samplePrio()))
	require.Equal(t, ""+
		"TASKID  DATASET        STATE    PRIORITY  PROLOG_WAIT  START_SOON  PENDING\n"+
		"7       /jfs/imagenet  queued   13877     10000        3448        429\n"+
		"12      /jfs/coco      warming  200       0            0           200\n", b.String())

	all, def = prioColumns(samplePrio(), true)
	b.Reset()
	require.NoError(t, renderTable(&IOStreams{Out: &b}, OutputOptions{NoHeader: true}, testNow, mustCols(t, all, def, "taskid,start_soon"), samplePrio()))
	require.Equal(t, "7\t3448 (0.862×4000)\n12\t0 (0.000×4000)\n", b.String(), "--long explains contribution = value × weight")

	_, err := selectColumns(all, def, "taskid,colour")
	require.ErrorContains(t, err, "valid fields: taskid,dataset,state,priority,prolog_wait,start_soon,pending")
}

func TestCacheSummaryAndTable(t *testing.T) {
	used := testNow.Add(-26 * time.Hour)
	r := CacheResponse{
		CacheDir: "/beegfs/jfscache", CapacityBytes: 2 << 40, UsedBytes: 1200 << 30,
		FSBytes: 100 << 40, FSFreeBytes: 40 << 40, FreeSpaceRatio: 0.1,
		Datasets: []CacheDataset{
			{Path: "/jfs/imagenet", Bytes: 150 << 30, CachedBytes: 150 << 30, CachedRatio: 1, State: api.TaskWarm, JobsRunning: 2, Pinned: true, LastUsedAt: &used},
			{Path: "/jfs/old", Bytes: 1 << 30, CachedBytes: 512 << 20, CachedRatio: 0.5, State: api.TaskPartial},
		},
	}
	var b bytes.Buffer
	writeCacheSummary(&b, &r)
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, mustCols(t, cacheColumns, cacheDefaults, ""), r.Datasets))
	require.Equal(t, ""+
		"Cache dir:  /beegfs/jfscache\n"+
		"Capacity:   2.0 TiB, used 1.1 TiB (58.5%)\n"+
		"Free space: 40 TiB of 100 TiB on the file system (JuiceFS keeps 10.0% free)\n"+
		"\n"+
		"PATH           CACHED   SIZE     RATIO                STATE    RUNNING  QUEUED  PINNED  LASTUSED\n"+
		"/jfs/imagenet  150 GiB  150 GiB  [##########] 100.0%  warm     2        0       yes     1d02h\n"+
		"/jfs/old       512 MiB  1.0 GiB  [#####-----] 50.0%   partial  0        0       no      -\n", b.String())

	b.Reset()
	writeCacheSummary(&b, &CacheResponse{CacheDir: "/c", UsedBytes: 5})
	require.Equal(t, "Cache dir:  /c\nCapacity:   not limited by warmupd, used 5 B\n\n", b.String())
}

func TestNewCommandsNeedTheDaemon(t *testing.T) {
	for _, args := range [][]string{{"prio"}, {"cache"}} {
		f, _, errOut := testFactory(t)
		require.Equal(t, exitDaemonDown, Main(context.Background(), f, args), "swarmup %v", args)
		require.Contains(t, errOut.String(), "warmupd is not running")
	}
	f, _, errOut := testFactory(t)
	require.Equal(t, exitUsage, Main(context.Background(), f, []string{"cache", "--format", "colour"}))
	require.Contains(t, errOut.String(), "valid fields: path,cached,size")
	f, _, errOut = testFactory(t)
	require.Equal(t, exitUsage, Main(context.Background(), f, []string{"prio", "--json", "--format", "taskid"}))
	require.Contains(t, errOut.String(), "cannot be combined")
}

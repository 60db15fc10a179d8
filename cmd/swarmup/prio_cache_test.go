package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

func samplePrio() []api.PriorityEntry {
	f := func(n string, v, w float64) api.PriorityFactor {
		return api.PriorityFactor{Name: n, Value: v, Weight: w, Contribution: v * w}
	}
	return []api.PriorityEntry{
		{TaskID: 7, Dataset: "/jfs/imagenet", State: api.TaskQueued, Priority: 10000 + 3448 + 429,
			Factors: []api.PriorityFactor{f("prolog_wait", 1, 10000), f("start_soon", 0.862, 4000), f("pending", 0.429, 1000)}},
		{TaskID: 12, Dataset: "/jfs/coco", State: api.TaskQueued, Priority: 200, Reason: "waiting for cache space",
			Factors: []api.PriorityFactor{f("prolog_wait", 0, 10000), f("start_soon", 0, 4000), f("pending", 0.2, 1000)}},
	}
}

func TestPrioTable(t *testing.T) {
	weights := map[string]float64{"prolog_wait": 10000, "start_soon": 4000, "pending": 1000, "age": 500}
	all, def := prioColumns(samplePrio(), weights, false)
	var b bytes.Buffer
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, mustCols(t, all, def, ""), samplePrio()))
	require.Equal(t, ""+
		"TASKID  DATASET        STATE   PRIORITY  PROLOG_WAIT  START_SOON  PENDING  AGE\n"+
		"7       /jfs/imagenet  queued  13877     10000        3448        429      -\n"+
		"12      /jfs/coco      queued  200       0            0           200      -\n", b.String(),
		"factors in the daemon's order, then weighted factors no entry has")

	all, def = prioColumns(samplePrio(), weights, true)
	all = append(all, prioReason)
	b.Reset()
	require.NoError(t, renderTable(&IOStreams{Out: &b}, OutputOptions{NoHeader: true}, testNow, mustCols(t, all, def, "taskid,start_soon,reason"), samplePrio()))
	require.Equal(t, "7\t3448 (0.862×4000)\t\n12\t0 (0.000×4000)\twaiting for cache space\n", b.String(), "--long explains contribution = value × weight")

	all, def = prioColumns(nil, weights, false)
	require.Equal(t, []string{"taskid", "dataset", "state", "priority", "prolog_wait", "start_soon", "pending", "age"}, def,
		"with an empty queue the factors come from the weights")

	_, err := selectColumns(all, def, "taskid,colour")
	require.ErrorContains(t, err, "valid fields: taskid,dataset,state,priority,prolog_wait,start_soon,pending,age")
}

func TestCacheSummaryAndTable(t *testing.T) {
	used := testNow.Add(-26 * time.Hour)
	r := api.CacheResponse{
		CacheDir: "/beegfs/jfscache", CapacityBytes: 2 << 40, UsedBytes: 1200 << 30,
		FSTotalBytes: 100 << 40, FSFreeBytes: 40 << 40,
		ActiveWindows: []string{"22:00-06:00"}, ActiveReason: "the cluster is busy",
		Datasets: []api.Dataset{
			{Path: "/jfs/imagenet", Bytes: 150 << 30, CachedBytes: 150 << 30, CachedRatio: 1, State: api.TaskWarm, JobsRunning: 2, LastUsedAt: &used},
			{Path: "/jfs/old", Bytes: 1 << 30, CachedBytes: 512 << 20, CachedRatio: 0.5, State: api.TaskPartial},
		},
		Evictions: []api.CacheEviction{{Dataset: "/jfs/older", Bytes: 3 << 30, Reason: "room for /jfs/imagenet", At: testNow.Add(-5 * time.Minute)}},
	}
	var b bytes.Buffer
	writeCacheSummary(&b, cellCtx{tty: true, now: testNow}, &r)
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, mustCols(t, cacheColumns, cacheDefaults, ""), r.Datasets))
	require.Equal(t, ""+
		"Cache dir:   /beegfs/jfscache\n"+
		"Capacity:    2.0 TiB, used 1.1 TiB (58.5%)\n"+
		"Free space:  40 TiB of 100 TiB on the file system that holds the cache\n"+
		"Active warm-up: outside its windows (22:00-06:00); the cluster is busy\n"+
		"Recent evictions (1):\n"+
		"  5m00s  3.0 GiB  /jfs/older  room for /jfs/imagenet\n"+
		"\n"+
		"PATH           CACHED   SIZE     RATIO                STATE    RUNNING  QUEUED  PINNED  LASTUSED\n"+
		"/jfs/imagenet  150 GiB  150 GiB  [##########] 100.0%  warm     2        0       yes     1d02h\n"+
		"/jfs/old       512 MiB  1.0 GiB  [#####-----] 50.0%   partial  0        0       no      -\n", b.String())

	b.Reset()
	writeCacheSummary(&b, cellCtx{}, &api.CacheResponse{CacheDir: "/c", UsedBytes: 5, ActiveReason: "no ActiveWindows configured"})
	require.Equal(t, "Cache dir:   /c\nCapacity:    not limited by warmupd, used 5 B\nActive warm-up: off; no ActiveWindows configured\n\n", b.String())

	b.Reset()
	many := api.CacheResponse{}
	for i := 0; i < 7; i++ {
		many.Evictions = append(many.Evictions, api.CacheEviction{Dataset: "/jfs/x", At: testNow})
	}
	writeCacheSummary(&b, cellCtx{now: testNow}, &many)
	require.Contains(t, b.String(), "Recent evictions (7):\n")
	require.Contains(t, b.String(), "  2026-11-25T01:00:00Z  0 B  /jfs/x  \n", "RFC 3339 when not on a terminal")
	require.Contains(t, b.String(), "  … 2 more (see --json)\n")
}

func TestNewCommandsNeedTheDaemon(t *testing.T) {
	for _, args := range [][]string{{"prio"}, {"cache"}} {
		f, _, errOut := testFactory(t)
		require.Equal(t, exitDaemonDown, Main(context.Background(), f, args), "swarmup %v", args)
		require.Contains(t, errOut.String(), "warmupd is not running")
	}
	f, _, errOut := testFactory(t)
	require.Equal(t, exitUsage, Main(context.Background(), f, []string{"cache", "--format", "colour"}))
	require.Contains(t, errOut.String(), "valid fields: path,size,files,cached")
	f, _, errOut = testFactory(t)
	require.Equal(t, exitUsage, Main(context.Background(), f, []string{"prio", "--json", "--format", "taskid"}))
	require.Contains(t, errOut.String(), "cannot be combined")
}

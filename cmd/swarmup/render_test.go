package main

import (
	"bytes"
	"encoding/json"
	"github.com/accel-data/accel-data/internal/bytesize"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

var testNow = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)

func sampleEntries() []api.QueueEntry {
	return []api.QueueEntry{
		{TaskID: 7, Dataset: "/jfs/imagenet", State: api.TaskWarming, Priority: 1250.5, Bytes: 500 << 20, CachedBytes: 210 << 20,
			CachedRatio: 0.42, JobsWaiting: 3, CreatedAt: testNow.Add(-3*time.Minute - 12*time.Second)},
		{TaskID: 12, Dataset: "/jfs/coco", State: api.TaskQueued, Priority: 10, JobsWaiting: 1,
			Reason: "waiting for cache space", CreatedAt: testNow.Add(-42 * time.Second)},
	}
}

func renderQueue(t *testing.T, tty bool, width int, out OutputOptions, entries []api.QueueEntry) string {
	t.Helper()
	cols, err := selectColumns(queueColumns, queueDefaults, out.Format)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: tty, Width: width}, out, testNow, cols, entries))
	return b.String()
}

func TestQueueTableOnTTY(t *testing.T) {
	got := renderQueue(t, true, 0, OutputOptions{}, sampleEntries())
	require.Equal(t, ""+
		"TASKID  DATASET        STATE    PROGRESS            SIZE     CACHED   PRIORITY  JOBS  AGE    REASON\n"+
		"7       /jfs/imagenet  warming  [####------] 42.0%  500 MiB  210 MiB  1250.50   3     3m12s  -\n"+
		"12      /jfs/coco      queued   -                   -        -        10.00     1     42s    waiting for cache space\n", got)
}

func TestQueueTablePiped(t *testing.T) {
	got := renderQueue(t, false, 0, OutputOptions{}, sampleEntries())
	require.Equal(t, ""+
		"TASKID\tDATASET\tSTATE\tPROGRESS\tSIZE\tCACHED\tPRIORITY\tJOBS\tAGE\tREASON\n"+
		"7\t/jfs/imagenet\twarming\t42.0%\t500 MiB\t210 MiB\t1250.50\t3\t2026-11-25T00:56:48Z\t\n"+
		"12\t/jfs/coco\tqueued\t\t\t\t10.00\t1\t2026-11-25T00:59:18Z\twaiting for cache space\n", got)
}

func TestQueueFormatAndNoHeader(t *testing.T) {
	got := renderQueue(t, false, 0, OutputOptions{Format: "Dataset, state,progress", NoHeader: true}, sampleEntries())
	require.Equal(t, "/jfs/imagenet\twarming\t42.0%\n/jfs/coco\tqueued\t\n", got)
}

func TestUnknownFormatFieldListsValidOnes(t *testing.T) {
	_, err := selectColumns(queueColumns, queueDefaults, "dataset,colour")
	require.Error(t, err)
	require.Equal(t, exitUsage, codeFor(err))
	require.Contains(t, err.Error(), `unknown field "colour"`)
	require.Contains(t, err.Error(), "taskid,dataset,state,progress,size,cached,priority,jobs,age,reason")
}

func TestQueueTableFitsNarrowTerminal(t *testing.T) {
	e := sampleEntries()
	e[0].Dataset = "/jfs/datasets/vision/imagenet-21k/train/shards"
	got := renderQueue(t, true, 110, OutputOptions{}, e)
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		require.LessOrEqual(t, len([]rune(line)), 110, "line %q", line)
	}
	require.Contains(t, got, "train/shards", "the tail of a shortened dataset path stays visible")
	require.Contains(t, got, "…")
}

func TestJSONIsTheAPIObject(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, printJSON(&b, api.QueueResponse{Entries: sampleEntries()}))
	var back api.QueueResponse
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, sampleEntries(), back.Entries)
	require.Contains(t, b.String(), `"task_id": 7`)
}

func TestDatasetsTable(t *testing.T) {
	checked := testNow.Add(-2*time.Hour - 5*time.Minute)
	ds := []api.Dataset{
		{Path: "/jfs/imagenet", Bytes: 150 << 30, Files: 1281167, CachedBytes: 75 << 30, CachedRatio: 0.5,
			CheckedAt: &checked, RatioMethod: api.RatioSampled, RatioBound: 0.009, RatioSample: 32700, State: api.TaskWarm, JobsRunning: 2, JobsQueued: 1},
		{Path: "/jfs/new", Bytes: 512},
	}
	density, hit := 0.25, 0.999
	stale := testNow.Add(-2 * time.Minute)
	ds = append(ds, api.Dataset{Path: "/jfs/read", Bytes: 1 << 30, Files: 1, CachedBytes: 1 << 30, CachedRatio: 1, CheckedAt: &checked,
		RatioMethod: api.RatioWalked, StaleAt: &stale, StaleReason: api.StaleMissReport, StaleDetail: "job 7 on n1", State: api.TaskWarm})
	ds[0].ReadDensity, ds[0].HitRatio = &density, &hit
	cols, err := selectColumns(datasetColumns, datasetDefaults, "")
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, cols, ds))
	require.Equal(t, ""+
		"PATH           SIZE     FILES    CACHED   RATIO                CHECKED  HOW                                  STATE  RUNNING  QUEUED  DENSITY  HITRATIO\n"+
		"/jfs/imagenet  150 GiB  1281167  75 GiB   [#####-----] 50.0%   2h05m    sampled±0.9%                         warm   2        1       25.0%    99.9%\n"+
		"/jfs/new       512 B    0        0 B      [----------] 0.0%    -        -                                    -      0        0       -        -\n"+
		"/jfs/read      1.0 GiB  1        1.0 GiB  [##########] 100.0%  2h05m    walked stale: miss report 2m00s ago  warm   0        0       -        -\n", b.String())

	b.Reset()
	require.NoError(t, renderTable(&IOStreams{Out: &b}, OutputOptions{NoHeader: true, Format: "path,checked"}, testNow, mustCols(t, datasetColumns, datasetDefaults, "path,checked"), ds))
	require.Equal(t, "/jfs/imagenet\t2026-11-24T22:55:00Z\n/jfs/new\t\n/jfs/read\t2026-11-24T22:55:00Z\n", b.String())
	b.Reset()
	require.NoError(t, renderTable(&IOStreams{Out: &b}, OutputOptions{NoHeader: true, Format: "path,how"}, testNow, mustCols(t, datasetColumns, datasetDefaults, "path,how"), ds[2:]))
	require.Equal(t, "/jfs/read\twalked stale: miss report at 2026-11-25T00:58:00Z\n", b.String())
}

func mustCols[T any](t *testing.T, all []column[T], def []string, f string) []column[T] {
	cols, err := selectColumns(all, def, f)
	require.NoError(t, err)
	return cols
}

func TestWarmOutcomes(t *testing.T) {
	items := []api.SubmitItem{
		{Path: "/jfs/imagenet", Dataset: "/jfs/imagenet", TaskID: 7, State: api.TaskQueued, Outcome: "new"},
		{Path: "/jfs/imagenet/train", Dataset: "/jfs/imagenet", TaskID: 7, State: api.TaskQueued, Outcome: "covered"},
		{Path: "/jfs/coco", Dataset: "/jfs/coco", TaskID: 3, State: api.TaskWarm, Outcome: "joined"},
		{Path: "/jfs", Dataset: "/jfs", TaskID: 9, State: api.TaskQueued, Outcome: "absorbed"},
	}
	var b bytes.Buffer
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{}, testNow, mustCols(t, warmColumns, warmDefaults, ""), items))
	require.Equal(t, ""+
		"PATH                 OUTCOME                   TASKID  STATE\n"+
		"/jfs/imagenet        new                       7       queued\n"+
		"/jfs/imagenet/train  covered by /jfs/imagenet  7       queued\n"+
		"/jfs/coco            joined                    3       warm\n"+
		"/jfs                 absorbed                  9       queued\n", b.String())
}

func TestHumanFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 4 << 20: "4.0 MiB",
		499 << 20: "499 MiB", 1536 << 20: "1.5 GiB", 3 << 40: "3.0 TiB"} {
		require.Equal(t, want, bytesize.Short(n), "bytesize.Short(%d)", n)
	}
	for d, want := range map[time.Duration]string{-time.Second: "0s", 42 * time.Second: "42s",
		3*time.Minute + 12*time.Second: "3m12s", 2*time.Hour + 5*time.Minute: "2h05m", 76 * time.Hour: "3d04h"} {
		require.Equal(t, want, formatAge(d), "formatAge(%s)", d)
	}
	require.Equal(t, "99.9%", formatPercent(0.99996), "never rounds up to a misleading 100%")
	require.Equal(t, "100.0%", formatPercent(1))
	require.Equal(t, "[##########]", progressBar(1.2))
	require.Equal(t, "[----------]", progressBar(-1))
}

func TestQueueFilter(t *testing.T) {
	wd := func() (string, error) { return "/jfs", nil }
	all := append(sampleEntries(), api.QueueEntry{TaskID: 1, Dataset: "/jfs/imagenet-old", State: api.TaskWarm})
	f, err := newQueueFilter(&QueueOptions{Getwd: wd, Datasets: []string{"imagenet"}})
	require.NoError(t, err)
	require.False(t, f.wantsTerminal)
	got := f.apply(all)
	require.Len(t, got, 1, "/jfs/imagenet-old is not under /jfs/imagenet")
	require.Equal(t, int64(7), got[0].TaskID)

	f, err = newQueueFilter(&QueueOptions{Getwd: wd, States: []string{"queued", "WARM"}})
	require.NoError(t, err)
	require.True(t, f.wantsTerminal, "asking for warm tasks must fetch finished ones")
	got = f.apply(all)
	require.Equal(t, []int64{12, 1}, []int64{got[0].TaskID, got[1].TaskID})

	_, err = newQueueFilter(&QueueOptions{Getwd: wd, States: []string{"hot"}})
	require.Equal(t, exitUsage, codeFor(err))
	require.Contains(t, err.Error(), "valid states: queued,warming,warm,partial,failed,cancelled,evicted")
}

func TestTrackTasksFollowsCoveringParent(t *testing.T) {
	items := []api.SubmitItem{
		{Path: "/jfs/a/x", TaskID: 5},
		{Path: "/jfs/a/y", TaskID: 5},
		{Path: "/jfs/b", TaskID: 6},
	}
	entries := []api.QueueEntry{
		{TaskID: 5, Dataset: "/jfs/a/x", State: api.TaskCancelled},
		{TaskID: 9, Dataset: "/jfs", State: api.TaskWarming},
		{TaskID: 6, Dataset: "/jfs/b", State: api.TaskWarm},
	}
	got, err := trackTasks(items, entries)
	require.NoError(t, err)
	require.Equal(t, []int64{5, 6}, []int64{got[0].TaskID, got[1].TaskID}, "a task still listed is followed by id, once")

	got, err = trackTasks([]api.SubmitItem{{Path: "/jfs/c", TaskID: 77}}, entries)
	require.NoError(t, err)
	require.Equal(t, int64(9), got[0].TaskID, "a vanished task is followed to the parent that covers it")

	_, err = trackTasks([]api.SubmitItem{{Path: "/other", TaskID: 77}}, entries)
	require.ErrorContains(t, err, "swarmup warm /other")
}

func TestProgressRedrawFitsTerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&IOStreams{ErrOut: &b, ErrIsTTY: true, Width: 60})
	tasks := []api.QueueEntry{{TaskID: 1, Dataset: "/jfs/datasets/vision/imagenet-21k/train", State: api.TaskWarming,
		Bytes: 172 << 20, CachedBytes: 72 << 20, CachedRatio: 72.0 / 172}}
	p.show(testNow, tasks)
	require.Equal(t, "warming  [####------] 41.8%  72 MiB/172 MiB  …net-21k/train\n", b.String())
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		require.Less(t, len([]rune(l)), 60, "a wrapped line would break the redraw")
	}
	b.Reset()
	tasks[0].State, tasks[0].CachedRatio, tasks[0].CachedBytes = api.TaskWarm, 1, 172<<20
	p.show(testNow, tasks)
	require.True(t, strings.HasPrefix(b.String(), "\x1b[1A\x1b[J"), "the second frame replaces the first: %q", b.String())
	require.Contains(t, b.String(), "warm     [##########] 100.0%")
}

func TestProgressLinesWhenNotATerminal(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&IOStreams{ErrOut: &b})
	e := api.QueueEntry{TaskID: 3, Dataset: "/jfs/laion", State: api.TaskWarming}
	p.show(testNow, []api.QueueEntry{e})
	p.show(testNow, []api.QueueEntry{e})
	e.State, e.CachedRatio, e.Reason = api.TaskPartial, 0.5, "verified below target"
	p.show(testNow, []api.QueueEntry{e})
	require.Equal(t, "2026-11-25T01:00:00Z task 3 /jfs/laion warming 0.0%\n"+
		"2026-11-25T01:00:00Z task 3 /jfs/laion partial 50.0% (verified below target)\n", b.String(), "one line per state change")
}

// A listing shows the stored state; its CHECKED field says how old the
// check behind a "warm" is (GET /v1/queue carries checked_at).
func TestQueueCheckedField(t *testing.T) {
	checked := testNow.Add(-90 * time.Second)
	es := []api.QueueEntry{
		{TaskID: 1, Dataset: "/jfs/a", State: api.TaskWarm, CheckedAt: &checked},
		{TaskID: 2, Dataset: "/jfs/b", State: api.TaskQueued},
	}
	var b bytes.Buffer
	f := "taskid,state,checked"
	require.NoError(t, renderTable(&IOStreams{Out: &b, IsTTY: true}, OutputOptions{Format: f}, testNow, mustCols(t, queueColumns, queueDefaults, f), es))
	require.Equal(t, ""+
		"TASKID  STATE   CHECKED\n"+
		"1       warm    1m30s\n"+
		"2       queued  -\n", b.String())
}

// Jobs Slurm lists as waiting for a task's data (GET /v1/queue carries
// them in waiting) are named in its REASON, after the task's own reason;
// --json carries them as they are.
func TestQueueReasonShowsWaitingJobs(t *testing.T) {
	seen := testNow.Add(-20 * time.Second)
	es := sampleEntries()
	es[0].Waiting = []api.SlurmWait{{Stage: "stage-in", Reason: "BurstBufferStageIn", JobIDs: []uint64{41, 42}, SeenAt: seen}}
	es[1].Waiting = []api.SlurmWait{
		{Stage: "stage-in", Reason: "BurstBufferStageIn", JobIDs: []uint64{1, 2, 3, 4}, SeenAt: seen},
		{Stage: "prolog", Reason: "Prolog", JobIDs: []uint64{9}, SeenAt: seen},
	}
	got := renderQueue(t, false, 0, OutputOptions{Format: "taskid,reason"}, es)
	require.Equal(t, ""+
		"TASKID\tREASON\n"+
		"7\tjobs 41,42 waiting in stage-in (BurstBufferStageIn)\n"+
		"12\twaiting for cache space; 4 jobs waiting in stage-in (BurstBufferStageIn); job 9 waiting in prolog (Prolog)\n", got)

	var b bytes.Buffer
	require.NoError(t, printJSON(&b, api.QueueResponse{Entries: es[:1]}))
	var back api.QueueResponse
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	require.Equal(t, es[0].Waiting, back.Entries[0].Waiting)
	require.Contains(t, b.String(), `"job_ids": [`)
}

// `swarmup job ID` of a job that read nothing yet and waits in its stage-in
// says so in one line, with its warm-up's progress.
func TestJobWaitingLine(t *testing.T) {
	st := &api.JobStatus{JobID: 43, State: api.JobSubmitted,
		Datasets: []api.JobDataset{{Dataset: "/jfs/imagenet", State: api.TaskWarming, Bytes: 1000, CachedBytes: 400, WarmRateBps: 5}},
		Waiting:  &api.SlurmWait{Stage: "stage-in", Reason: "BurstBufferStageIn", JobIDs: []uint64{43}, SeenAt: testNow.Add(-20 * time.Second)}}
	require.Equal(t, "Job 43: waiting in stage-in (BurstBufferStageIn) for its data, 40% warm, ETA 2m (squeue 20s ago); no I/O yet",
		JobWaiting(testNow, st))
}

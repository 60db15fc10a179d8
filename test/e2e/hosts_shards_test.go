package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// A dataset is warmed as a 3-shard Slurm job array on the three compute
// hosts (WarmupPartition=warm): squeue lists the array's tasks running on
// c1, c2 and c3, `swarmup shards` shows it; one array task is cancelled
// while it runs (a preemption) and its shard is submitted again; the
// dataset ends warm, verified by --check on svc.
func TestHostsShardsAsJobArray(t *testing.T) {
	hc := useHosts(t)
	hc.computeBandwidth(t, 8)
	spool := filepath.Join(hc.dir, "spool")
	w := setup(t, true, "8", "--warmup-partition", "warm", "--warmup-max-nodes", "3", "--warmup-min-bytes", "1MiB",
		"--warmup-spool", spool, "--warmup-runner", cl.prolog, "--check-interval", "300ms")
	ds := w.vol.WriteFiles(t, "ds", 30, 4*mib) // 120 MiB: three shards of 40 MiB, ~5 s each at 8 MiB/s
	swarmup := testutil.Binary(t, "cmd/swarmup")
	ctx := context.Background()
	_, err := w.d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)

	// squeue on login: the array's three tasks running on three nodes.
	job := waitArrayRunning(t, 3)
	// swarmup, from login over TCP, shows the array.
	out, err := w.swarmup(t, swarmup, "shards", "--json")
	require.NoError(t, err, "%s", out)
	var sh api.ShardsResponse
	require.NoError(t, json.Unmarshal(out, &sh), "%s", out)
	require.Len(t, sh.Arrays, 1, "%s", out)
	require.Equal(t, ds, sh.Arrays[0].Dataset)
	require.Equal(t, job, sh.Arrays[0].JobID)
	require.Equal(t, 3, sh.Arrays[0].Total)
	out, err = w.swarmup(t, swarmup, "shards", "--noheader", "--format", "job,shards")
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `^`+job+`\s+[0-3]/3\n$`, string(out))

	// A preemption: array task 1 is cancelled while it runs.
	_, stderr, err := run(t, nil, "scancel", job+"_1")
	require.NoError(t, err, "%s", stderr)

	w.waitWarm(t, ds, 3*time.Minute)
	e := w.tasksFor(t, ds)[0]
	require.Equal(t, jfs.MaxRoundedRatio, e.CachedRatio, "verified by --check on svc")
	require.Equal(t, 1, e.Attempts, "one attempt: the shard was retried, not the task")
	require.Equal(t, 1, w.d.CountLogs("shards submitted as a Slurm job array", `"job":"`+job+`"`))
	require.GreaterOrEqual(t, w.d.CountLogs("shard submitted again", `"shard":1`)+w.d.CountLogs("shard warmed on this node instead", `"shard":1`), 1,
		"the cancelled shard was retried")
	for i := range 3 {
		require.Equal(t, 1, w.d.CountLogs(`"message":"shard warm"`, `"shard":`+strconv.Itoa(i)), "shard %d reported warm once", i)
	}
}

// waitArrayRunning waits (90 s at most) until squeue on login lists tasks of
// an accel-warm- array running on nodes distinct nodes, and returns the
// array's job id.
func waitArrayRunning(t *testing.T, nodes int) string {
	t.Helper()
	var job, last string
	nodesSeen := map[string]bool{}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline) && len(nodesSeen) < nodes; time.Sleep(100 * time.Millisecond) {
		out, _, err := run(t, nil, "squeue", "--noheader", "--array", "--states=RUNNING", "--format=%i %j %N")
		require.NoError(t, err)
		last = out
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) == 3 && strings.HasPrefix(f[1], "accel-warm-") {
				job, _, _ = strings.Cut(f[0], "_")
				nodesSeen[f[2]] = true
			}
		}
	}
	require.Len(t, nodesSeen, nodes, "squeue never showed the array on %d nodes; last:\n%s", nodes, last)
	return job
}

// arrayOnThreeHosts starts warmupd on svc with job arrays on (3 s lease,
// a warm-up taken up again soon after a crash), submits a dataset named
// name of files 4 MiB files (30: three shards of 40 MiB, ~5 s each at
// 8 MiB/s) and waits for its array to run on c1–c3; it returns the world,
// the dataset and the array's job id.
func arrayOnThreeHosts(t *testing.T, name string, files int) (*world, string, string) {
	t.Helper()
	hc := useHosts(t)
	hc.computeBandwidth(t, 8)
	spool := filepath.Join(hc.dir, "spool")
	w := setup(t, true, "8", "--warmup-partition", "warm", "--warmup-max-nodes", "3", "--warmup-min-bytes", "1MiB",
		"--warmup-spool", spool, "--warmup-runner", cl.prolog, "--check-interval", "300ms", "--lease", "3s")
	ds := w.vol.WriteFiles(t, name, files, 4*mib)
	_, err := w.d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	return w, ds, waitArrayRunning(t, 3)
}

// warmupd crashes while a warm-up's shards run as a job array and comes
// back: it follows the array it had submitted (kept in its store) instead
// of walking and warming the dataset again; the shards' reports sent while
// it was down or after it came back are taken; no shard is submitted or
// warmed a second time; the dataset ends warm, verified.
func TestHostsShardsFollowedAcrossRestart(t *testing.T) {
	w, ds, job := arrayOnThreeHosts(t, "restart", 30)

	w.d.Kill() // a crash: the task is taken up again once its 3 s lease expires
	time.Sleep(time.Second)
	w.d.Start()

	w.waitWarm(t, ds, 2*time.Minute)
	e := w.tasksFor(t, ds)[0]
	require.Equal(t, jfs.MaxRoundedRatio, e.CachedRatio, "verified by --check on svc")
	require.Equal(t, 1, w.d.CountLogs("shards submitted as a Slurm job array"), "one array, submitted before the crash")
	require.Equal(t, 1, w.d.CountLogs("following the Slurm job array submitted before warmupd restarted", `"job":"`+job+`"`))
	require.Equal(t, 1, w.d.CountLogs(`"message":"warm-up started"`), "the dataset was walked once, before the crash")
	require.Zero(t, w.d.CountLogs("shard submitted again")+w.d.CountLogs("shard warmed on this node instead"), "no shard warmed twice")
}

// warmupd dies between `sbatch` and saving the job id it printed (made
// here by killing it and erasing the ids it saved): the restarted warmupd
// finds the array by its comment (the run it names) and follows it; it
// submits no shard a second time, and the dataset ends warm, verified.
func TestHostsShardsUnrecordedArrayFound(t *testing.T) {
	w, ds, job := arrayOnThreeHosts(t, "unrecorded", 30)

	w.d.Kill()
	db, err := sql.Open("sqlite3", w.d.Database)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE shard_arrays SET job_id = ''; UPDATE array_shards SET job_id = '', node = '', state = ? WHERE state != ?`,
		string(api.ShardPending), string(api.ShardDone))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	w.d.Start()

	w.waitWarm(t, ds, 2*time.Minute)
	e := w.tasksFor(t, ds)[0]
	require.Equal(t, jfs.MaxRoundedRatio, e.CachedRatio, "verified by --check on svc")
	require.Equal(t, 1, w.d.CountLogs("shards submitted as a Slurm job array"), "one array, submitted before the crash")
	require.Equal(t, 1, w.d.CountLogs("found the job array warmupd submitted but did not record", `"job":"`+job+`"`))
	require.Zero(t, w.d.CountLogs("shard submitted again")+w.d.CountLogs("shard warmed on this node instead"), "no shard warmed twice")
}

// warmupd dies between `sbatch` of a retried shard and saving the job id
// sbatch printed (made here by killing it as soon as it has submitted the
// shard again, and erasing that id): the restarted warmupd finds the
// retry's own array by its comment (the run, the shard and its try) and
// follows it, instead of submitting the shard a third time; the dataset
// ends warm, verified.
func TestHostsShardsUnrecordedRetryFound(t *testing.T) {
	w, ds, job := arrayOnThreeHosts(t, "unrecorded-retry", 30)

	// A preemption of array task 1; warmupd submits the shard again.
	_, stderr, err := run(t, nil, "scancel", job+"_1")
	require.NoError(t, err, "%s", stderr)
	var line string
	for deadline := time.Now().Add(time.Minute); line == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, l := range strings.Split(w.d.Logs(), "\n") {
			if strings.Contains(l, "shard submitted again") && strings.Contains(l, `"shard":1,`) {
				line = l
			}
		}
	}
	require.NotEmpty(t, line, "warmupd did not submit the cancelled shard again:\n%s", w.d.Logs())
	w.d.Kill()
	var logged struct {
		Job string `json:"job"`
		Try int    `json:"try"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &logged), "%s", line)
	require.NotEqual(t, job, logged.Job, "a new job of its own")
	require.Equal(t, 2, logged.Try)

	// The crash came before the id was saved: the store has the try, no job.
	db, err := sql.Open("sqlite3", w.d.Database)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE array_shards SET job_id = '', node = '', state = ? WHERE idx = 1 AND state != ?`,
		string(api.ShardPending), string(api.ShardDone))
	require.NoError(t, err)
	var attempts int
	require.NoError(t, db.QueryRow(`SELECT attempts FROM array_shards WHERE idx = 1`).Scan(&attempts))
	require.NoError(t, db.Close())
	require.Equal(t, 2, attempts, "the try is recorded")
	w.d.Start()

	w.waitWarm(t, ds, 2*time.Minute)
	e := w.tasksFor(t, ds)[0]
	require.Equal(t, jfs.MaxRoundedRatio, e.CachedRatio, "verified by --check on svc")
	require.Equal(t, 1, w.d.CountLogs("found the job array warmupd submitted but did not record", `"job":"`+logged.Job+`"`, `"shard":1,`, `"try":2`),
		"the retry found by its comment:\n%s", w.d.Logs())
	require.Equal(t, 1, w.d.CountLogs("shard submitted again"), "shard 1 submitted again once, before the crash")
	require.Zero(t, w.d.CountLogs("shard warmed on this node instead"), "no shard warmed on svc")
}

// A warm-up ends (cancelled) while warmupd is down, and warmupd had died
// before recording its job array's id (made here by killing it, erasing
// the ids and marking the task cancelled in its database): the restarted
// warmupd finds the array by its comment and cancels it, so no shard goes
// on warming data nobody wants.
func TestHostsShardsUnrecordedArrayCancelled(t *testing.T) {
	// Shards of 200 MiB: 25 s each at 8 MiB/s, so the array is still there
	// when warmupd comes back.
	w, _, job := arrayOnThreeHosts(t, "unrecorded-cancelled", 150)
	w.d.Kill()
	db, err := sql.Open("sqlite3", w.d.Database)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE shard_arrays SET job_id = ''; UPDATE array_shards SET job_id = '', node = '', state = ? WHERE state != ?;
		UPDATE tasks SET state = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id IN (SELECT task_id FROM shard_arrays)`,
		string(api.ShardPending), string(api.ShardDone), string(api.TaskCancelled))
	require.NoError(t, err)
	require.NoError(t, db.Close())
	w.d.Start()

	// Gone from squeue: it lists nothing for it, or no longer knows the id.
	gone := func() (bool, string) {
		out, stderr, err := run(t, nil, "squeue", "--noheader", "--array", "--jobs="+job, "--format=%i %T")
		if err != nil {
			return strings.Contains(stderr, "Invalid job id"), stderr
		}
		return strings.TrimSpace(out) == "", out
	}
	ok, last := gone()
	for deadline := time.Now().Add(15 * time.Second); !ok && time.Now().Before(deadline); ok, last = gone() {
		time.Sleep(200 * time.Millisecond)
	}
	require.True(t, ok, "the array still runs: squeue says\n%s\nwarmupd's log:\n%s", last, w.d.Logs())
	require.Equal(t, 1, w.d.CountLogs("the warm-up of this job array ended while warmupd was down"))
	require.Equal(t, 1, w.d.CountLogs("found the job array warmupd submitted but did not record", `"job":"`+job+`"`), "%s", w.d.Logs())
}

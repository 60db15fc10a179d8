package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// Stage-in mode (issue 12) runs on a cluster of its own: the same
// up.sh with ACCEL_STAGEIN set (BurstBufferType=burst_buffer/lua, contrib's
// burst_buffer.lua, job_submit.lua with STAGE_IN = true), so the other
// tests keep the prolog-only cluster. Slurm gives burst buffers to non-root
// jobs only: the jobs here are nobody's.

const stageinUser = 65534 // nobody

var stageinCluster struct {
	once sync.Once
	dir  string
	err  error
}

// startStagein brings the stage-in cluster up once per test binary.
func startStagein(t testing.TB) string {
	t.Helper()
	stageinCluster.once.Do(func() {
		dir := filepath.Join(cl.base, "stagein")
		up := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "up.sh"), dir, strconv.Itoa(nodes))
		up.Env = append(os.Environ(), "ACCEL_BIN="+cl.bin, "ACCEL_SOCKET="+cl.socket, "ACCEL_PREFIX="+cl.base,
			"ACCEL_PROLOG_WAIT=60s", "ACCEL_POLL=100ms", "ACCEL_STAGEIN=2m")
		if out, err := up.CombinedOutput(); err != nil {
			stageinCluster.err = fmt.Errorf("up.sh with ACCEL_STAGEIN: %v\n%s", err, out)
			return
		}
		stageinCluster.dir = dir
	})
	require.NoError(t, stageinCluster.err)
	return stageinCluster.dir
}

// stopStagein stops the stage-in cluster if a test started it.
func stopStagein() {
	if stageinCluster.dir == "" {
		return
	}
	if out, err := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "down.sh"), stageinCluster.dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: down.sh stagein: %v\n%s", err, out)
	}
}

// useStagein makes the helpers drive the stage-in cluster until the test
// ends, with accel-data.conf's StageInDeadline=2m replaced by lines. Call it
// before setup, so warmupd's squeue and scontrol reach this cluster.
func useStagein(t *testing.T, lines string) {
	t.Helper()
	dir := startStagein(t)
	saved := cl
	cl.dir = dir
	cl.conf = filepath.Join(dir, "etc", "slurm.conf")
	cl.accelCfg = filepath.Join(dir, "etc", "accel-data.conf")
	t.Setenv("SLURM_CONF", cl.conf)
	orig := readFile(cl.accelCfg)
	require.Contains(t, orig, "StageInDeadline=2m")
	require.NoError(t, os.WriteFile(cl.accelCfg, []byte(strings.Replace(orig, "StageInDeadline=2m", lines, 1)), 0o644))
	t.Cleanup(func() {
		_, _, _ = run(t, nil, "scancel", "--full", "-u", strconv.Itoa(stageinUser))
		_ = os.WriteFile(cl.accelCfg, []byte(orig), 0o644)
		cl = saved
	})
}

// sbatchStagein submits the read script for ds as nobody and returns the job
// id; ds and its parents up to the test's base become readable by nobody
// (t.TempDir makes them private).
func sbatchStagein(t *testing.T, ds string) uint64 {
	t.Helper()
	for d := filepath.Dir(ds); strings.HasPrefix(d, cl.base+"/"); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	out := filepath.Join(cl.base, "stagein-out")
	require.NoError(t, os.MkdirAll(out, 0o755))
	require.NoError(t, os.Chmod(out, 0o1777))
	stdout, stderr, err := runAs(t, stageinUser, nil, "sbatch", "--parsable", "-o", filepath.Join(out, "%j.out"), "-N1",
		"--accel-data="+ds, filepath.Join(cl.jobs, "read.sh"), ds)
	require.NoError(t, err, "sbatch: %s", stderr)
	id, err := strconv.ParseUint(strings.TrimSpace(strings.Split(stdout, ";")[0]), 10, 64)
	require.NoError(t, err, "sbatch output %q", stdout)
	return id
}

// stageinLine waits for the stage-in's line of verb ("queued", or the wait's
// reason) for job id in slurmctld's log, where burst_buffer.lua logs it.
func stageinLines(id uint64) []string {
	var out []string
	for _, l := range strings.Split(readFile(filepath.Join(cl.dir, "log", "slurmctld.log")), "\n") {
		if strings.Contains(l, fmt.Sprintf("JobId=%d accel-data stage-in:", id)) {
			out = append(out, l)
		}
	}
	return out
}

// squeueLine is squeue's "state reason comment" of job id ("" when gone).
func squeueLine(t *testing.T, id uint64) string {
	t.Helper()
	out, _, _ := run(t, nil, "squeue", "-h", "-j", strconv.FormatUint(id, 10), "-o", "%T|%r|%k")
	return strings.TrimSpace(out)
}

// A job naming a cold dataset stays PENDING (BurstBufferStageIn) while its
// data warms, holding no node, with the progress in its squeue comment; it
// starts once the data is warm, and its prolog finds the data warm.
//
// The comment may first say the warm-up is queued (it has not started yet).
func TestStageInWarmsWhilePending(t *testing.T) {
	useStagein(t, "StageInDeadline=2m")
	scontrol, err := exec.LookPath("scontrol")
	require.NoError(t, err)
	squeue, err := exec.LookPath("squeue")
	require.NoError(t, err)
	w := setup(t, true, "4", "--squeue", squeue, "--squeue-interval", "500ms", "--squeue-progress", "1s", "--scontrol", scontrol)
	ds := w.vol.WriteFiles(t, "stagein", 10, 4*mib) // 40 MiB at 4 MiB/s: about 10 s

	swarmup := testutil.Binary(t, "cmd/swarmup")
	id := sbatchStagein(t, ds)
	var pending bool
	var progress []string // the distinct comments squeue showed while the job was in stage-in
	// swarmup's REASON names the job while warmupd's squeue poll lists it in its stage-in.
	shown := fmt.Sprintf("%s\tjob %d waiting in stage-in (BurstBufferStageIn)", ds, id)
	var sawSwarmup bool
	var lastSwarmup string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		l := squeueLine(t, id)
		if c, ok := strings.CutPrefix(l, "PENDING|BurstBufferStageIn|"); ok {
			pending = true
			if strings.Contains(c, "accel-data: ") && (len(progress) == 0 || progress[len(progress)-1] != c) {
				progress = append(progress, c)
			}
			if !sawSwarmup {
				out, err := w.swarmup(t, swarmup, "--noheader", "--format", "dataset,reason")
				require.NoError(t, err, "%s", out)
				lastSwarmup = string(out)
				sawSwarmup = strings.Contains(lastSwarmup, shown)
			}
		}
		if !strings.HasPrefix(l, "PENDING") {
			break
		}
	}
	require.True(t, pending, "job %d was never PENDING with reason BurstBufferStageIn; logs:\n%s", id, tailLogs())
	require.NotEmpty(t, progress, "squeue never showed the warm-up's progress in job %d's comment", id)
	for _, c := range progress {
		require.Regexp(t, `^accel-data: (warm-up queued|\d+% warm)`, c, "each comment says queued or how much is warm")
	}
	require.True(t, slices.ContainsFunc(progress, func(c string) bool { return warmPct.MatchString(c) }),
		"squeue showed no percentage while the job was pending: %q", progress)
	t.Logf("squeue comments while pending: %q", progress)
	require.True(t, sawSwarmup, "swarmup never showed %q while job %d was pending; last output:\n%s", shown, id, lastSwarmup)
	t.Logf("swarmup while pending:\n%s", lastSwarmup)

	waitDone(t, 120*time.Second, id)
	tasks := w.tasksFor(t, ds)
	require.Len(t, tasks, 1)
	require.Equal(t, "warm", string(tasks[0].State))
	ls := stageinLines(id)
	require.Len(t, ls, 2, "one line from start, one from wait: %v", ls)
	require.Contains(t, ls[0], "warm-up queued")
	require.Contains(t, ls[1], "data warm after")
	line := waitPrologLine(t, id, "prolog")
	require.Contains(t, line, "reason=warm", "the stage-in warmed the data before the job got its node")
	t.Logf("prolog: %s", line)
	// Between the stage-in's end and the job's start (a scheduling pass
	// later) the comment turns to the final line.
	show, _, _ := run(t, nil, "scontrol", "show", "job", strconv.FormatUint(id, 10))
	require.Regexp(t, `Comment=accel-data: warm\s*\n`, show)
	out := parseOutput(t, readFile(filepath.Join(cl.base, "stagein-out", fmt.Sprintf("%d.out", id))))
	require.Equal(t, int64(40*mib), out.Read[ds])
	requireNoDrain(t)
}

// With warmupd down the stage-in gives up and the job starts; past
// StageInDeadline the job starts while the warm-up goes on.
func TestStageInNeverHoldsAJob(t *testing.T) {
	t.Run("warmupd down", func(t *testing.T) {
		useStagein(t, "StageInDeadline=2m\nPrologReconnect=1s")
		w := setup(t, false, "")
		id := sbatchStagein(t, w.vol.WriteFiles(t, "down", 2, mib))
		waitDone(t, 120*time.Second, id)
		ls := stageinLines(id)
		require.NotEmpty(t, ls)
		require.Contains(t, ls[len(ls)-1], "warmupd did not answer")
		require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=daemon-down")
		requireNoDrain(t)
	})
	t.Run("deadline", func(t *testing.T) {
		useStagein(t, "StageInDeadline=3s\nPrologWait=2s\nPrologStopEarly=false")
		w := setup(t, true, "1")
		ds := w.vol.WriteFiles(t, "slow", 10, 4*mib) // 40 MiB at 1 MiB/s: about 40 s
		id := sbatchStagein(t, ds)
		waitDone(t, 120*time.Second, id)
		ls := stageinLines(id)
		require.Len(t, ls, 2, "%v", ls)
		require.Contains(t, ls[1], "StageInDeadline reached")
		require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=timeout", "the job started before its data was warm")
		requireNoDrain(t)
	})
}

// A job waiting in its prolog (the path without stage-in) shows the
// progress too: squeue lists it RUNNING with reason Prolog and the comment.
func TestProgressInSqueueWhilePrologWaits(t *testing.T) {
	scontrol, err := exec.LookPath("scontrol")
	require.NoError(t, err)
	squeue, err := exec.LookPath("squeue")
	require.NoError(t, err)
	w := setup(t, true, "4", "--squeue", squeue, "--squeue-interval", "300ms", "--squeue-progress", "500ms", "--scontrol", scontrol)
	ds := w.vol.WriteFiles(t, "prolog", 10, 4*mib) // 40 MiB at 4 MiB/s: about 10 s

	id, _ := sbatch(t, node(1), ds, nil, ds)
	var seen []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		l := squeueLine(t, id)
		if c, ok := strings.CutPrefix(l, "RUNNING|Prolog|"); ok && strings.Contains(c, "accel-data: ") {
			if len(seen) == 0 || seen[len(seen)-1] != c {
				seen = append(seen, c)
			}
		}
		if l == "" || strings.HasPrefix(l, "COMPLETING") || (strings.HasPrefix(l, "RUNNING|") && !strings.HasPrefix(l, "RUNNING|Prolog|")) {
			break
		}
	}
	t.Logf("squeue comments while the prolog waited: %q", seen)
	require.NotEmpty(t, seen, "squeue never showed the progress while job %d waited in its prolog", id)
	require.Regexp(t, `^accel-data: (\d+% warm|warm-up queued)`, seen[0])
	waitDone(t, 90*time.Second, id)
	require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=warm")
}

// warmPct matches a progress comment with a percentage.
var warmPct = regexp.MustCompile(`^accel-data: \d+% warm`)

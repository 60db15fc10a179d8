package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

const mib = 1 << 20

// Scenario 1: three jobs on three nodes name one 200 MiB dataset: one
// warm-up; each job starts only when the data is warm and reads it; swarmup
// shows the dataset with three jobs waiting.
func TestThreeJobsOneWarmup(t *testing.T) {
	w := setup(t, true, "50") // 200 MiB at 50 MiB/s: about 4 s of warming
	ds := w.vol.WriteFiles(t, "imagenet", 50, 4*mib)
	swarmup := testutil.Binary(t, "cmd/swarmup")

	submitted := time.Now()
	var ids []uint64
	for i := 1; i <= nodes; i++ {
		id, stderr := sbatch(t, node(i), ds, nil, ds)
		require.NotContains(t, stderr, "warning", "warmupd is up: no warning expected")
		ids = append(ids, id)
	}

	// swarmup, as a user would run it, while the data warms.
	sawThree := false
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !sawThree; {
		out, err := w.swarmup(t, swarmup, "--all", "--noheader", "--format", "dataset,state,jobs")
		require.NoError(t, err, "swarmup: %s", out)
		last = string(out)
		for _, l := range strings.Split(last, "\n") {
			f := strings.Split(l, "\t")
			if len(f) == 3 && f[0] == ds && f[2] == "3" && (f[1] == "queued" || f[1] == "warming") {
				sawThree = true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.True(t, sawThree, "swarmup never showed %s warming with 3 jobs; last output:\n%s", ds, last)

	waitDone(t, 90*time.Second, ids...)
	tasks := w.tasksFor(t, ds)
	require.Len(t, tasks, 1, "exactly one warm-up for the shared dataset: %+v", w.queue(t))
	require.Equal(t, "warm", string(tasks[0].State))
	require.Len(t, w.queue(t), 1, "no other task was created")

	nodesSeen := map[string]bool{}
	for _, id := range ids {
		line := waitPrologLine(t, id, "prolog")
		require.Contains(t, line, "reason=warm", "the prolog released job %d because the data was warm", id)
		o := readOutput(t, id)
		nodesSeen[o.Node] = true
		require.Equal(t, int64(200*mib), o.Read[ds], "job %d read the whole dataset", id)
		require.Greater(t, o.Start.Sub(submitted), 2*time.Second, "job %d started before 200 MiB at 50 MiB/s could be warm", id)
		require.Contains(t, waitPrologLine(t, id, "epilog"), "reason=ended")
	}
	require.Len(t, nodesSeen, nodes, "the jobs ran on three nodes")
}

// Scenario 2: /a and /a/sub make one warm-up of /a.
func TestParentCoversChild(t *testing.T) {
	w := setup(t, true, "100")
	a := w.vol.WriteFiles(t, "a", 4, 4*mib)
	sub := w.vol.WriteFiles(t, "a/sub", 2, 4*mib)

	id1, _ := sbatch(t, node(1), a, nil, a)
	id2, _ := sbatch(t, node(2), sub, nil, sub)
	waitDone(t, 60*time.Second, id1, id2)

	// /a/sub is covered by /a while /a is queued or warming; if /a was warm
	// already, /a/sub got a task of its own (new data under a warm parent is
	// not warm), whose first check found it warm without a warm-up.
	q := w.queue(t)
	require.Equal(t, 1, w.d.CountLogs("warm-up started"), "one warm-up only: %+v", q)
	require.Equal(t, 1, w.d.CountLogs("warm-up started", `"dataset":"`+a+`"`), "of %s", a)
	for _, e := range q {
		require.Equal(t, "warm", string(e.State), "%+v", e)
	}
	require.Contains(t, waitPrologLine(t, id2, "prolog"), "reason=warm")
	require.Equal(t, int64(8*mib), readOutput(t, id2).Read[sub])
}

// Scenario 3: warmupd is down: sbatch warns, the job runs, no node drains.
func TestDaemonDown(t *testing.T) {
	// The prolog tries to reach warmupd for PrologReconnect (default 30s) before giving up.
	setPrologConfig(t, "PrologWait=60s\nPrologReconnect=2s")
	w := setup(t, false, "")
	ds := w.vol.WriteFiles(t, "ds", 2, mib)

	start := time.Now()
	id, stderr := sbatch(t, "", ds, nil, ds)
	took := time.Since(start)
	require.Contains(t, stderr, "accel-data: warning: warmupd did not answer")
	require.Equal(t, 1, strings.Count(stderr, "accel-data:"), "one warning line:\n%s", stderr)
	require.Less(t, took, 5*time.Second)
	waitDone(t, 60*time.Second, id)
	require.Equal(t, int64(2*mib), readOutput(t, id).Read[ds])
	require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=daemon-down")
	require.Contains(t, waitPrologLine(t, id, "epilog"), "reason=daemon-down")

	if cl.hosts != nil {
		return // the rest is about the unix socket
	}
	// A socket file nobody listens on (a crashed daemon) behaves the same.
	require.NoError(t, os.Symlink(filepath.Join(cl.base, "no-such.sock"), cl.socket))
	id, stderr = sbatch(t, "", ds, nil, ds)
	require.Contains(t, stderr, "accel-data: warning: warmupd did not answer")
	waitDone(t, 60*time.Second, id)
}

// Scenario 4: the warm-up is slower than the prolog's deadline: the job
// starts after the deadline, the node is not drained, the log says why, the
// warm-up goes on in the background.
func TestPrologDeadline(t *testing.T) {
	// Early stop off: this scenario is about the hard deadline.
	setPrologConfig(t, "PrologWait=2s\nPrologStopEarly=false")
	require.Contains(t, readFile(cl.accelCfg), "PrologWait=2s")

	w := setup(t, true, "10") // 100 MiB at 10 MiB/s: about 10 s
	ds := w.vol.WriteFiles(t, "slow", 25, 4*mib)

	submitted := time.Now()
	id, _ := sbatch(t, node(2), ds, nil, ds)
	waitDone(t, 60*time.Second, id)
	line := waitPrologLine(t, id, "prolog")
	require.Contains(t, line, "reason=timeout")
	require.Contains(t, line, "warm-up continues in the background")
	o := readOutput(t, id)
	require.Greater(t, o.Start.Sub(submitted), 2*time.Second, "the job waited for the prolog's deadline")
	require.Less(t, o.Start.Sub(submitted), 9*time.Second, "the job did not wait for the whole warm-up")
	requireNoDrain(t)
	w.waitWarm(t, ds, 40*time.Second)
	require.Len(t, w.tasksFor(t, ds), 1)
}

// Scenario 4b: with the measured warm-up speed, the prolog sees that the
// data cannot be warm within PrologWait and lets the job start early
// instead of holding its GPUs until the deadline.
func TestPrologStopsEarlyWhenWarmupCannotFinish(t *testing.T) {
	setPrologConfig(t, "PrologWait=25s")

	// 400 MiB at 8 MiB/s: about 50 s, far past the 25 s wait. Two warm-up
	// threads, so blocks complete steadily; warmupd reports a speed once it
	// has watched the warm-up grow for 10 s.
	w := setup(t, true, "8", "--warm-threads", "2")
	ds := w.vol.WriteFiles(t, "slower", 100, 4*mib)

	// The job names the dataset but does not read it: through a mount (a
	// real client, or the stand-in's FUSE mount) a job's reads fill the
	// cache too, and reading all 400 MiB would finish the warm-up this test
	// expects still running.
	submitted := time.Now()
	id, _ := sbatch(t, node(3), ds, nil)
	waitDone(t, 60*time.Second, id)
	line := waitPrologLine(t, id, "prolog")
	require.Contains(t, line, "reason=eta")
	require.Contains(t, line, "cannot finish within prolog-wait")
	o := readOutput(t, id)
	require.Less(t, o.Start.Sub(submitted), 22*time.Second, "the job did not sit out the whole 25 s wait")
	requireNoDrain(t)
	tasks := w.tasksFor(t, ds)
	require.Len(t, tasks, 1)
	require.Equal(t, "warming", string(tasks[0].State), "the warm-up goes on in the background")
}

// Scenario 5: bad input at sbatch fails the submission with the plugin's
// message, and nothing is queued in Slurm or warmupd.
func TestBadInput(t *testing.T) {
	w := setup(t, true, "")
	ds := w.vol.WriteFiles(t, "ok", 1, mib)
	outside := filepath.Join(cl.base, "not-juicefs")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	many := make([]string, 17)
	for i := range many {
		many[i] = fmt.Sprintf("%s/d%d", ds, i)
	}
	// An existing directory whose name is not UTF-8: refused for what it is, not as missing.
	badName := filepath.Join(ds, "bad\xff")
	require.NoError(t, os.Mkdir(badName, 0o755))
	cases := []struct {
		name, value, want string
		env               bool // give it as $ACCEL_DATA instead of the option
	}{
		{"relative", "datasets/x", "datasets/x: path is relative", false},
		{"dotdot", ds + "/../../../etc", "path contains '..'", false},
		{"outside prefix", "/etc", "/etc: not under an accel-data mount", false},
		{"too many", strings.Join(many, ","), "more than 16 paths", false},
		{"too long", ds + "/" + strings.Repeat("x", 17000), "limit is 16384", false},
		{"5000-byte path", ds + "/" + strings.Repeat("x", 5000), "xxxx: path is " + strconv.Itoa(len(ds)+5001) + " bytes, longer than the 4096 allowed", false},
		{"control character", ds + "/a\tb", "/a\\x09b: path contains a control character", false},
		{"invalid UTF-8", badName, "bad\\xff: path is not valid UTF-8", false},
		{"trailing blank", ds + " ", "path ends in white space", false},
		{"backslash then comma", ds + "\\,/etc", "/etc: not under an accel-data mount", false},
		{"empty option", "", "--accel-data= is empty", false},
		{"empty element", ds + ",," + ds, "empty path", false},
		{"missing", ds + "/no-such-dir", "No such file or directory", false},
		{"refused by warmupd", outside, "not inside a JuiceFS mount", false},
		{"from ACCEL_DATA", "/etc", "not under an accel-data mount", true},
	}
	before := queuedJobs(t)
	for _, c := range cases {
		args := []string{"-o", "/dev/null", "--wrap", "true"}
		var env []string
		if c.env {
			env = []string{"ACCEL_DATA=" + c.value}
		} else {
			args = append([]string{"--accel-data=" + c.value}, args...)
		}
		stdout, stderr, err := run(t, env, "sbatch", args...)
		require.Error(t, err, "%s: sbatch accepted %q: %s", c.name, c.value, stdout)
		require.Contains(t, stderr, "sbatch: error: accel-data: ", c.name)
		require.Contains(t, stderr, c.want, c.name)
		require.Equal(t, 1, strings.Count(stderr, "accel-data:"), "%s: one message line:\n%s", c.name, stderr)
		for _, l := range strings.Split(stderr, "\n") {
			require.LessOrEqual(t, len(l), 600, "%s: a long path is shortened, not printed whole: %s", c.name, l)
		}
		require.NotContains(t, stdout, "Submitted", c.name)
	}

	// The access check runs as the submitting user: nobody cannot read a 0700 directory.
	private := filepath.Join(cl.base, "private")
	require.NoError(t, os.MkdirAll(filepath.Join(private, "ds"), 0o700))
	_, out, err := runAs(t, 65534, nil, "sbatch", "--accel-data="+filepath.Join(private, "ds"), "-o", "/dev/null", "--wrap", "true")
	require.Error(t, err, "sbatch as nobody accepted an unreadable path: %s", out)
	require.Contains(t, out, "sbatch: error: accel-data: "+filepath.Join(private, "ds")+": Permission denied (you must be able to read it to warm it)")

	require.Equal(t, before, queuedJobs(t), "no job was queued in Slurm")
	require.Empty(t, w.queue(t), "nothing was queued in warmupd")
}

// Scenario 6: salloc and srun take --accel-data like sbatch; srun inside an
// allocation does not submit again.
func TestSallocAndSrun(t *testing.T) {
	w := setup(t, true, "40")
	a := w.vol.WriteFiles(t, "alloc", 10, 4*mib) // 40 MiB: about 1 s
	b := w.vol.WriteFiles(t, "step", 1, mib)
	c := w.vol.WriteFiles(t, "srun", 10, 4*mib)
	read := filepath.Join(cl.jobs, "read.sh")

	// salloc: the allocation's prolog waits; srun inside it must not queue b.
	submitted := time.Now()
	stdout, stderr, err := run(t, nil, "salloc", "-N1", "-w", node(3), "--accel-data="+a,
		"srun", "--accel-data="+b, read, a)
	require.NoError(t, err, "salloc: %s", stderr)
	o := parseOutput(t, stdout)
	require.Equal(t, int64(40*mib), o.Read[a])
	require.Greater(t, o.Start.Sub(submitted), 500*time.Millisecond, "the step started only after the warm-up")
	require.Contains(t, waitPrologLine(t, mustJobID(t, stderr), "prolog"), "reason=warm")
	require.Len(t, w.tasksFor(t, a), 1)
	require.Empty(t, w.tasksFor(t, b), "srun inside an allocation does not submit")

	// srun creating its own allocation, with the value from $ACCEL_DATA.
	submitted = time.Now()
	stdout, stderr, err = run(t, []string{"ACCEL_DATA=" + c}, "srun", "-N1", "-w", node(1), read, c)
	require.NoError(t, err, "srun: %s", stderr)
	o = parseOutput(t, stdout)
	require.Equal(t, int64(40*mib), o.Read[c])
	require.Len(t, w.tasksFor(t, c), 1)
	require.Equal(t, "warm", string(w.tasksFor(t, c)[0].State))
	id := mustJobIDFromOutput(t, stdout)
	require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=warm")
	require.Greater(t, o.Start.Sub(submitted), 500*time.Millisecond)

	// Bad input fails salloc and srun too, before any allocation.
	before := queuedJobs(t)
	for _, cmd := range [][]string{{"salloc", "--accel-data=rel/x", "true"}, {"srun", "--accel-data=/etc", "true"}} {
		_, stderr, err := run(t, nil, cmd[0], cmd[1:]...)
		require.Error(t, err, "%v succeeded", cmd)
		require.Contains(t, stderr, "error: accel-data: ", "%v", cmd)
	}
	require.Equal(t, before, queuedJobs(t))
}

func mustJobID(t testing.TB, sallocStderr string) uint64 {
	t.Helper()
	var id uint64
	for _, l := range strings.Split(sallocStderr, "\n") {
		if _, err := fmt.Sscanf(l, "salloc: Granted job allocation %d", &id); err == nil {
			return id
		}
	}
	t.Fatalf("no job id in salloc output:\n%s", sallocStderr)
	return 0
}

func mustJobIDFromOutput(t testing.TB, out string) uint64 {
	t.Helper()
	var id uint64
	m := startRe.FindString(out)
	_, err := fmt.Sscanf(m[strings.Index(m, "job="):], "job=%d", &id)
	require.NoError(t, err, "job id in %q", out)
	return id
}

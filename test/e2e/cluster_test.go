package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The one cluster of this test binary (TestMain brings it up and down).
var cl struct {
	base     string // world-executable temp dir; TMPDIR for the tests and the plugin's prefix
	dir      string // the cluster's DIR (etc/, log/, run/, spool/)
	conf     string // SLURM_CONF
	socket   string // the socket the plugin and the prolog use: a symlink to the test's warmupd
	bin      string // slurm-prolog and accel_data.so
	prolog   string
	jobs     string // job scripts
	out      string // job output
	repo     string
	accelCfg string // DIR/etc/accel-data.conf as up.sh wrote it
	// The multi-host tests (multihost_test.go) point the fields above at the
	// multi-host cluster for their duration (useHosts) and set these:
	hosts *hostCluster // nil: the single-host cluster
	node  string       // node names: node+"1", … ("n" here, "c" on the multi-host cluster)
}

const nodes = 3

func TestMain(m *testing.M) {
	os.Exit(mainWithCluster(m))
}

func mainWithCluster(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: must run as root: slurmctld and slurmd run as root and start jobs as their users (CI runs as root)")
		return 1
	}
	for _, b := range []string{"slurmctld", "slurmd", "munged", "sbatch", "salloc", "srun"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + b); err2 != nil {
				fmt.Fprintf(os.Stderr, "e2e: %s is not installed: run scripts/deps.sh (CI installs Slurm and munge; missing means the machine is broken)\n", b)
				return 1
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	cl.repo = filepath.Clean(filepath.Join(wd, "..", ".."))
	base, err := os.MkdirTemp("", "accel-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(base)
	// munged needs world-executable parents; slurmd runs job steps that read under it.
	if err := os.Chmod(base, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	cl.base = base
	cl.dir = filepath.Join(base, "cluster")
	cl.conf = filepath.Join(cl.dir, "etc", "slurm.conf")
	cl.socket = filepath.Join(base, "warmupd.sock")
	cl.bin = filepath.Join(base, "bin")
	cl.prolog = filepath.Join(cl.bin, "slurm-prolog")
	cl.jobs = filepath.Join(base, "jobs")
	cl.out = filepath.Join(base, "out")
	cl.accelCfg = filepath.Join(cl.dir, "etc", "accel-data.conf")
	cl.node = "n"
	for _, d := range []string{cl.bin, cl.jobs, cl.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	steps := [][]string{
		{"make", "-s", "-C", filepath.Join(cl.repo, "spank")},
		{"cp", filepath.Join(cl.repo, "spank", "accel_data.so"), cl.bin},
		{"go", "build", "-o", cl.prolog, "./cmd/slurm-prolog"},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = cl.repo
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s: %v\n%s", strings.Join(s, " "), err, out)
			return 1
		}
	}
	if err := writeJobScripts(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	up := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "up.sh"), cl.dir, strconv.Itoa(nodes))
	up.Env = append(os.Environ(), "ACCEL_BIN="+cl.bin, "ACCEL_SOCKET="+cl.socket, "ACCEL_PREFIX="+base,
		"ACCEL_PROLOG_WAIT=60s", "ACCEL_POLL=100ms")
	out, err := up.CombinedOutput()
	down := func() {
		if o, err := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "down.sh"), cl.dir).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: down.sh: %v\n%s", err, o)
		}
	}
	defer down()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: up.sh: %v\n%s", err, out)
		return 1
	}
	os.Setenv("SLURM_CONF", cl.conf)
	// Every t.TempDir (volumes, warmupd's socket) lands under base, inside the plugin's prefix.
	os.Setenv("TMPDIR", base)
	os.Unsetenv("ACCEL_DATA")
	os.Unsetenv("SLURM_JOB_ID")
	defer stopHosts()
	defer stopStagein()
	return m.Run()
}

// node is the name of the i-th node of the cluster the test uses.
func node(i int) string { return cl.node + strconv.Itoa(i) }

// The job scripts: print the start time, then read the named datasets.
func writeJobScripts() error {
	read := `#!/bin/sh
echo "start $(date +%s.%N) job=$SLURM_JOB_ID node=$SLURMD_NODENAME"
for d in "$@"; do
	echo "read $d $(find "$d" -type f -exec cat {} + | wc -c)"
done
`
	if err := os.WriteFile(filepath.Join(cl.jobs, "read.sh"), []byte(read), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cl.jobs, "readdir.sh"), []byte(readDir), 0o755)
}

// readDir is the job script `readdir.sh DIR`: read every file of DIR with
// cat, as a job that names a bigger dataset reads one subdirectory of it,
// and so that an accel-agent following the mount's access log sees it whole.
const readDir = `#!/bin/sh
echo "start $(date +%s.%N) job=$SLURM_JOB_ID node=$SLURMD_NODENAME"
d=$1
set -- "$d"/*
# A real client may keep a file's pages in the kernel across opens: drop
# them, so that every read reaches the mount.
for f; do dd if="$f" iflag=nocache count=0 status=none; done
# The job shows on the mount before it reads (the shell itself opens a file:
# an open line with its pid), so the agent takes the mount's counters first.
exec 3<"$1"
sleep 2
# One cat for all the files, alive until sleep ends: the agent maps its pid to
# the job while it runs, however far behind the log it is.
echo "read $d $(sleep 3 | cat "$@" - | wc -c)"
exec 3<&-
`

// run runs a Slurm client command (on the login host of the multi-host
// cluster, as root) and returns stdout, stderr and the error.
func run(t testing.TB, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	return runAs(t, -1, env, name, args...)
}

// runAs is run as user uid (-1: root).
func runAs(t testing.TB, uid int, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := command(ctx, uid, name, args...)
	cmd.Env = append(append(os.Environ(), "SLURM_CONF="+cl.conf), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// sbatch submits the read script for the given paths (nil: no --accel-data)
// on node and returns the job id and sbatch's stderr.
func sbatch(t testing.TB, node string, accel string, env []string, datasets ...string) (uint64, string) {
	t.Helper()
	return sbatchScript(t, node, accel, env, "read.sh", datasets...)
}

// sbatchScript is sbatch with another job script of cl.jobs and its arguments.
func sbatchScript(t testing.TB, node string, accel string, env []string, script string, scriptArgs ...string) (uint64, string) {
	t.Helper()
	args := []string{"--parsable", "-o", filepath.Join(cl.out, "%j.out"), "-N1"}
	if node != "" {
		args = append(args, "-w", node)
	}
	if accel != "" {
		args = append(args, "--accel-data="+accel)
	}
	args = append(args, filepath.Join(cl.jobs, script))
	args = append(args, scriptArgs...)
	stdout, stderr, err := run(t, env, "sbatch", args...)
	require.NoError(t, err, "sbatch %v failed:\n%s", args, stderr)
	id, err := strconv.ParseUint(strings.TrimSpace(strings.Split(stdout, ";")[0]), 10, 64)
	require.NoError(t, err, "sbatch output %q", stdout)
	return id, stderr
}

// command is the command that runs name as uid (-1: root) on this machine,
// or on the login host of the multi-host cluster (another user works in /).
func command(ctx context.Context, uid int, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if cl.hosts != nil {
		cmd = cl.hosts.cmd(ctx, "login", uid, name, args...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
		if uid >= 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
			cmd.Dir = "/"
		}
	}
	return cmd
}

// jobInfo reads `scontrol show job -o ID` into a map.
func jobInfo(t testing.TB, id uint64) map[string]string {
	t.Helper()
	out, _, err := run(t, nil, "scontrol", "show", "job", "-o", strconv.FormatUint(id, 10))
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, f := range strings.Fields(out) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// waitDone waits until every job has finished and requires each COMPLETED.
func waitDone(t testing.TB, timeout time.Duration, ids ...uint64) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			st := jobInfo(t, id)["JobState"]
			if st == "COMPLETED" {
				break
			}
			require.NotContains(t, []string{"FAILED", "CANCELLED", "NODE_FAIL", "BOOT_FAIL", "TIMEOUT", "OUT_OF_MEMORY"}, st,
				"job %d ended %s; slurmd log:\n%s", id, st, tailLogs())
			require.False(t, time.Now().After(deadline), "job %d not completed within %v (state %s); logs:\n%s", id, timeout, st, tailLogs())
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// jobOutput holds what the read script printed.
type jobOutput struct {
	Start time.Time
	Node  string
	Read  map[string]int64 // dataset -> bytes read
}

var (
	startRe = regexp.MustCompile(`(?m)^start (\d+)\.(\d+) job=\d+ node=(\S*)$`)
	readRe  = regexp.MustCompile(`(?m)^read (\S+) (\d+)$`)
)

func readOutput(t testing.TB, id uint64) jobOutput {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cl.out, fmt.Sprintf("%d.out", id)))
	require.NoError(t, err)
	return parseOutput(t, string(b))
}

func parseOutput(t testing.TB, s string) jobOutput {
	t.Helper()
	m := startRe.FindStringSubmatch(s)
	require.NotNil(t, m, "job output has no start line:\n%s", s)
	sec, _ := strconv.ParseInt(m[1], 10, 64)
	nsec, _ := strconv.ParseInt(m[2], 10, 64)
	o := jobOutput{Start: time.Unix(sec, nsec), Node: m[3], Read: map[string]int64{}}
	for _, r := range readRe.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseInt(r[2], 10, 64)
		o.Read[r[1]] = n
	}
	return o
}

// prologLines returns the slurm-prolog log lines of one job.
func prologLines(t testing.TB, id uint64, mode string) []string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(cl.dir, "log", "prolog.log"))
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "accel-data "+mode+":") && strings.Contains(l, fmt.Sprintf(" job=%d ", id)) {
			out = append(out, l)
		}
	}
	return out
}

// waitPrologLine waits for the prolog's (or epilog's) one line of a job.
func waitPrologLine(t testing.TB, id uint64, mode string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ls := prologLines(t, id, mode); len(ls) > 0 {
			require.Len(t, ls, 1, "one %s line per job and node", mode)
			return ls[0]
		}
		require.False(t, time.Now().After(deadline), "no %s line for job %d; prolog.log:\n%s", mode, id, readFile(filepath.Join(cl.dir, "log", "prolog.log")))
		time.Sleep(100 * time.Millisecond)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func tailLogs() string {
	var b strings.Builder
	for _, f := range []string{"slurmctld.log", "slurmd-" + node(1) + ".log", "slurmd-" + node(2) + ".log", "slurmd-" + node(3) + ".log", "prolog.log"} {
		lines := strings.Split(strings.TrimSpace(readFile(filepath.Join(cl.dir, "log", f))), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, strings.Join(lines, "\n"))
	}
	return b.String()
}

// nodeStates returns sinfo's node -> state.
func nodeStates(t testing.TB) map[string]string {
	t.Helper()
	out, stderr, err := run(t, nil, "sinfo", "-h", "-N", "-o", "%N %t")
	require.NoError(t, err, stderr)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// requireNoDrain is scenario 7: no node is drained, draining or down.
func requireNoDrain(t testing.TB) {
	t.Helper()
	st := nodeStates(t)
	require.Len(t, st, nodes, "sinfo lists every node: %v", st)
	for n, s := range st {
		require.NotRegexp(t, `drain|drng|drain|down|fail`, s, "node %s is %s; logs:\n%s", n, s, tailLogs())
	}
}

// queuedJobs counts the jobs slurmctld knows that are pending or running.
func queuedJobs(t testing.TB) int {
	t.Helper()
	// Completing jobs (CG) of an earlier step drop out on their own; only
	// pending, configuring or running jobs count as queued.
	out, stderr, err := run(t, nil, "squeue", "-h", "-t", "PD,CF,R", "-o", "%i")
	require.NoError(t, err, stderr)
	return len(strings.Fields(out))
}

// settle cancels whatever is left, waits until nothing runs and the nodes are idle.
func settle(t testing.TB) {
	t.Helper()
	_, _, _ = run(t, nil, "scancel", "--full", "-u", "root")
	deadline := time.Now().Add(30 * time.Second)
	for {
		idle := 0
		for _, s := range nodeStates(t) {
			if s == "idle" {
				idle++
			}
		}
		if queuedJobs(t) == 0 && idle == nodes {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("cluster did not settle within 30s: %v; logs:\n%s", nodeStates(t), tailLogs())
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// withPlugstack writes a copy of slurm.conf whose PlugStackConfig is the given
// line and returns the SLURM_CONF= entry for clients (the daemons keep theirs).
func withPlugstack(t testing.TB, line string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	plug := filepath.Join(dir, "plugstack.conf")
	require.NoError(t, os.WriteFile(plug, []byte(line+"\n"), 0o644))
	var out []string
	for _, l := range strings.Split(readFile(cl.conf), "\n") {
		if strings.HasPrefix(l, "PlugStackConfig=") {
			l = "PlugStackConfig=" + plug
		}
		out = append(out, l)
	}
	conf := filepath.Join(dir, "slurm.conf")
	require.NoError(t, os.WriteFile(conf, []byte(strings.Join(out, "\n")), 0o644))
	return "SLURM_CONF=" + conf
}

// plugstack.conf arguments: an unknown key fails loudly naming it; enabled=0
// accepts the option and does nothing; prefix= and max_paths= are honoured.
func TestPlugstackArgs(t *testing.T) {
	setup(t, false, "")
	plugin := filepath.Join(cl.bin, "accel_data.so")

	env := withPlugstack(t, "required "+plugin+" sokcet=/run/x.sock")
	_, stderr, err := run(t, []string{env}, "sbatch", "-o", "/dev/null", "--wrap", "true")
	require.Error(t, err)
	require.Contains(t, stderr, "accel-data: plugstack.conf: unknown plugstack.conf argument 'sokcet=/run/x.sock'")

	env = withPlugstack(t, "required "+plugin+" enabled=0")
	stdout, stderr, err := run(t, []string{env}, "sbatch", "--parsable", "--accel-data=/etc/passwd", "-o", "/dev/null", "--wrap", "true")
	require.NoError(t, err, "enabled=0 must ignore the option: %s", stderr)
	require.NotContains(t, stderr, "accel-data")
	require.NotEmpty(t, strings.TrimSpace(stdout))

	env = withPlugstack(t, "required "+plugin+" prefix=/opt/data:/scratch max_paths=2 socket="+cl.socket)
	_, stderr, err = run(t, []string{env}, "sbatch", "--accel-data=/jfs/x", "-o", "/dev/null", "--wrap", "true")
	require.Error(t, err)
	require.Contains(t, stderr, "/jfs/x: not under an accel-data mount (allowed: /opt/data:/scratch)")
	_, stderr, err = run(t, []string{env}, "sbatch", "--accel-data=/scratch/a,/scratch/b,/opt/data/c", "-o", "/dev/null", "--wrap", "true")
	require.Error(t, err)
	require.Contains(t, stderr, "more than 2 paths")
}

// A job without --accel-data is untouched: no warning, no prolog line, no wait.
func TestPlainJobUnaffected(t *testing.T) {
	setup(t, false, "")
	start := time.Now()
	id, stderr := sbatch(t, "", "", nil)
	require.NotContains(t, stderr, "accel-data")
	waitDone(t, 30*time.Second, id)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Empty(t, prologLines(t, id, "prolog"))
	require.Empty(t, prologLines(t, id, "epilog"))
}

// A job on three nodes: the prolog runs and waits on each node, one line each.
func TestMultiNodeJob(t *testing.T) {
	w := setup(t, true, "50")
	ds := w.vol.WriteFiles(t, "multi", 10, 4*mib)
	stdout, stderr, err := run(t, nil, "sbatch", "--parsable", "-N3", "-o", filepath.Join(cl.out, "%j.out"),
		"--accel-data="+ds, filepath.Join(cl.jobs, "read.sh"), ds)
	require.NoError(t, err, stderr)
	id, err := strconv.ParseUint(strings.TrimSpace(stdout), 10, 64)
	require.NoError(t, err)
	waitDone(t, 60*time.Second, id)
	require.Equal(t, int64(40*mib), readOutput(t, id).Read[ds])
	deadline := time.Now().Add(10 * time.Second)
	for len(prologLines(t, id, "epilog")) < nodes && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	lines := prologLines(t, id, "prolog")
	require.Len(t, lines, nodes, "one prolog line per node")
	seen := map[string]bool{}
	for _, l := range lines {
		require.Contains(t, l, "reason=warm")
		for _, f := range strings.Fields(l) {
			if strings.HasPrefix(f, "node=") {
				seen[f] = true
			}
		}
	}
	require.Len(t, seen, nodes)
	require.Len(t, prologLines(t, id, "epilog"), nodes, "one epilog line per node")
	require.Len(t, w.tasksFor(t, ds), 1)
}

// --accel-data given more than once, in #SBATCH lines and on the command
// line, warms every path named (it once kept only the last); a path with a
// backslash and quotes reaches warmupd intact.
func TestAccelDataRepeatedWarmsEveryPath(t *testing.T) {
	w := setup(t, true, "")
	a := w.vol.WriteFiles(t, "rep-a", 1, mib)
	b := w.vol.WriteFiles(t, `rep\b "q"`, 1, mib)
	c := w.vol.WriteFiles(t, "rep-c", 1, mib)
	script := filepath.Join(t.TempDir(), "job.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\n#SBATCH --accel-data="+c+"\ntrue\n"), 0o755))
	stdout, stderr, err := run(t, nil, "sbatch", "--parsable", "-o", "/dev/null", "--accel-data="+a, "--accel-data="+b, script)
	require.NoError(t, err, stderr)
	id, err := strconv.ParseUint(strings.TrimSpace(stdout), 10, 64)
	require.NoError(t, err)
	waitDone(t, 60*time.Second, id)
	for _, p := range []string{a, b, c} {
		require.Len(t, w.tasksFor(t, p), 1, "%s was not queued", p)
	}
}

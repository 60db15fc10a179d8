// Package scripts_test checks the shell scripts' cheap paths without
// bringing up the demo (which installs packages and starts a cluster).
package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// demo runs scripts/demo.sh with args and DEMO_DIR=dir, and returns its
// output; it must exit 0.
func demo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"demo.sh"}, args...)...)
	cmd.Env = append(os.Environ(), "DEMO_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// `demo.sh stop` with a DEMO_DIR where nothing runs says so, instead of
// "stopped"; with one that does not exist it says so too.
func TestDemoStopSaysNothingWasRunning(t *testing.T) {
	dir := t.TempDir()
	require.Equal(t, "demo: nothing was running under "+dir+"\n", demo(t, dir, "stop"))
	out := demo(t, filepath.Join(dir, "none"), "stop")
	require.Contains(t, out, "does not exist: nothing to stop")
	require.NotContains(t, out, "stopped")
}

// `demo.sh stop` stops what runs under the DEMO_DIR it is given (here a
// stand-in process behind warmupd's pid file), not the default one's.
func TestDemoStopStopsItsOwnDemoDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "run"), 0o755))
	p := exec.Command("sleep", "60")
	require.NoError(t, p.Start())
	done := make(chan error, 1)
	go func() { done <- p.Wait() }()
	t.Cleanup(func() { _ = p.Process.Kill() })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "run", "warmupd.pid"), []byte(strconv.Itoa(p.Process.Pid)), 0o644))
	out := demo(t, dir, "stop")
	require.Equal(t, "demo: stopped warmupd (remove "+dir+" to start from scratch)\n", out)
	require.Error(t, <-done, "killed by SIGTERM")
	require.Equal(t, "demo: nothing was running under "+dir+"\n", demo(t, dir, "stop"), "a second stop")
}

// The command the demo prints to stop it names its DEMO_DIR when that is not
// the default, so that running it stops this demo.
func TestDemoStopCommandNamesDemoDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my demo")
	out := strings.TrimSpace(demo(t, dir, "stop-command"))
	require.True(t, strings.HasPrefix(out, `DEMO_DIR=`+strings.ReplaceAll(dir, " ", `\ `)+" "), out)
	require.True(t, strings.HasSuffix(out, "/scripts/demo.sh stop"), out)
	out = strings.TrimSpace(demo(t, "/tmp/accel-demo", "stop-command"))
	require.NotContains(t, out, "DEMO_DIR", "the default needs none")
	require.True(t, strings.HasSuffix(out, "/scripts/demo.sh stop"), out)
}

// warmupd runs with the demo cluster's SLURM_CONF, or its squeue poll
// (expected start times, reconciling ended jobs) fails.
func TestDemoWarmupdGetsSlurmConf(t *testing.T) {
	dir := t.TempDir()
	out := demo(t, dir, "warmupd-command")
	require.Contains(t, out, "SLURM_CONF="+dir+"/cluster/etc/slurm.conf ")
	require.Contains(t, out, "/bin/warmupd --socket "+dir+"/run/warmupd.sock ")
}

// `demo.sh --hosts N` (and DEMO_HOSTS=N) wants a number of compute hosts,
// and says so before it installs or starts anything.
func TestDemoHostsWantsANumber(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
	}{{[]string{"--hosts", "many"}, ""}, {[]string{"--hosts"}, ""}, {nil, "DEMO_HOSTS=0"}} {
		cmd := exec.Command("bash", append([]string{"demo.sh"}, c.args...)...)
		cmd.Env = append(os.Environ(), "DEMO_DIR="+t.TempDir(), c.env)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v %s: %s", c.args, c.env, out)
		require.Contains(t, string(out), "--hosts wants a number of compute hosts from 1 to 99", "%v %s", c.args, c.env)
	}
}

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// world is one test's JuiceFS volume and (unless down) its warmupd, reachable
// by the plugin and the prolog at cl.socket.
type world struct {
	vol *testutil.Volume
	d   *testutil.Daemon
}

// setup gives a test a fresh volume and, when daemon is true, a warmupd on
// it. bandwidth (MiB/s of warm-ups: the stand-in reads it, a real client gets
// the equivalent --download-limit at mount) is set when not empty.
// When the test ends it cancels leftover jobs, waits for idle nodes and
// checks scenario 7: no node drained.
func setup(t testing.TB, daemon bool, bandwidth string, flags ...string) *world {
	t.Helper()
	return setupVolume(t, nil, daemon, bandwidth, flags...)
}

// setupVolume is setup with options for the single-host cluster's volume
// (testutil.WithFUSE: the stand-in as a FUSE mount).
func setupVolume(t testing.TB, opts []testutil.VolumeOption, daemon bool, bandwidth string, flags ...string) *world {
	t.Helper()
	if bandwidth != "" {
		t.Setenv("FAKEJUICEFS_BANDWIDTH", bandwidth)
	}
	var w *world
	if cl.hosts != nil {
		w = setupOnHosts(t, cl.hosts, daemon, bandwidth, flags...)
	} else {
		w = &world{vol: testutil.NewVolume(t, opts...)}
		_ = os.Remove(cl.socket)
		t.Cleanup(func() { _ = os.Remove(cl.socket) })
		if daemon {
			w.d = testutil.StartWarmupd(t, w.vol, flags...)
			require.NoError(t, os.Symlink(w.d.Socket, cl.socket))
		}
	}
	// Before warmupd stops: the epilogs of cancelled jobs still reach it.
	t.Cleanup(func() {
		settle(t)
		requireNoDrain(t)
	})
	return w
}

// swarmup runs swarmup with args against the test's warmupd: on this
// machine through its socket, on the multi-host cluster from login over TCP.
func (w *world) swarmup(t testing.TB, bin string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cl.hosts != nil {
		return cl.hosts.cmd(ctx, "login", -1, bin, append([]string{"--server", cl.hosts.server, "--munge-socket", cl.hosts.munge}, args...)...).CombinedOutput()
	}
	return exec.CommandContext(ctx, bin, append([]string{"--socket", w.d.Socket}, args...)...).CombinedOutput()
}

// queue returns every task warmupd knows (finished ones too).
func (w *world) queue(t testing.TB) []api.QueueEntry {
	t.Helper()
	q, err := w.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	return q.Entries
}

// tasksFor returns the tasks whose dataset is p.
func (w *world) tasksFor(t testing.TB, p string) []api.QueueEntry {
	t.Helper()
	var out []api.QueueEntry
	for _, e := range w.queue(t) {
		if e.Dataset == p {
			out = append(out, e)
		}
	}
	return out
}

// waitWarm waits until the task of dataset p is warm.
func (w *world) waitWarm(t testing.TB, p string, timeout time.Duration) {
	t.Helper()
	w.d.WaitQueue(timeout, func(es []api.QueueEntry) bool {
		for _, e := range es {
			if e.Dataset == p && e.State == api.TaskWarm {
				return true
			}
		}
		return false
	})
}

// setPrologConfig rewrites the cluster's accel-data.conf line PrologWait=60s
// (as up.sh wrote it) into lines for this test, and restores it afterwards.
func setPrologConfig(t testing.TB, lines string) {
	t.Helper()
	orig := readFile(cl.accelCfg)
	require.Contains(t, orig, "PrologWait=60s")
	require.NoError(t, os.WriteFile(cl.accelCfg, []byte(strings.Replace(orig, "PrologWait=60s", lines, 1)), 0o644))
	t.Cleanup(func() { _ = os.WriteFile(cl.accelCfg, []byte(orig), 0o644) })
}

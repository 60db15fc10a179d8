package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// The multi-host cluster is what it claims: each host has its own hostname,
// address, munged and JuiceFS mount of the one volume at the same path;
// this machine's network has none of the cluster's addresses.
func TestHostsTopology(t *testing.T) {
	hc := useHosts(t)
	ctx := context.Background()
	out, err := exec.Command("ip", "-o", "addr").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.NotContains(t, string(out), "198.18.", "nothing of the cluster on this machine's network")

	munged := map[string]bool{}
	for i, h := range []string{"ctl", "svc", "login", node(1), node(2), node(3)} {
		out, err := hc.cmd(ctx, h, -1, "hostname").Output()
		require.NoError(t, err)
		require.Equal(t, h, strings.TrimSpace(string(out)))
		out, err = hc.cmd(ctx, h, -1, "ip", "-o", "-4", "addr", "show", "eth0").Output()
		require.NoError(t, err)
		require.Contains(t, string(out), " 198.18.0.", "%s: %s", h, out)
		b, err := os.ReadFile(filepath.Join(hc.dir, "hosts", h, "run", "munged.pid"))
		require.NoError(t, err, "%s runs its own munged", h)
		munged[strings.TrimSpace(string(b))] = true
		require.Len(t, munged, i+1, "one munged per host")
		_, err = os.Stat(hc.seen(h, hc.munge))
		require.NoError(t, err, "%s sees its munged at %s", h, hc.munge)
		mounted := hc.cmd(ctx, h, -1, "mountpoint", "-q", hc.jfs).Run() == nil
		require.Equal(t, h != "ctl", mounted, "%s mounts the volume at %s (the controller does not)", h, hc.jfs)
	}
	// The login host reaches the controller and the compute hosts by name.
	out, err = hc.cmd(ctx, "login", -1, "getent", "hosts", node(3)).Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "198.18.0.13")
}

// hosts-up.sh is idempotent and hosts-down.sh leaves nothing behind: no
// process, no network namespace, no mount namespace holder.
func TestHostsUpDown(t *testing.T) {
	dir := filepath.Join(cl.base, "updown")
	bin := filepath.Join(cl.base, "updown-bin")
	require.NoError(t, os.MkdirAll(bin, 0o755))
	for _, src := range []string{cl.prolog, filepath.Join(cl.bin, "accel_data.so"), testutil.Binary(t, "cmd/warmupd"), testutil.Binary(t, "test/fakejuicefs")} {
		out, err := exec.Command("cp", src, bin).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	scriptEnv := func(env []string, name string, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(cl.repo, "test", "slurm-cluster", name), args...)
		cmd.Env = append(append(os.Environ(), "ACCEL_BIN="+bin, "ACCEL_TEST_JUICEFS="), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	script := func(name string, args ...string) string {
		t.Helper()
		out, err := scriptEnv(nil, name, args...)
		require.NoError(t, err, "%s: %s", name, out)
		return out
	}
	t.Cleanup(func() { _ = exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "hosts-down.sh"), dir).Run() })

	require.Contains(t, script("hosts-up.sh", dir, "1"), "cluster up")
	prefix, err := os.ReadFile(filepath.Join(dir, "etc", "ns-prefix"))
	require.NoError(t, err)
	var holders []int
	for _, h := range []string{"ctl", "svc", "login", "c1"} {
		b, err := os.ReadFile(filepath.Join(dir, "hosts", h, "holder.pid"))
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		holders = append(holders, pid)
	}
	require.Contains(t, script("hosts-up.sh", dir, "1"), "already running with these settings")
	out := script("on.sh", dir, "login", "sinfo", "-h", "-N", "-p", "debug", "-o", "%N %t")
	require.Equal(t, "c1 idle", strings.TrimSpace(out))

	script("hosts-down.sh", dir)
	requireNothingLeft(t, dir, strings.TrimSpace(string(prefix)), holders)
	require.Contains(t, script("hosts-down.sh", dir), "stopped", "a second teardown is fine")

	// A start that fails half-way (warmupd cannot listen) tears down what it started.
	out, err = scriptEnv([]string{"ACCEL_PORT=99999"}, "hosts-up.sh", dir, "1")
	require.Error(t, err, "hosts-up.sh with a bad port succeeded: %s", out)
	require.Contains(t, out, "warmupd did not start on svc")
	require.Contains(t, out, "start failed, tearing down")
	requireNothingLeft(t, dir, strings.TrimSpace(string(prefix)), nil)
}

// requireNothingLeft: no network namespace named with prefix, no holder
// among holders alive, no process whose command line names dir or that
// lives in a host's mount namespace.
func requireNothingLeft(t *testing.T, dir, prefix string, holders []int) {
	t.Helper()
	netns, err := exec.Command("ip", "netns", "list").CombinedOutput()
	require.NoError(t, err)
	require.NotContains(t, string(netns), prefix, "every namespace of the cluster is gone")
	for _, pid := range holders {
		// Gone, or a zombie not reaped yet by init (its namespaces are released).
		if f := testutil.ProcStat(pid); f != nil {
			require.Equal(t, "Z", f[0], "holder %d is gone", pid)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		b, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		require.NotContains(t, string(b), dir+"/", "a process of the cluster is left: %s", strings.ReplaceAll(string(b), "\x00", " "))
		// A holder (or anything in a host's mount namespace) has DIR/run mounted.
		m, _ := os.ReadFile(filepath.Join(p, "mountinfo"))
		require.NotContains(t, string(m), " "+dir+"/run ", "%s is left in a host's mount namespace: %s", p, strings.ReplaceAll(string(b), "\x00", " "))
	}
}

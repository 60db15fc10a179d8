package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// hostCluster is the multi-host cluster (test/slurm-cluster/hosts-up.sh):
// hosts ctl, svc, login, c1..c3, each its own network, mount and UTS
// namespaces; warmupd (started per test by setup) runs on svc and is reached
// over TCP with MUNGE only.
type hostCluster struct {
	dir     string // the cluster's DIR
	prefix  string // namespace names: prefix-HOST
	server  string // warmupd's TCP door, svc:port
	munge   string // every host's munged socket (the same path on each)
	jfs     string // every host's JuiceFS mount of the one volume
	cache   string // the cache directory all mounts share
	juicefs string // the juicefs binary (stand-in or real)
	real    bool
	svcBW   float64 // real client: the warm-up bandwidth (MiB/s) svc's mount has now
}

const hostPort = 7117

var hosts struct {
	once sync.Once
	hc   *hostCluster
	err  error
}

// startHosts brings the multi-host cluster up once per test binary.
func startHosts(t testing.TB) *hostCluster {
	t.Helper()
	hosts.once.Do(func() {
		dir := filepath.Join(cl.base, "hosts")
		hc := &hostCluster{dir: dir, munge: filepath.Join(dir, "run", "munge.sock"), jfs: filepath.Join(dir, "jfs"),
			cache: filepath.Join(dir, "cache"), server: fmt.Sprintf("198.18.0.2:%d", hostPort), svcBW: testutil.DefaultBandwidth}
		if bin := testutil.RealJuiceFS(t); bin != "" {
			hc.juicefs, hc.real = bin, true
		} else {
			hc.juicefs = filepath.Join(cl.bin, "fakejuicefs")
			if out, err := exec.Command("cp", testutil.Binary(t, "test/fakejuicefs"), hc.juicefs).CombinedOutput(); err != nil {
				hosts.err = fmt.Errorf("copy fakejuicefs: %v: %s", err, out)
				return
			}
		}
		up := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "hosts-up.sh"), dir, strconv.Itoa(nodes))
		up.Env = append(os.Environ(), "ACCEL_BIN="+cl.bin, "ACCEL_PREFIX="+cl.base, "ACCEL_PROLOG_WAIT=60s",
			"ACCEL_POLL=100ms", "ACCEL_WARMUPD=0", "ACCEL_PORT="+strconv.Itoa(hostPort),
			"ACCEL_BANDWIDTH="+strconv.Itoa(testutil.DefaultBandwidth))
		if hc.real {
			up.Env = append(up.Env, testutil.JuiceFSEnv+"="+hc.juicefs) // the absolute path: nsenter starts in /
		}
		if testutil.StandInFUSE() {
			// The stand-in mounted on every host with FUSE, as testutil mounts it (hosts-up.sh's default is plain).
			up.Env = append(up.Env, testutil.StandInFUSEEnv+"=1")
		}
		if out, err := up.CombinedOutput(); err != nil {
			hosts.err = fmt.Errorf("hosts-up.sh: %v\n%s", err, out)
			return
		}
		p, err := os.ReadFile(filepath.Join(dir, "etc", "ns-prefix"))
		if err != nil {
			hosts.err = err
			return
		}
		hc.prefix = strings.TrimSpace(string(p))
		hosts.hc = hc
	})
	require.NoError(t, hosts.err, "the multi-host cluster did not start")
	return hosts.hc
}

// stopHosts tears the multi-host cluster down if a test started it.
func stopHosts() {
	if hosts.hc == nil && hosts.err == nil {
		return
	}
	dir := filepath.Join(cl.base, "hosts")
	if out, err := exec.Command(filepath.Join(cl.repo, "test", "slurm-cluster", "hosts-down.sh"), dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: hosts-down.sh: %v\n%s", err, out)
	}
}

// useHosts makes the helpers (setup, run, sbatch, node, …) drive the
// multi-host cluster until the test ends: Slurm commands run on login,
// warmupd on svc.
func useHosts(t testing.TB) *hostCluster {
	t.Helper()
	hc := startHosts(t)
	saved := cl
	cl.hosts = hc
	cl.node = "c"
	cl.dir = hc.dir
	cl.conf = filepath.Join(hc.dir, "etc", "slurm.conf")
	cl.accelCfg = filepath.Join(hc.dir, "etc", "accel-data.conf")
	t.Cleanup(func() { cl = saved })
	return hc
}

// holder is the pid holding host's mount and UTS namespaces.
func (h *hostCluster) holder(host string) string {
	b, err := os.ReadFile(filepath.Join(h.dir, "hosts", host, "holder.pid"))
	if err != nil {
		panic(fmt.Sprintf("e2e: host %s of the multi-host cluster has no holder: %v", host, err))
	}
	return strings.TrimSpace(string(b))
}

// enter is the argv prefix that runs a program on host as uid (-1: root).
func (h *hostCluster) enter(host string, uid int) []string {
	e := []string{"nsenter", "--target", h.holder(host), "--mount", "--uts", "--net=/run/netns/" + h.prefix + "-" + host}
	if uid >= 0 {
		e = append(e, "--setuid", strconv.Itoa(uid), "--setgid", strconv.Itoa(uid), "--wd=/")
	}
	return append(e, "--")
}

// cmd runs name on host as uid (-1: root).
func (h *hostCluster) cmd(ctx context.Context, host string, uid int, name string, args ...string) *exec.Cmd {
	e := h.enter(host, uid)
	return exec.CommandContext(ctx, e[0], slices.Concat(e[1:], []string{name}, args)...)
}

// seen is the path through which this process (an admin on every host)
// reaches path as host sees it.
func (h *hostCluster) seen(host, path string) string {
	return filepath.Join("/proc", h.holder(host), "root", path)
}

// setupOnHosts is setup on the multi-host cluster: the test's datasets go
// in a directory of its own on the one volume; warmupd runs on svc with
// --listen and its unix socket on svc's private tmpfs.
func setupOnHosts(t testing.TB, hc *hostCluster, daemon bool, bandwidth string, flags ...string) *world {
	t.Helper()
	bw := float64(testutil.DefaultBandwidth)
	if bandwidth != "" {
		f, err := strconv.ParseFloat(bandwidth, 64)
		require.NoError(t, err, "bandwidth %q", bandwidth)
		bw = f
	}
	hc.svcBandwidth(t, bw)
	name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	w := &world{vol: &testutil.Volume{Mount: filepath.Join(hc.jfs, name), CacheDir: hc.cache, Binary: hc.juicefs, Real: hc.real, Bandwidth: bw}}
	if daemon {
		sock := filepath.Join(hc.dir, "run", "private", "warmupd.sock")
		_ = os.Remove(hc.seen("svc", sock))
		root := &testutil.Volume{Mount: hc.jfs, CacheDir: hc.cache, Binary: hc.juicefs, Real: hc.real}
		w.d = testutil.StartWarmupdOn(t, root, testutil.Host{
			Enter: hc.enter("svc", -1), Socket: sock, ClientSocket: hc.seen("svc", sock),
			Env: []string{"SLURM_CONF=" + filepath.Join(hc.dir, "etc", "slurm.conf")},
		}, append([]string{"--listen", hc.server, "--munge-socket", hc.munge}, flags...)...)
	}
	return w
}

// svcBandwidth gives warm-ups on svc mibps MiB/s. The stand-in reads the
// bandwidth from warmupd's environment (setup sets it); a real client has
// it as a mount option (--download-limit), so svc's mount is mounted again
// with the arguments hosts-up.sh used (warmupd, which does the warm-ups, is
// not running between tests).
func (h *hostCluster) svcBandwidth(t testing.TB, mibps float64) {
	t.Helper()
	if !h.real || mibps == h.svcBW {
		return
	}
	require.NoError(t, h.remount(t, "svc", mibps))
	h.svcBW = mibps
}

// computeBandwidth gives warm-ups on the compute hosts mibps MiB/s for the
// rest of the test, as a job array's shards need to be seen running. The
// stand-in takes it from warmupd's environment, which the array's tasks
// inherit (setup sets it); a real client has it as a mount option, so each
// compute host's mount is mounted again with --download-limit, and again at
// the default when the test ends.
func (h *hostCluster) computeBandwidth(t testing.TB, mibps float64) {
	t.Helper()
	if !h.real {
		return
	}
	for i := 1; i <= nodes; i++ {
		require.NoError(t, h.remount(t, node(i), mibps))
	}
	t.Cleanup(func() {
		for i := 1; i <= nodes; i++ { // every host, whatever one of them says
			if err := h.remount(t, node(i), testutil.DefaultBandwidth); err != nil {
				t.Error(err)
			}
		}
	})
}

// remount mounts host's real JuiceFS mount again at mibps MiB/s of warm-up
// bandwidth (--download-limit) with the arguments hosts-up.sh used. The old
// mount's processes must have exited first: a real client's supervisor
// mounts again over the new mount when its child exits with an error.
// A busy mount point (a file held open) is unmounted by force after a few
// tries.
func (h *hostCluster) remount(t testing.TB, host string, mibps float64) error {
	b, err := os.ReadFile(filepath.Join(h.dir, "etc", "juicefs-mount.args"))
	if err != nil {
		return err
	}
	args := strings.Split(strings.TrimSpace(string(b)), "\n")
	if mbps := testutil.DownloadLimitMbps(mibps); mbps > 0 {
		args = append(args, "--download-limit", strconv.FormatInt(mbps, 10))
	}
	args = append(args, "--log", filepath.Join(h.dir, "log", "juicefs-"+host+".log"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if h.mountType(host) != "" {
		err := testutil.Unmount(t.Logf, filepath.Join("/proc", h.holder(host), "root", h.jfs), 3, func(force bool) ([]byte, error) {
			umount := []string{"umount", h.jfs}
			if force {
				umount = append(umount, "--force")
			}
			return h.cmd(ctx, host, -1, h.juicefs, umount...).CombinedOutput()
		})
		if err != nil {
			return fmt.Errorf("%s's JuiceFS mount: %w", host, err)
		}
	}
	if out, err := h.cmd(ctx, host, -1, h.juicefs, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("mount %s's JuiceFS mount again at %g MiB/s: %v: %s", host, mibps, err, out)
	}
	return nil
}

// fuse tells whether the volume is a FUSE mount on the compute hosts (a
// real client, or the stand-in's FUSE mount, testutil.StandInFUSE), not a
// bind mount of a plain directory.
func (h *hostCluster) fuse() bool { return strings.HasPrefix(h.mountType(node(1)), "fuse") }

// mountType is the file system type of host's mount at the volume's mount
// point ("fuse.juicefs", say; the last, topmost one), "" when there is none.
func (h *hostCluster) mountType(host string) string {
	b, err := os.ReadFile(filepath.Join("/proc", h.holder(host), "mounts"))
	if err != nil {
		return ""
	}
	typ := ""
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == h.jfs {
			typ = f[2]
		}
	}
	return typ
}

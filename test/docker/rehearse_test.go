package docker_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// stageImage lays out, under dir/image, the /opt/accel-data the Dockerfile's
// last stage copies: the build stage's bin/ (built here) and the repository
// files of its COPY lines. It returns the image's environment (ENV).
func stageImage(t *testing.T, dir string) []string {
	t.Helper()
	root := testutil.RepoRoot(t)
	ins := readDockerfile(t)
	last := 0
	for i, in := range ins {
		if in.op == "FROM" {
			last = i
		}
	}
	var env []string
	for _, in := range ins[last+1:] {
		switch in.op {
		case "ENV":
			env = append(env, strings.Fields(in.args)...)
		case "COPY":
			f := strings.Fields(in.args)
			dst := filepath.Join(dir, "image", f[len(f)-1])
			require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
			if f[0] == "--from=build" {
				// The build stage's `make build` output, as far as the hosts use it.
				require.Equal(t, "/opt/accel-data/bin/", f[len(f)-1])
				require.NoError(t, os.MkdirAll(dst, 0o755))
				for _, pkg := range []string{"cmd/warmupd", "cmd/swarmup", "cmd/slurm-prolog", "test/fakejuicefs"} {
					run(t, "cp", testutil.Binary(t, pkg), dst)
				}
				run(t, "make", "-s", "-C", filepath.Join(root, "spank"), "accel_data.so")
				run(t, "cp", filepath.Join(root, "spank", "accel_data.so"), dst)
				continue
			}
			srcs, err := filepath.Glob(filepath.Join(root, f[0]))
			require.NoError(t, err)
			require.NotEmpty(t, srcs, "COPY %s", f[0])
			if strings.HasSuffix(f[len(f)-1], "/") {
				require.NoError(t, os.MkdirAll(dst, 0o755))
			}
			run(t, "cp", append(append([]string{"-p"}, srcs...), dst)...)
		}
	}
	require.NotEmpty(t, env, "the Dockerfile's last stage sets no ENV")
	return env
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

// startOrder orders the services so that each starts after what it depends on.
func startOrder(t *testing.T, c compose) []string {
	t.Helper()
	var names, order []string
	for n := range c.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	for len(order) < len(names) {
		progress := false
		for _, n := range names {
			if slices.Contains(order, n) {
				continue
			}
			ready := true
			for d := range c.Services[n].DependsOn {
				ready = ready && slices.Contains(order, d)
			}
			if ready {
				order = append(order, n)
				progress = true
			}
		}
		require.True(t, progress, "depends_on has a cycle among %v", names)
	}
	return order
}

// Without a Docker engine, the role scripts still run the cluster: each
// service of docker-compose.yml in namespaces of its own on this machine
// (test/docker/rehearse.sh), in depends_on order with its conditions and
// healthchecks, with the image's /opt/accel-data staged from the Dockerfile's
// COPY lines; then the scenario of TestClusterRunsAWarmedJob. What it does not
// check is the image build itself (the packages are this Debian 12 machine's)
// nor Docker's networking and volumes.
func TestRoleScriptsRehearsed(t *testing.T) {
	testutil.RequireRoot(t, "runs the services in network and mount namespaces as Docker would")
	root := testutil.RepoRoot(t)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	imageEnv := stageImage(t, dir)
	c := loadCompose(t, "docker-compose.yml")
	real := testutil.RealJuiceFS(t)
	var over compose
	if real != "" {
		over = loadCompose(t, "docker-compose.juicefs.yml")
	}
	script := filepath.Join(root, "test", "docker", "rehearse.sh")
	rehearse := func(ctx context.Context, args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, script, append([]string{dir}, args...)...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "svc", "*.log"))
			more, _ := filepath.Glob(filepath.Join(dir, "vol", "log", "*"))
			for _, l := range append(logs, more...) {
				b, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, b)
			}
		}
		if out, err := rehearse(context.Background(), "down"); err != nil {
			t.Errorf("rehearse.sh down: %v\n%s", err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute) // within go test's default 10m, so the cleanup runs
	defer cancel()
	exec := func(ctx context.Context, service string, args ...string) (string, error) {
		return rehearse(ctx, append([]string{"on", service}, args...)...)
	}

	for _, n := range startOrder(t, c) {
		s := c.Services[n]
		for d, cond := range s.DependsOn {
			switch cond.Condition {
			case "service_completed_successfully":
				for {
					if _, err := rehearse(ctx, "running", d); err != nil {
						break
					}
					require.NoError(t, ctx.Err(), "%s never finished", d)
					time.Sleep(200 * time.Millisecond)
				}
			case "service_healthy":
				waitHealthy(ctx, t, exec, c, d)
			}
		}
		env := slices.Clone(imageEnv)
		for k, v := range s.Environment {
			env = append(env, k+"="+v)
		}
		envFile := filepath.Join(dir, n+".env")
		require.NoError(t, os.WriteFile(envFile, []byte(strings.Join(env, "\n")+"\n"), 0o644))
		ip := "-"
		for _, nw := range s.Networks {
			ip = nw.IPv4
		}
		vols := slices.Clone(s.Volumes)
		for _, v := range over.Services[n].Volumes {
			vols = append(vols, strings.Replace(v, v[:strings.Index(v, "}")+1], real, 1))
		}
		hostname := s.Hostname
		if hostname == "" {
			hostname = n
		}
		priv := "-"
		if s.Privileged {
			priv = "privileged"
		}
		out, err := rehearse(ctx, "start", n, hostname, ip, strings.Join(vols, ","), envFile, priv, s.Command[0])
		require.NoError(t, err, "start %s: %s", n, out)
	}
	waitHealthy(ctx, t, exec, c, "login")
	volumeLog, err := os.ReadFile(filepath.Join(dir, "svc", "volume.log"))
	require.NoError(t, err)
	runScenario(ctx, t, exec, real != "", string(volumeLog))
}

package docker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// The dataset docker/slurm-cluster/demo.sh writes (50 files of 4 MiB).
const (
	demoDataset = "/accel/jfs/datasets/imagenet-mini"
	demoBytes   = 50 << 22
)

// execFunc runs a command on a service of a running cluster (docker compose
// exec, or rehearse.sh on).
type execFunc func(ctx context.Context, service string, args ...string) (string, error)

// waitHealthy runs a service's compose healthcheck until it passes.
func waitHealthy(ctx context.Context, t *testing.T, exec execFunc, c compose, name string) {
	t.Helper()
	hc := c.Services[name].Healthcheck
	require.NotNil(t, hc, "service %s has no healthcheck", name)
	require.Equal(t, "CMD", hc.Test[0], "service %s: healthcheck", name)
	for {
		if _, err := exec(ctx, name, hc.Test[1:]...); err == nil {
			return
		}
		require.NoError(t, ctx.Err(), "service %s never became healthy (%v)", name, hc.Test[1:])
		time.Sleep(time.Second)
	}
}

// runScenario is the scenario both ways of running the cluster check: the
// hosts say which JuiceFS they use (volumeLog: the volume service's output);
// demo.sh on login submits one job with --accel-data; the job completes on a
// compute host after its prolog waited for the warm-up and reads the whole
// dataset; swarmup on login shows the warm-up done.
func runScenario(ctx context.Context, t *testing.T, exec execFunc, real bool, volumeLog string) {
	t.Helper()
	if real {
		require.Contains(t, volumeLog, "JuiceFS: the real client")
	} else {
		require.Contains(t, volumeLog, "THE STAND-IN test/fakejuicefs")
	}
	login := func(args ...string) string {
		t.Helper()
		out, err := exec(ctx, "login", args...)
		require.NoError(t, err, "on login: %v\n%s", args, out)
		return out
	}
	demo := login("/opt/accel-data/docker/slurm-cluster/demo.sh", "1")
	ids := regexp.MustCompile(`Submitted batch job (\d+)`).FindAllStringSubmatch(demo, -1)
	require.Len(t, ids, 1, "demo.sh submits one job:\n%s", demo)
	id := ids[0][1]

	// demo.sh returns once squeue is empty; the controller keeps the finished job.
	job := login("scontrol", "show", "job", "-o", id)
	require.Contains(t, job, "JobState=COMPLETED", "job %s:\n%s\ndemo:\n%s", id, job, demo)
	require.Contains(t, job, "ExitCode=0:0")
	outFile := regexp.MustCompile(`StdOut=(\S+)`).FindStringSubmatch(job)
	require.NotNil(t, outFile, job)
	jobOut := login("cat", outFile[1])
	require.Regexp(t, `job `+id+` on c[0-9]+ \(c[0-9]+\)`, jobOut)
	require.Contains(t, jobOut, fmt.Sprintf("read %s: %d bytes", demoDataset, demoBytes))

	prolog := login("cat", "/accel/log/prolog.log")
	require.Regexp(t, `prolog: .* job=`+id+` node=c[0-9]+ .*reason=warm `, prolog, "slurm-prolog let job %s start once its data was warm", id)
	warm := login("swarmup", "--all", "--dataset", demoDataset, "--format", "dataset,state", "--noheader")
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(demoDataset)+`\s+warm\s*$`, warm, "swarmup on login shows the warm-up done")
}

// With a Docker engine: build the image, bring the cluster up with docker
// compose, run the scenario, tear it down. With ACCEL_TEST_JUICEFS the hosts
// use that real juicefs (docker-compose.juicefs.yml), else the stand-in.
func TestClusterRunsAWarmedJob(t *testing.T) {
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: `docker info` failed (%v): %s", err, lastLine(out))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("no Docker Compose plugin: `docker compose version` failed (%v): %s", err, lastLine(out))
	}
	dir := filepath.Join(testutil.RepoRoot(t), clusterDir)
	args := []string{"compose", "-p", fmt.Sprintf("accel-test-%d", os.Getpid()), "-f", filepath.Join(dir, "docker-compose.yml")}
	env := os.Environ()
	real := testutil.RealJuiceFS(t)
	if real != "" {
		args = append(args, "-f", filepath.Join(dir, "docker-compose.juicefs.yml"))
		env = append(env, "JUICEFS="+real)
	}
	dc := func(ctx context.Context, more ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "docker", append(append([]string{}, args...), more...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc(context.Background(), "logs", "--no-color")
			t.Logf("docker compose logs:\n%s", out)
		}
		if out, err := dc(context.Background(), "down", "-v", "--remove-orphans"); err != nil {
			t.Errorf("docker compose down: %v\n%s", err, out)
		}
	})
	out, err := dc(ctx, "up", "-d", "--build")
	require.NoError(t, err, "docker compose up:\n%s", out)
	exec := func(ctx context.Context, service string, args ...string) (string, error) {
		return dc(ctx, append([]string{"exec", "-T", service}, args...)...)
	}
	waitHealthy(ctx, t, exec, loadCompose(t, "docker-compose.yml"), "login")
	volumeLog, err := dc(ctx, "logs", "--no-color", "volume")
	require.NoError(t, err)
	runScenario(ctx, t, exec, real != "", volumeLog)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

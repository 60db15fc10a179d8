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

// cluster is one `docker compose` project of docker/slurm-cluster.
type cluster struct {
	t       *testing.T
	project string
	files   []string
	env     []string
}

func (c *cluster) compose(ctx context.Context, args ...string) (string, error) {
	full := []string{"compose", "-p", c.project}
	for _, f := range c.files {
		full = append(full, "-f", f)
	}
	cmd := exec.CommandContext(ctx, "docker", append(full, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// login runs a command on the login host.
func (c *cluster) login(ctx context.Context, args ...string) string {
	c.t.Helper()
	out, err := c.compose(ctx, append([]string{"exec", "-T", "login"}, args...)...)
	require.NoError(c.t, err, "on login: %v\n%s", args, out)
	return out
}

// With a Docker engine: build the image, bring the cluster up, run the demo
// (one job with --accel-data, submitted on login), and check that the job
// completed on a compute host after reading the whole dataset and that
// swarmup on login shows the dataset's warm-up done. With ACCEL_TEST_JUICEFS
// the hosts use that real juicefs (docker-compose.juicefs.yml), else the
// stand-in, and the logs say which.
func TestClusterRunsAWarmedJob(t *testing.T) {
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: `docker info` failed (%v): %s", err, lastLine(out))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("no Docker Compose plugin: `docker compose version` failed (%v): %s", err, lastLine(out))
	}
	dir := filepath.Join(testutil.RepoRoot(t), clusterDir)
	c := &cluster{t: t, project: fmt.Sprintf("accel-test-%d", os.Getpid()), files: []string{filepath.Join(dir, "docker-compose.yml")}}
	real := os.Getenv("ACCEL_TEST_JUICEFS")
	if real != "" {
		c.files = append(c.files, filepath.Join(dir, "docker-compose.juicefs.yml"))
		c.env = append(c.env, "JUICEFS="+real)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.compose(context.Background(), "logs", "--no-color")
			t.Logf("docker compose logs:\n%s", out)
		}
		out, err := c.compose(context.Background(), "down", "-v", "--remove-orphans")
		if err != nil {
			t.Errorf("docker compose down: %v\n%s", err, out)
		}
	})
	out, err := c.compose(ctx, "up", "-d", "--build")
	require.NoError(t, err, "docker compose up:\n%s", out)

	// login marks itself ready once every compute host is idle and warmupd answers.
	for {
		if _, err := c.compose(ctx, "exec", "-T", "login", "test", "-f", "/accel/run/ready"); err == nil {
			break
		}
		require.NoError(t, ctx.Err(), "login never became ready")
		time.Sleep(2 * time.Second)
	}
	logs, err := c.compose(ctx, "logs", "--no-color", "volume")
	require.NoError(t, err)
	if real != "" {
		require.Contains(t, logs, "JuiceFS: the real client")
	} else {
		require.Contains(t, logs, "THE STAND-IN test/fakejuicefs")
	}

	demo := c.login(ctx, "/opt/accel-data/docker/slurm-cluster/demo.sh", "1")
	ids := regexp.MustCompile(`Submitted batch job (\d+)`).FindAllStringSubmatch(demo, -1)
	require.Len(t, ids, 1, "demo.sh submits one job:\n%s", demo)
	id := ids[0][1]

	// demo.sh returns once squeue is empty; the controller keeps the finished job.
	job := c.login(ctx, "scontrol", "show", "job", "-o", id)
	require.Contains(t, job, "JobState=COMPLETED", "job %s:\n%s\ndemo:\n%s", id, job, demo)
	require.Contains(t, job, "ExitCode=0:0")
	outFile := regexp.MustCompile(`StdOut=(\S+)`).FindStringSubmatch(job)
	require.NotNil(t, outFile, job)
	jobOut := c.login(ctx, "cat", outFile[1])
	require.Regexp(t, `job `+id+` on c[0-9]+ \(c[0-9]+\)`, jobOut)
	require.Contains(t, jobOut, fmt.Sprintf("read %s: %d bytes", demoDataset, demoBytes))

	warm := c.login(ctx, "swarmup", "--all", "--dataset", demoDataset, "--format", "dataset,state", "--noheader")
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(demoDataset)+`\s+warm\s*$`, warm, "swarmup on login shows the warm-up done")
	prolog := c.login(ctx, "cat", "/accel/log/prolog.log")
	require.Regexp(t, `"job":`+id+`[,}]`, prolog, "slurm-prolog logged job %s", id)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

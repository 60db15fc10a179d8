// Package shardjob runs a large warm-up's shards as a Slurm job array on
// idle compute nodes: it writes the shard lists and a job description to a
// spool directory on the shared file system, submits the array with sbatch
// (low priority: --nice, the warm-up partition and QOS, never --exclusive;
// no shell: the batch script's interpreter is `slurm-prolog warm-shard`),
// asks squeue whether it is still there and cancels it with scancel. Each
// array task warms its shard on its own node's mount and reports to warmupd
// (pkg/api ReportShard); what to do with the reports is the scheduler's.
package shardjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/shard"
)

// JobFile is the job description in a run's spool directory.
const JobFile = "job.json"

// Job is what a runner reads from JobFile.
type Job struct {
	TaskID  int64  `json:"task_id"`
	Run     string `json:"run"`
	Dataset string `json:"dataset"`
	Shards  int    `json:"shards"`
	JuiceFS string `json:"juicefs"` // the juicefs binary on the compute nodes
	Threads int    `json:"threads"` // juicefs warmup -p (0: its default)
}

// ListFile is the name of shard i's list in a run's spool directory.
func ListFile(i int) string { return fmt.Sprintf("shard-%d", i) }

// Config says whether and how shards run as Slurm jobs. The zero value is
// off.
type Config struct {
	Partition string // sbatch --partition; "" leaves Slurm's default
	QOS       string // sbatch --qos
	MaxNodes  int    // array tasks running at once (the %N of --array), and shards per warm-up
	MinBytes  int64  // smallest dataset sent to Slurm; smaller ones warm on the service node
	User      string // sbatch --uid (warmupd runs as root); "" submits as warmupd's user
	Spool     string // directory on a file system every compute node sees
	Runner    string // the slurm-prolog binary on the compute nodes
	Nice      int    // sbatch --nice (default 10000: after every user job)
	JuiceFS   string // the juicefs binary on the compute nodes
	Threads   int    // juicefs warmup -p on the compute nodes
	Sbatch    string // the sbatch binary (default "sbatch" in PATH); squeue and scancel are its siblings
	// PendingMax bounds how long a shard may wait for a node: past it, its
	// array task is cancelled and the shard warmed on the service node
	// (0: no bound).
	PendingMax time.Duration
}

// Enabled tells whether a warm-up of bytes runs as a Slurm job array.
func (c *Config) Enabled(bytes int64) bool {
	return c != nil && c.Spool != "" && c.MaxNodes > 1 && (c.Partition != "" || c.QOS != "") && bytes >= c.MinBytes && bytes > 0
}

func (c *Config) tool(name string) string {
	if c.Sbatch == "" {
		return name
	}
	return filepath.Join(filepath.Dir(c.Sbatch), name)
}

// Array is a submitted job array.
type Array struct {
	JobID string
	Dir   string // the run's spool directory
}

// Prepare writes a run's spool directory: the job description, one list
// per shard and the batch script (`#!RUNNER warm-shard`: no shell).
func (c *Config) Prepare(job Job, shards []shard.Shard) (dir string, err error) {
	dir = filepath.Join(c.Spool, job.Run)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("shardjob: create spool directory %s (is WarmupSpool writable?): %w", dir, err)
	}
	job.Shards = len(shards)
	for i, s := range shards {
		if err := shard.WriteList(filepath.Join(dir, ListFile(i)), s.Files); err != nil {
			return "", err
		}
	}
	b, _ := json.MarshalIndent(job, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, JobFile), b, 0o644); err != nil {
		return "", fmt.Errorf("shardjob: write %s: %w", JobFile, err)
	}
	script := "#!" + c.Runner + " warm-shard\n# accel-data warm-up shard runner: the interpreter line runs it, no shell.\n"
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("shardjob: write the batch script: %w", err)
	}
	return dir, nil
}

// Try names one submission of a run: the zero Try is the run's array of
// every shard; a shard submitted again (its array task failed or was lost)
// is Try{Shard: i, N: its try, from 2}, an array of that one shard.
type Try struct{ Shard, N int }

// Args is the sbatch argv (without the binary) that runs the shards
// indexes of the run in dir as one array, submission try of the run.
func (c *Config) Args(job Job, dir string, indexes []int, try Try) []string {
	idx := make([]string, len(indexes))
	for i, x := range indexes {
		idx[i] = strconv.Itoa(x)
	}
	nice := c.Nice
	if nice == 0 {
		nice = 10000
	}
	args := []string{"--parsable", "--array=" + strings.Join(idx, ",") + "%" + strconv.Itoa(max(1, c.MaxNodes)),
		"--nice=" + strconv.Itoa(nice), "--job-name=" + JobName(job.TaskID), "--comment=" + Comment(job.Run, try),
		"--nodes=1", "--ntasks=1", "--chdir=/", "--output=" + filepath.Join(dir, "slurm-%A_%a.out")}
	if c.Partition != "" {
		args = append(args, "--partition="+c.Partition)
	}
	if c.QOS != "" {
		args = append(args, "--qos="+c.QOS)
	}
	if c.User != "" {
		args = append(args, "--uid="+c.User)
	}
	return append(args, filepath.Join(dir, "run"), dir)
}

// JobName is the Slurm job name of task's arrays (what squeue shows).
func JobName(task int64) string { return "accel-warm-" + strconv.FormatInt(task, 10) }

// Comment is the Slurm comment of submission try of run: it names the run
// (and a shard submitted again, with its try), so that a warmupd that died
// between sbatch and saving the job id it printed finds that submission
// again (Find), and no other.
func Comment(run string, try Try) string {
	if try == (Try{}) {
		return "accel-data run " + run
	}
	return fmt.Sprintf("accel-data run %s shard %d try %d", run, try.Shard, try.N)
}

// Find returns the id of the job array that squeue lists for job's task
// with submission try of job's run in its comment ("" when there is none):
// one a previous warmupd submitted but did not live to record. Only jobs of
// the user the arrays are submitted as count (anyone may name a job and set
// its comment).
func (c *Config) Find(ctx context.Context, job Job, try Try) (string, error) {
	owner := c.User
	if owner == "" {
		owner = strconv.Itoa(os.Getuid()) // sbatch without --uid: warmupd's user
	}
	text, err := c.run(ctx, c.tool("squeue"), "--noheader", "--array", "--user="+owner, "--name="+JobName(job.TaskID), "--format=%F|%k")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(text, "\n") {
		id, comment, ok := strings.Cut(strings.TrimSpace(l), "|")
		if ok && comment == Comment(job.Run, try) {
			return id, nil
		}
	}
	return "", nil
}

// Submit submits the shards indexes of the run in dir, as its submission try.
func (c *Config) Submit(ctx context.Context, job Job, dir string, indexes []int, try Try) (string, error) {
	out, err := c.run(ctx, c.tool("sbatch"), c.Args(job, dir, indexes, try)...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";") // --parsable: "JOBID[;CLUSTER]"
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", fmt.Errorf("shardjob: sbatch printed %q, not a job id", out)
	}
	return id, nil
}

// Task is an array task squeue still lists.
type Task struct {
	State string // PENDING, RUNNING, …
	Node  string // where it runs ("" while pending)
}

// Live lists the array tasks (JOBID_INDEX) of jobs ids that squeue still
// shows, with their state and node; a job Slurm no longer knows lists
// nothing.
func (c *Config) Live(ctx context.Context, ids []string) (map[string]Task, error) {
	out := map[string]Task{}
	if len(ids) == 0 {
		return out, nil
	}
	text, err := c.run(ctx, c.tool("squeue"), "--noheader", "--array", "--jobs="+strings.Join(ids, ","), "--format=%i %T %N")
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return out, nil
		}
		return nil, err
	}
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) >= 2 {
			t := Task{State: f[1]}
			if len(f) > 2 {
				t.Node = f[2]
			}
			out[f[0]] = t
		}
	}
	return out, nil
}

// Cancel cancels job array id (its running tasks are killed).
func (c *Config) Cancel(ctx context.Context, id string) error {
	_, err := c.run(ctx, c.tool("scancel"), id)
	return err
}

func (c *Config) run(ctx context.Context, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return "", fmt.Errorf("shardjob: %s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("shardjob: run %s (is Slurm installed on the service node?): %w", bin, err)
	}
	return string(out), nil
}

package shardjob

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/shard"
)

func TestEnabledOnlyWhenConfiguredAndLarge(t *testing.T) {
	var off *Config
	require.False(t, off.Enabled(1<<40))
	c := &Config{Partition: "warm", Spool: "/spool", MaxNodes: 3, MinBytes: 100}
	require.True(t, c.Enabled(100))
	require.False(t, c.Enabled(99), "smaller than WarmupMinBytes")
	require.False(t, (&Config{Spool: "/spool", MaxNodes: 3}).Enabled(1<<40), "no partition, no QOS: off")
	require.True(t, (&Config{QOS: "scavenger", Spool: "/spool", MaxNodes: 3}).Enabled(1))
}

// The spool holds the job, one list per shard and a batch script whose
// interpreter is the runner (no shell); sbatch gets a low-priority,
// non-exclusive array of the requested indexes.
func TestPrepareAndArgs(t *testing.T) {
	c := &Config{Partition: "warm", QOS: "scavenger", MaxNodes: 3, Spool: t.TempDir(), Runner: "/usr/sbin/slurm-prolog", User: "accel"}
	job := Job{TaskID: 7, Run: "task7-a1", Dataset: "/jfs/ds", JuiceFS: "/usr/bin/juicefs"}
	dir, err := c.Prepare(job, []shard.Shard{{Files: []string{"/jfs/ds/a"}, Bytes: 1}, {Files: []string{"/jfs/ds/b", "/jfs/ds/c"}, Bytes: 2}})
	require.NoError(t, err)
	script, err := os.ReadFile(filepath.Join(dir, "run"))
	require.NoError(t, err)
	require.Regexp(t, `^#!/usr/sbin/slurm-prolog warm-shard\n`, string(script))
	files, err := shard.ReadList(filepath.Join(dir, ListFile(1)))
	require.NoError(t, err)
	require.Equal(t, []string{"/jfs/ds/b", "/jfs/ds/c"}, files)
	var got Job
	b, err := os.ReadFile(filepath.Join(dir, JobFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, 2, got.Shards)
	require.Equal(t, "/usr/bin/juicefs", got.JuiceFS)

	args := c.Args(job, dir, []int{0, 1}, Try{})
	require.Equal(t, []string{"--parsable", "--array=0,1%3", "--nice=10000", "--job-name=accel-warm-7", "--comment=accel-data run task7-a1", "--nodes=1", "--ntasks=1",
		"--chdir=/", "--output=" + filepath.Join(dir, "slurm-%A_%a.out"), "--partition=warm", "--qos=scavenger", "--uid=accel",
		filepath.Join(dir, "run"), dir}, args)
	require.NotContains(t, args, "--exclusive")
	// Shard 1 submitted again: an array of that shard, with a comment of
	// its own (Find looks up that try, not the run's first array).
	args = c.Args(job, dir, []int{1}, Try{Shard: 1, N: 2})
	require.Contains(t, args, "--array=1%3")
	require.Contains(t, args, "--comment=accel-data run task7-a1 shard 1 try 2")
	require.NotEqual(t, Comment(job.Run, Try{}), Comment(job.Run, Try{Shard: 1, N: 2}))
	require.NotEqual(t, Comment(job.Run, Try{Shard: 1, N: 2}), Comment(job.Run, Try{Shard: 1, N: 3}))
}

package agent_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/accesslog"
	"github.com/accel-data/accel-data/internal/agent"
)

// procFixture writes /proc/PID/{cgroup,environ} files for pids.
func procFixture(t *testing.T, procs map[uint32][2]string) string {
	root := t.TempDir()
	for pid, ce := range procs {
		d := filepath.Join(root, strconv.Itoa(int(pid)))
		require.NoError(t, os.MkdirAll(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "cgroup"), []byte(ce[0]), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(d, "environ"), []byte(ce[1]), 0o644))
	}
	return root
}

func feed(t *testing.T, a *agent.Aggregator, name string) {
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if p.Parse(sc.Bytes(), &e) == nil {
			a.Observe(&e)
		}
	}
}

func TestAggregateRealLookupAndRead(t *testing.T) {
	proc := procFixture(t, map[uint32][2]string{
		21987: {"0::/system.slice/slurmstepd.scope/job_42/step_batch/user/task_0\n", "PATH=/bin\x00"},
		21988: {"0::/user.slice\n", "HOME=/root\x00SLURM_JOB_ID=43\x00"},
	})
	stats := agent.Counters{HitBytes: 100, MissBytes: 10, GetBytes: 10}
	a := &agent.Aggregator{Mount: "/jfs", DatasetDepth: 1, SubpathDepth: 1,
		Jobs: agent.NewJobs(proc, 16), Inodes: agent.NewInodes(1024),
		Stats: func() (agent.Counters, bool) { return stats, true }}
	feed(t, a, "62_accesslog_lookup_read.txt")
	stats = agent.Counters{HitBytes: 100, MissBytes: 65546, GetBytes: 65546}
	alive := map[uint32]bool{21987: true, 21988: false}
	jobs, lines, dropped, unattr, unres := a.Report(func(pid uint32) bool { return alive[pid] })
	require.Equal(t, int64(15), lines)
	require.Zero(t, dropped)
	require.Zero(t, unattr)
	require.Zero(t, unres)
	require.Len(t, jobs, 2)
	j := jobs[0]
	require.Equal(t, uint64(42), j.JobID)
	require.False(t, j.Final, "pid 21987 still runs")
	require.Equal(t, int64(65536), j.MissBytes)
	require.Equal(t, int64(0), j.HitBytes)
	require.Len(t, j.Paths, 1)
	require.Equal(t, "/jfs/small0", j.Paths[0].Dataset)
	require.Equal(t, "s00", j.Paths[0].Subpath)
	require.Equal(t, int64(65536), j.Paths[0].Bytes)
	require.Equal(t, int64(65536), j.Paths[0].DistinctBytes)
	require.Equal(t, int64(1), j.Paths[0].Files)
	require.Equal(t, time.Date(2026, 12, 1, 11, 35, 0, 598917000, time.UTC), j.Paths[0].First)
	require.Equal(t, uint64(43), jobs[1].JobID, "SLURM_JOB_ID in environ")
	require.True(t, jobs[1].Final, "its only process ended")
	require.Empty(t, jobs[1].Paths, "it only listed a directory")

	// The next report has only what came after: nothing for job 42.
	jobs, _, _, _, _ = a.Report(func(pid uint32) bool { return alive[pid] })
	require.Empty(t, jobs)
	alive[21987] = false
	jobs, _, _, _, _ = a.Report(func(pid uint32) bool { return alive[pid] })
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Final)
}

// Reads of a file whose lookup came before the agent started are counted
// as unresolved; reads by a process that was gone are unattributed.
func TestAggregateUnresolvedAndUnattributed(t *testing.T) {
	proc := procFixture(t, map[uint32][2]string{22340: {"0::/slurm/uid_0/job_7/step_0\n", ""}})
	a := &agent.Aggregator{Mount: "/jfs", Jobs: agent.NewJobs(proc, 16), Inodes: agent.NewInodes(1024)}
	feed(t, a, "12_accesslog.txt")
	jobs, _, _, unattr, unres := a.Report(func(uint32) bool { return true })
	require.Equal(t, int64(3730526), unres, "f000.bin (inode 3) was never looked up in the log")
	require.Positive(t, unattr, "pid 22341 is not in the fixture: gone")
	require.Empty(t, jobs, "job 7 read nothing that could be resolved and still runs: nothing to report")
}

func TestJobFromCgroupAndEnviron(t *testing.T) {
	for in, want := range map[string]uint64{
		"0::/system.slice/slurmstepd.scope/job_12345/step_0/user/task_0\n": 12345,
		"12:memory:/slurm/uid_1000/job_9/step_batch\n4:cpu:/\n":            9,
		"0::/user.slice/user-1000.slice/session-3.scope\n":                 0,
		"0::/job_12x/\n": 0,
	} {
		id, ok := agent.JobFromCgroup([]byte(in))
		require.Equal(t, want, id, in)
		require.Equal(t, want != 0, ok, in)
	}
	id, ok := agent.JobFromEnviron([]byte("A=1\x00SLURM_JOB_ID=77\x00B=2"))
	require.True(t, ok)
	require.Equal(t, uint64(77), id)
	_, ok = agent.JobFromEnviron([]byte("SLURM_JOB_IDX=77\x00"))
	require.False(t, ok)
}

// A pid's job is remembered, except the answer "no job" read from an empty
// environment: that is a process inside execve (the kernel shows no
// environment until the new program's is set), asked again next time.
func TestJobsAskAgainAfterAnEmptyEnvironment(t *testing.T) {
	proc := procFixture(t, map[uint32][2]string{
		100: {"0::/user.slice\n", ""},
		200: {"0::/user.slice\n", "HOME=/root\x00"},
	})
	jobs := agent.NewJobs(proc, 16)
	for pid, env := range map[uint32]string{100: "SLURM_JOB_ID=7\x00", 200: "SLURM_JOB_ID=8\x00"} {
		id, ok := jobs.Job(pid)
		require.True(t, ok, "pid %d runs", pid)
		require.Zero(t, id, "pid %d: no job yet", pid)
		require.NoError(t, os.WriteFile(filepath.Join(proc, strconv.Itoa(int(pid)), "environ"), []byte(env), 0o644))
	}
	id, _ := jobs.Job(100)
	require.Equal(t, uint64(7), id, "an empty environment was read again")
	id, _ = jobs.Job(200)
	require.Zero(t, id, "a process outside any job is remembered as such")
}

// A file under a dataset the job named belongs to it (the longest such
// name), whatever its depth; files read before the names were known are
// classified at the next report, by depth when they are still unknown.
func TestAggregateUsesTheJobsNamedDatasets(t *testing.T) {
	proc := procFixture(t, map[uint32][2]string{21987: {"0::/slurm/job_42/step_0\n", ""}})
	names := map[uint64][]string{}
	known := false
	newJobs := []uint64{}
	a := &agent.Aggregator{Mount: "/jfs", DatasetDepth: 1, SubpathDepth: 1, Jobs: agent.NewJobs(proc, 16), Inodes: agent.NewInodes(1024),
		Named:  func(j uint64) ([]string, bool) { return names[j], known },
		NewJob: func(j uint64) { newJobs = append(newJobs, j) }}
	feed(t, a, "62_accesslog_lookup_read.txt")
	require.Equal(t, []uint64{42}, newJobs)
	// the names arrive before the report: /jfs/small0/s00 is what job 42 named
	names[42], known = []string{"/jfs/small0", "/jfs/small0/s00/"}, true
	jobs, _, _, _, _ := a.Report(func(uint32) bool { return true })
	require.Len(t, jobs, 1)
	require.Len(t, jobs[0].Paths, 1)
	require.Equal(t, "/jfs/small0/s00", jobs[0].Paths[0].Dataset)
	require.Equal(t, ".", jobs[0].Paths[0].Subpath)
	require.Equal(t, int64(65536), jobs[0].Paths[0].Bytes)
	require.Equal(t, int64(1), jobs[0].Paths[0].Files)

	// names not known yet: the reads wait; the job ends first: by depth
	b := &agent.Aggregator{Mount: "/jfs", DatasetDepth: 1, SubpathDepth: 1, Jobs: agent.NewJobs(proc, 16), Inodes: agent.NewInodes(1024),
		Named: func(uint64) ([]string, bool) { return nil, false }}
	feed(t, b, "62_accesslog_lookup_read.txt")
	jobs, _, _, _, _ = b.Report(func(uint32) bool { return true })
	require.Empty(t, jobs, "waiting for the job's names")
	jobs, _, _, _, _ = b.Report(func(uint32) bool { return false })
	require.Len(t, jobs, 1)
	require.True(t, jobs[0].Final)
	require.Equal(t, "/jfs/small0", jobs[0].Paths[0].Dataset)
	require.Equal(t, "s00", jobs[0].Paths[0].Subpath)
	require.Equal(t, int64(65536), jobs[0].Paths[0].Bytes)
}

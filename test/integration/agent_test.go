package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// agentRig is a real accel-agent process following a FIFO that the test
// writes access-log lines into, in JuiceFS's exact format, for the real pids
// of processes the test starts.
type agentRig struct {
	t     *testing.T
	fifo  string
	stats string
	proc  *testutil.Process
	w     *os.File
}

func startAgent(t *testing.T, v *testutil.Volume, socket, node string, extra ...string) *agentRig {
	t.Helper()
	dir := t.TempDir()
	r := &agentRig{t: t, fifo: filepath.Join(dir, "accesslog"), stats: filepath.Join(dir, "stats")}
	require.NoError(t, syscall.Mkfifo(r.fifo, 0o600))
	r.setStats(0, 0, 0)
	args := append([]string{"--config", "/dev/null", "--socket", socket, "--agent-mount", v.Mount,
		"--agent-access-log", r.fifo, "--agent-stats", r.stats, "--agent-node", node,
		"--agent-interval", "200ms", "--log-level", "debug"}, extra...)
	r.proc = testutil.StartProcess(t, "accel-agent", exec.Command(testutil.Binary(t, "cmd/accel-agent"), args...))
	// Opening the FIFO for writing waits for the agent to open it.
	w, err := os.OpenFile(r.fifo, os.O_WRONLY, 0)
	require.NoError(t, err)
	r.w = w
	t.Cleanup(func() { r.w.Close() }) // runs before the agent is stopped
	return r
}

func (r *agentRig) Logs() string { return r.proc.Logs() }

// setStats writes the mount counters the agent snapshots (.stats format).
func (r *agentRig) setStats(hit, miss, get int64) {
	data := fmt.Sprintf("juicefs_blockcache_hit_bytes %d\njuicefs_blockcache_miss_bytes %d\njuicefs_object_request_data_bytes_GET %d\njuicefs_blockcache_hits 1\n", hit, miss, get)
	tmp := r.stats + ".tmp"
	require.NoError(r.t, os.WriteFile(tmp, []byte(data), 0o644))
	require.NoError(r.t, os.Rename(tmp, r.stats))
}

// line writes one access-log line as JuiceFS 1.4 formats it.
func (r *agentRig) line(pid int, op string) {
	ts := time.Now().Format("2006.01.02 15:04:05.000000")
	_, err := fmt.Fprintf(r.w, "%s [uid:0,gid:0,pid:%d] %s <0.000100>\n", ts, pid, op)
	require.NoError(r.t, err)
}

// readFile writes the lines of `cat PATH` by pid: lookups from the root,
// open, getattr, reads of 128 KiB, flush and release (pid 0), with inodes
// from ino (ino, ino+1, … for each path component).
func (r *agentRig) readFile(pid int, rel string, ino uint64, fh uint64, size int64) {
	parts := strings.Split(rel, "/")
	parent := uint64(1)
	for i, name := range parts {
		attrs := "drwxr-xr-x:0040755,2,0,0,1796124035,1796124050,1796124050,4096"
		if i == len(parts)-1 {
			attrs = fmt.Sprintf("-rw-r--r--:0100644,1,0,0,1796124035,1796124035,1796124035,%d", size)
		}
		r.line(pid, fmt.Sprintf("lookup (%d,%s): (%d,[%s]) - OK", parent, name, ino+uint64(i), attrs))
		parent = ino + uint64(i)
	}
	f := parent
	r.line(pid, fmt.Sprintf("open (%d,0x8000) [fh:%d] - OK", f, fh))
	for off := int64(0); off < size; off += 128 << 10 {
		n := min(int64(128<<10), size-off)
		r.line(pid, fmt.Sprintf("read (%d,131072,%d,%d): (%d) - OK", f, off, fh, n))
	}
	r.line(pid, fmt.Sprintf("flush (%d,%d,3383EB3F58E8B257) - OK", f, fh))
	r.line(0, fmt.Sprintf("release (%d,%d) - OK", f, fh))
}

func waitJobIO(t *testing.T, c *api.Client, id uint64, cond func(*api.JobIO) bool) *api.JobIO {
	t.Helper()
	var last *api.JobIO
	var lastErr error
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		io, err := c.JobIO(context.Background(), id)
		last, lastErr = io, err
		if err == nil && cond(io) {
			return io
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %d I/O never matched: %+v, %v", id, last, lastErr)
	return nil
}

// A job names /jfs/ds but reads only ds/train: the agent attributes its
// reads by pid (SLURM_JOB_ID in the process's environment), resolves inodes
// from the lookups, and at job end warmupd has the job's bytes per subpath,
// its cache counters over the job's time, and the dataset's read density.
func TestAgentReportsWhatAJobRead(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds/train", 2, 1<<20)
	v.WriteFiles(t, "ds/val", 6, 1<<20)
	d := testutil.StartWarmupd(t, v)
	ctx := context.Background()
	ds := filepath.Join(v.Mount, "ds")
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}, Token: "tok-agent", JobID: 4242, Source: api.SourceSubmit})
	require.NoError(t, err)
	// A second job names a dataset two levels down: its reads belong to it.
	v.WriteFiles(t, "team/ds2/x", 1, 1<<20)
	ds2 := filepath.Join(v.Mount, "team", "ds2")
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds2}, Token: "tok-agent2", JobID: 4343, Source: api.SourceSubmit})
	require.NoError(t, err)
	d.WaitQueue(2*time.Minute, allTerminal) // the warm-up measures the dataset: 8 MiB
	_, err = d.Client.JobStart(ctx, 4242, api.JobStartRequest{Token: "tok-agent", Node: "n1"})
	require.NoError(t, err)

	job := testutil.JobProcess(t, 4242)
	other := exec.Command("sleep", "600") // a process outside any job
	other.Env = []string{"PATH=/usr/bin:/bin"}
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	a := startAgent(t, v, d.Socket, "n1")
	a.setStats(1000, 0, 0) // counters before the job read anything
	rel := func(p string) string { r, _ := filepath.Rel(v.Mount, p); return r }
	a.readFile(job.Process.Pid, rel(filepath.Join(ds, "train", "f0000.bin")), 100, 11, 1<<20)
	a.readFile(job.Process.Pid, rel(filepath.Join(ds, "train", "f0001.bin")), 200, 13, 1<<20)
	a.readFile(other.Process.Pid, rel(filepath.Join(ds, "val", "f0000.bin")), 300, 15, 1<<20)
	job2 := testutil.JobProcess(t, 4343)
	a.readFile(job2.Process.Pid, rel(filepath.Join(ds2, "x", "f0000.bin")), 500, 17, 1<<20)
	waitJobIO(t, d.Client, 4343, func(io *api.JobIO) bool { return io.Bytes == 1<<20 })
	require.NoError(t, job2.Process.Kill())
	_ = job2.Wait()
	io2 := waitJobIO(t, d.Client, 4343, func(io *api.JobIO) bool { return io.Final })
	require.Equal(t, []api.SubpathIO{{Dataset: ds2, Subpath: "x", Bytes: 1 << 20, Files: 1}}, io2.Subpaths,
		"the dataset the job named, not the first directory below the mount")
	a.line(0, "#")
	// While the job runs: a report without final, with its reads.
	io := waitJobIO(t, d.Client, 4242, func(io *api.JobIO) bool { return io.Bytes == 2<<20 })
	require.False(t, io.Final)
	a.setStats(1000+(1<<20), 1<<20, 1<<20) // half of the job's reads were hits
	require.NoError(t, job.Process.Kill())
	_ = job.Wait()
	io = waitJobIO(t, d.Client, 4242, func(io *api.JobIO) bool { return io.Final })

	require.Equal(t, int64(2<<20), io.Bytes, "only the job's own reads")
	require.Equal(t, int64(2), io.Files)
	require.Equal(t, []api.SubpathIO{{Dataset: ds, Subpath: "train", Bytes: 2 << 20, Files: 2}}, io.Subpaths)
	require.Equal(t, int64(1<<20), io.HitBytes)
	require.Equal(t, int64(1<<20), io.MissBytes)
	require.Equal(t, int64(1<<20), io.GetBytes)
	require.InDelta(t, 0.5, io.HitRatio, 1e-9)
	require.Len(t, io.Nodes, 1)
	require.Equal(t, "n1", io.Nodes[0].Node)
	require.Positive(t, io.PrologWaitSeconds)
	require.Len(t, io.Mounts, 1)
	require.NotEmpty(t, io.Mounts[0].CacheDir, "the mount's cache dir, from its .config")
	ms, err := d.Client.NodeMounts(ctx)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, int64(1<<20), ms[0].UnattributedBytes, "the reads of the process outside any job")
	require.Zero(t, ms[0].UnresolvedBytes)
	require.Zero(t, ms[0].Dropped)
	require.Positive(t, ms[0].Lines)

	dss, err := d.Client.Datasets(ctx)
	require.NoError(t, err)
	var got *api.Dataset
	for i := range dss.Datasets {
		if dss.Datasets[i].Path == ds {
			got = &dss.Datasets[i]
		}
	}
	require.NotNil(t, got)
	require.NotNil(t, got.ReadDensity)
	require.InDelta(t, 0.25, *got.ReadDensity, 0.01, "2 MiB of 8 MiB read")
	require.NotNil(t, got.HitRatio)
	require.InDelta(t, 0.5, *got.HitRatio, 1e-6)
	require.Contains(t, a.Logs(), "job ended on this node")
	require.Equal(t, 2, d.CountLogs("job I/O on node"), "one line per job and node")

	// swarmup job shows it, as a table and as JSON; swarmup datasets the density.
	swarmup := func(args ...string) string {
		out, err := exec.Command(testutil.Binary(t, "cmd/swarmup"), append([]string{"--socket", d.Socket}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	out := swarmup("job", "4242")
	require.Contains(t, out, "Job 4242: read 2.0 MiB (2 files) on 1 node(s), byte hit ratio 50.0%, object storage 1.0 MiB")
	require.Contains(t, out, "busiest "+ds+"/train")
	require.Regexp(t, `NODE\tREAD\tFILES\tHITRATIO\tHIT\tMISS\tOBJGET\tENDED\nn1\t2.0 MiB\t2\t50.0%\t1.0 MiB\t1.0 MiB\t1.0 MiB\ttrue\n`, out)
	require.Contains(t, out, ds+"\ttrain\t2.0 MiB\t2\n")
	var js api.JobIO
	require.NoError(t, json.Unmarshal([]byte(swarmup("job", "4242", "--json")), &js))
	require.Equal(t, io.Bytes, js.Bytes)
	require.Regexp(t, `\t25.0%\t50.0%\n`, swarmup("datasets", "--noheader", "--format", "path,density,hitratio"))
	bad, err := exec.Command(testutil.Binary(t, "cmd/swarmup"), "--socket", d.Socket, "job", "999").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(bad), "no accel-agent reported reads of it")

	// The epilog's one line for the job on this node carries its I/O.
	ep := exec.Command(testutil.Binary(t, "cmd/slurm-prolog"), "--socket", d.Socket)
	ep.Env = []string{"SLURM_SCRIPT_CONTEXT=epilog_slurmd", "SLURM_JOB_ID=4242", "SLURM_JOB_UID=0", "SLURMD_NODENAME=n1",
		"SPANK_ACCEL_DATA=" + ds, "ACCEL_DATA_CONF=/dev/null"}
	epOut, err := ep.CombinedOutput()
	require.NoError(t, err, "%s", epOut)
	require.Contains(t, string(epOut), "read 2097152 B in 2 files, hit ratio 50.0%, 1048576 B from object storage")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(string(epOut)), "\n")+1, "one line: %s", epOut)
}

// Only root (or SlurmdUser) may report access: another local user's report
// is refused and changes nothing, while anyone may read a job's report.
func TestAccessReportsOnlyFromRootOrSlurmd(t *testing.T) {
	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v)
	body, err := json.Marshal(api.AccessReport{Node: "n1", Mount: v.Mount,
		Jobs: []api.JobAccess{{JobID: 77, Final: true, Paths: []api.PathAccess{{Dataset: v.Mount + "/ds", Subpath: ".", Bytes: 10}}}}})
	require.NoError(t, err)
	code, out := call(t, nobody, d.Socket, "POST", "/v1/access", string(body))
	require.Equal(t, 403, code, out)
	require.Contains(t, out, "only root")
	code, _ = call(t, nobody, d.Socket, "GET", "/v1/jobs/77/io", "")
	require.Equal(t, 404, code, "nothing was recorded")

	code, out = call(t, -1, d.Socket, "POST", "/v1/access", string(body))
	require.Equal(t, 200, code, out)
	code, out = call(t, nobody, d.Socket, "GET", "/v1/jobs/77/io", "")
	require.Equal(t, 200, code, out)
	require.Contains(t, out, `"bytes":10`)
	code, out = call(t, -1, d.Socket, "POST", "/v1/access", `{"node":""}`)
	require.Equal(t, 400, code, out)
}

// With --narrow-warmups, once history shows that jobs naming ds read only
// ds/train, the next warm-up of ds warms ds/train first, then the rest.
func TestNarrowedWarmupWarmsWhatJobsReadFirst(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds/train", 2, 1<<20)
	v.WriteFiles(t, "ds/val", 8, 1<<20)
	d := testutil.StartWarmupd(t, v, "--narrow-warmups", "--verify-max-age", "1ms")
	ctx := context.Background()
	ds := filepath.Join(v.Mount, "ds")
	_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	d.WaitQueue(2*time.Minute, allTerminal) // measures ds: 10 MiB
	require.Zero(t, d.CountLogs("narrowed"), "no history yet: the whole dataset at once")

	_, err = d.Client.ReportAccess(ctx, api.AccessReport{Node: "n1", Mount: v.Mount, Jobs: []api.JobAccess{{JobID: 5, Final: true,
		Paths: []api.PathAccess{{Dataset: ds, Subpath: "train", Bytes: 2 << 20, DistinctBytes: 2 << 20, Files: 2, First: time.Now(), Last: time.Now()}}}}})
	require.NoError(t, err)
	v.Evict(t, ds)
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	d.WaitQueue(30*time.Second, func(es []api.QueueEntry) bool {
		return allTerminal(es) && d.CountLogs("subdirectories jobs read are warm") > 0
	})
	logs := d.Logs()
	require.Contains(t, logs, `"message":"narrowed warm-up: warming first what jobs read first"`)
	require.Contains(t, logs, `"first":"`+ds+`/train"`)
	es, err := d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Equal(t, api.TaskWarm, byDataset(es.Entries)[ds].State)
}

// From another host the agent reaches warmupd's TCP door with MUNGE (a
// session after the first credential), as root; a report from a uid that is
// neither root nor SlurmdUser is refused there too.
func TestAgentReportsOverTCP(t *testing.T) {
	r := newTCPRig(t)
	job := testutil.JobProcess(t, 5151)
	a := startAgent(t, r.v, "/nonexistent.sock", "n7", "--server", r.addr, "--munge-socket", r.munged.Socket)
	a.readFile(job.Process.Pid, "public/f0000.bin", 100, 21, 1<<20)
	// The process ends once the agent reported its reads (the agent maps a
	// pid to its job while the process lives).
	waitJobIO(t, r.d.Client, 5151, func(io *api.JobIO) bool { return io.Bytes == 1<<20 })
	require.NoError(t, job.Process.Kill())
	_ = job.Wait()
	io := waitJobIO(t, r.d.Client, 5151, func(io *api.JobIO) bool { return io.Final })
	require.Equal(t, int64(1<<20), io.Bytes)
	require.Equal(t, "n7", io.Nodes[0].Node)
	require.Equal(t, []api.SubpathIO{{Dataset: r.pub, Subpath: ".", Bytes: 1 << 20, Files: 1}}, io.Subpaths)

	body := `{"node":"n8","jobs":[{"job_id":5252,"final":true}]}`
	tcp := r.doors()[1]
	code, out := callVia(t, tcp, nobody, "POST", "/v1/access", body)
	require.Equal(t, 403, code, out)
	code, out = callVia(t, tcp, slurmdUID, "POST", "/v1/access", body)
	require.Equal(t, 200, code, out, "SlurmdUser may report")
}

// A job naming ds, whose history says jobs read only ds/train, gets a
// narrowed warm-up: its prolog lets it start once train is verified warm,
// while the rest of ds still warms.
func TestNarrowedWarmupReleasesThePrologWhenTrainIsWarm(t *testing.T) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "8") // MiB/s; a real client is mounted with the equivalent --download-limit
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds/train", 1, 1<<20)
	v.WriteFiles(t, "ds/val", 12, 4<<20) // 48 MiB: six seconds at 8 MiB/s
	d := testutil.StartWarmupd(t, v, "--narrow-warmups", "--workers", "1")
	ctx := context.Background()
	ds := filepath.Join(v.Mount, "ds")

	// warmupd learns the dataset's size from its first check, then the
	// warm-up is cancelled: the data stays cold.
	r, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}})
	require.NoError(t, err)
	d.WaitQueue(time.Minute, func(es []api.QueueEntry) bool { return byDataset(es)[ds].Bytes > 0 })
	_, err = d.Client.Cancel(ctx, api.CancelRequest{TaskIDs: []int64{r.Items[0].TaskID}})
	require.NoError(t, err)
	d.WaitQueue(time.Minute, allTerminal)
	v.Evict(t, ds)
	_, err = d.Client.ReportAccess(ctx, api.AccessReport{Node: "n1", Mount: v.Mount, Jobs: []api.JobAccess{{JobID: 5, Final: true,
		Paths: []api.PathAccess{{Dataset: ds, Subpath: "train", Bytes: 1 << 20, DistinctBytes: 1 << 20, Files: 1, First: time.Now(), Last: time.Now()}}}}})
	require.NoError(t, err)

	// The next job naming ds: its prolog waits for train only.
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{ds}, Token: "tok-narrow", JobID: 6161, Source: api.SourceSubmit})
	require.NoError(t, err)
	pro := exec.Command(testutil.Binary(t, "cmd/slurm-prolog"), "--socket", d.Socket, "--poll-interval", "100ms", "--prolog-wait", "2m")
	pro.Env = []string{"SLURM_SCRIPT_CONTEXT=prolog_slurmd", "SLURM_JOB_ID=6161", "SLURM_JOB_UID=0", "SLURMD_NODENAME=n1",
		"SPANK_ACCEL_DATA=" + ds, "SPANK_ACCEL_TOKEN=tok-narrow", "ACCEL_DATA_CONF=/dev/null"}
	out, err := pro.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "reason=narrowed", "%s", out)
	require.Contains(t, string(out), "what jobs read is warm")
	require.Equal(t, 1, d.CountLogs("narrowed warm-up: subdirectories jobs read are warm; jobs may start"))
	require.Positive(t, d.CountLogs("narrowed: 1 of 2 subdirectories, 2 % of bytes"), "the note swarmup queue shows while it warms")

	// The rest is warmed all the same.
	es := d.WaitQueue(2*time.Minute, func(es []api.QueueEntry) bool { return byDataset(es)[ds].State == api.TaskWarm })
	require.Equal(t, api.TaskWarm, byDataset(es)[ds].State)
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// startAgent runs accel-agent for node, configured by the Agent* keys of a
// configuration file of its own: on this machine through warmupd's socket,
// or on the multi-host cluster's host node over TCP with MUNGE. It waits
// until the agent follows the mount's access log (warmupd has a report
// with lines from it).
func startAgent(t *testing.T, w *world, node string) *testutil.Process {
	t.Helper()
	// JuiceFS: the binary whose `info --inode` names the inodes no lookup
	// line did (a real client opens what readdirplus listed without one).
	mount, conf := w.vol.Mount, fmt.Sprintf("Socket=%s\nJuiceFS=%s\n", w.d.Socket, w.vol.Binary)
	if hc := cl.hosts; hc != nil {
		// The datasets are DIR/jfs/TEST/…: two components below the mount.
		mount, conf = hc.jfs, fmt.Sprintf("Server=%s\nMungeSocket=%s\nAgentDatasetDepth=2\nJuiceFS=%s\n", hc.server, hc.munge, hc.juicefs)
	}
	cfg := filepath.Join(t.TempDir(), "accel-data.conf")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf("%sAgentMount=%s\nAgentNode=%s\nAgentInterval=300ms\nLogLevel=debug\n",
		conf, mount, node)), 0o644))
	bin := testutil.Binary(t, "cmd/accel-agent")
	cmd := exec.Command(bin, "--config", cfg)
	touch := func() { _, _ = os.ReadDir(mount) }
	if hc := cl.hosts; hc != nil {
		cmd = hc.cmd(context.Background(), node, -1, bin, "--config", cfg) // nsenter execs the agent: same pid
		touch = func() { _ = hc.cmd(context.Background(), node, -1, "ls", mount).Run() }
	}
	a := testutil.StartProcess(t, "accel-agent", cmd)
	// Touch the mount until the agent has reported lines of its log.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
		touch()
		ms, err := w.d.Client.NodeMounts(context.Background())
		require.NoError(t, err)
		if len(ms) == 1 && ms[0].Node == node && ms[0].Mount == mount && ms[0].Lines > 0 {
			return a
		}
		select {
		case <-a.Done():
			t.Fatalf("accel-agent exited:\n%s", a.Logs())
		default:
		}
		require.False(t, time.Now().After(deadline), "accel-agent reported no access-log line of %s within a minute: %+v\n%s", mount, ms, a.Logs())
	}
}

// waitJobIO waits for the agent's last report of a job (its processes ended)
// and returns the job's I/O report.
func waitJobIO(t *testing.T, w *world, a *testutil.Process, id uint64) *api.JobIO {
	t.Helper()
	var last *api.JobIO
	var lastErr error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		last, lastErr = w.d.Client.JobIO(context.Background(), id)
		if lastErr == nil && last.Final {
			t.Logf("job %d: read %d B in %d files, hit ratio %.4f (hit %d B, miss %d B), object storage %d B, prolog wait %.1fs",
				id, last.Bytes, last.Files, last.HitRatio, last.HitBytes, last.MissBytes, last.GetBytes, last.PrologWaitSeconds)
			return last
		}
	}
	t.Fatalf("no final I/O report of job %d: %+v, %v; agent log:\n%s", id, last, lastErr, a.Logs())
	return nil
}

// swarmupJob runs `swarmup job ID` and `swarmup job ID --json` and checks
// that both tell what warmupd has of the job (io): 2 MiB in files files,
// all under ds/train, and its hit ratio.
func swarmupJob(t *testing.T, w *world, swarmup string, io *api.JobIO, ds string, files int) {
	t.Helper()
	id := strconv.FormatUint(io.JobID, 10)
	out, err := w.swarmup(t, swarmup, "job", id)
	require.NoError(t, err, "%s", out)
	ratio := strconv.FormatFloat(float64(int(io.HitRatio*1000))/10, 'f', 1, 64) + "%"
	require.Contains(t, string(out), fmt.Sprintf("Job %s: read 2.0 MiB (%d files) on 1 node(s), byte hit ratio %s, object storage ", id, files, ratio))
	require.Contains(t, string(out), "busiest "+ds+"/train")
	require.Regexp(t, `(?m)^`+node(1)+`\t2\.0 MiB\t`+strconv.Itoa(files)+`\t`+regexp.QuoteMeta(ratio)+`\t`, string(out))
	require.Contains(t, string(out), ds+"\ttrain\t2.0 MiB\t"+strconv.Itoa(files)+"\n")
	out, err = w.swarmup(t, swarmup, "job", id, "--json")
	require.NoError(t, err, "%s", out)
	var js api.JobIO
	require.NoError(t, json.Unmarshal(out, &js), "%s", out)
	require.Equal(t, io.Bytes, js.Bytes)
	require.Equal(t, io.HitRatio, js.HitRatio)
	require.Equal(t, io.GetBytes, js.GetBytes)
}

// Issue 10, end to end: jobs name a dataset but read only its train/
// subdirectory, through a FUSE mount (the stand-in's, or a real client's)
// that an accel-agent follows as root. After each job, swarmup job shows
// what it read and its byte hit ratio (low on cold data, with object-storage
// bytes; ≥ 99 % on warm data), swarmup datasets the dataset's read density,
// and the next job naming the dataset, with NarrowWarmups, gets a narrowed
// warm-up whose prolog lets it start once train/ is warm.
func TestAgentJobsReadOneSubdirectory(t *testing.T) {
	// train: 32 files of 64 KiB, each one block read by one request (a cold
	// read is one miss, on the stand-in and on a real client); val: 48 MiB,
	// 6 s of warming at 8 MiB/s.
	w := setupVolume(t, []testutil.VolumeOption{testutil.WithFUSE()}, true, "8", "--narrow-warmups")
	if cl.hosts != nil {
		require.True(t, cl.hosts.fuse(), "the multi-host cluster's volume must be a FUSE mount on every host: a real client, or the stand-in's FUSE mount (the default; unset %s=0)", testutil.StandInFUSEEnv)
	}
	ds := filepath.Dir(w.vol.WriteFiles(t, "ds/train", 32, 64<<10))
	w.vol.WriteFiles(t, "ds/val", 12, 4*mib)
	train := filepath.Join(ds, "train")
	const trainBytes = 32 * 64 << 10
	swarmup := testutil.Binary(t, "cmd/swarmup")
	a := startAgent(t, w, node(1))

	// 1. A job naming ds, without history: the whole dataset is warmed, then
	// the job reads train: warm data.
	id1, _ := sbatchScript(t, node(1), ds, nil, "readdir.sh", train)
	waitDone(t, 90*time.Second, id1)
	require.Contains(t, waitPrologLine(t, id1, "prolog"), "reason=warm")
	require.Equal(t, int64(trainBytes), readOutput(t, id1).Read[train])
	warm := waitJobIO(t, w, a, id1)
	require.Equal(t, int64(trainBytes), warm.Bytes, "the job's reads through the mount")
	require.Equal(t, int64(32), warm.Files)
	require.Equal(t, []api.SubpathIO{{Dataset: ds, Subpath: "train", Bytes: trainBytes, Files: 32}}, warm.Subpaths, "only train, of the dataset the job named")
	require.GreaterOrEqual(t, warm.HitRatio, 0.99, "a job on warm data: %+v", warm)
	require.GreaterOrEqual(t, warm.HitBytes, int64(trainBytes)*99/100)
	require.Contains(t, waitPrologLine(t, id1, "epilog"), `io="read `, "the epilog's line carries the job's I/O")
	swarmupJob(t, w, swarmup, warm, ds, 32)

	// 2. The data is evicted; a job reads train cold (it names nothing, so
	// no warm-up runs first).
	w.vol.Evict(t, ds)
	id2, _ := sbatchScript(t, node(1), "", nil, "readdir.sh", train)
	waitDone(t, 90*time.Second, id2)
	require.Equal(t, int64(trainBytes), readOutput(t, id2).Read[train])
	cold := waitJobIO(t, w, a, id2)
	require.Equal(t, int64(trainBytes), cold.Bytes)
	require.Equal(t, []api.SubpathIO{{Dataset: ds, Subpath: "train", Bytes: trainBytes, Files: 32}}, cold.Subpaths)
	require.Less(t, cold.HitRatio, 0.5, "a job on cold data: %+v", cold)
	require.GreaterOrEqual(t, cold.HitRatio, 0.0, "the mount's counters were taken: %+v", cold)
	require.Positive(t, cold.MissBytes)
	require.GreaterOrEqual(t, cold.GetBytes, int64(trainBytes)*9/10, "the cold reads came from object storage: %+v", cold)
	swarmupJob(t, w, swarmup, cold, ds, 32)

	// swarmup datasets: jobs read 2 MiB of the 50 MiB dataset.
	dss, err := w.d.Client.Datasets(context.Background())
	require.NoError(t, err)
	var density *float64
	for _, d := range dss.Datasets {
		if d.Path == ds {
			density = d.ReadDensity
		}
	}
	require.NotNil(t, density, "%s has a read density: %+v", ds, dss.Datasets)
	require.InDelta(t, 2.0/50, *density, 0.002)
	out, err := w.swarmup(t, swarmup, "datasets", "--noheader", "--format", "path,density")
	require.NoError(t, err, "%s", out)
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(ds)+`\t(3\.9|4\.0)%$`, string(out))

	// 3. Evicted again; the next job naming ds gets a narrowed warm-up:
	// train first, and its prolog lets it start once train is warm.
	w.vol.Evict(t, ds)
	id3, _ := sbatchScript(t, node(1), ds, nil, "readdir.sh", train)
	sawNarrowed := false
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !sawNarrowed; time.Sleep(100 * time.Millisecond) {
		out, err := w.swarmup(t, swarmup, "--all", "--noheader", "--format", "dataset,state,reason")
		require.NoError(t, err, "%s", out)
		last = string(out)
		sawNarrowed = regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(ds) + `\twarming\tnarrowed: 1 of 2 subdirectories, [34] % of bytes$`).MatchString(last)
	}
	require.True(t, sawNarrowed, "swarmup never showed %s's narrowed warm-up; last output:\n%s", ds, last)
	waitDone(t, 90*time.Second, id3)
	require.Contains(t, waitPrologLine(t, id3, "prolog"), "reason=narrowed")
	narrowed := waitJobIO(t, w, a, id3)
	require.Equal(t, int64(trainBytes), narrowed.Bytes)
	require.GreaterOrEqual(t, narrowed.HitRatio, 0.99, "train was warm when the job started: %+v", narrowed)
	swarmupJob(t, w, swarmup, narrowed, ds, 32)
	w.waitWarm(t, ds, time.Minute) // the rest of ds is warmed all the same

	ms, err := w.d.Client.NodeMounts(context.Background())
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Zero(t, ms[0].Dropped, "no access-log line lost")
}

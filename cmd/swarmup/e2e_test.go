package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// run runs swarmup in-process against the daemon d, from directory wd.
func runSwarmup(t *testing.T, d *testutil.Daemon, wd string, tty bool, args ...string) (exitCode, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, IsTTY: tty, ErrIsTTY: tty},
		Now:    time.Now,
		Getwd:  func() (string, error) { return wd, nil },
		Getenv: func(k string) string { return map[string]string{api.SocketEnv: d.Socket}[k] },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	code := Main(ctx, f, args)
	return code, out.String(), errOut.String()
}

// A warm-up asked for with a relative path is queued, warmed by the real
// daemon with the JuiceFS stand-in, waited for, and then shows in every view.
func TestE2EWarmWaitAndViews(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds1", 6, 4<<20)
	v.WriteFiles(t, "dsb", 2, 4<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "1")
	ds1 := filepath.Join(v.Mount, "ds1")

	code, out, errOut := runSwarmup(t, d, v.Mount, false, "warm", "--wait", "--interval", "100ms", "ds1")
	require.Equal(t, exitOK, code, "stderr: %s", errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "PATH\tOUTCOME\tTASKID\tSTATE", lines[0])
	require.Len(t, lines, 2)
	f := strings.Split(lines[1], "\t")
	require.Equal(t, []string{ds1, "new"}, f[:2], "the relative path was resolved against the working directory")
	taskID := f[2]
	// --check printed "100.0%", which may be 99.95 %: shown as 99.9 %, never a promised 100 %.
	require.Regexp(t, ` task `+taskID+` `+ds1+` warm 99.9%`, errOut, "progress lines end with the task warm")

	// Asking again joins the warm task (verified: re-checked if its last
	// check is older than VerifyMaxAge).
	code, out, errOut = runSwarmup(t, d, "/", false, "warm", "--noheader", ds1)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, ds1+"\tjoined\t"+taskID+"\twarm\n", out)

	// The default view hides finished tasks; --all and --state show them.
	code, out, _ = runSwarmup(t, d, "/", false, "--noheader")
	require.Equal(t, exitOK, code)
	require.Empty(t, out)
	code, out, _ = runSwarmup(t, d, "/", false, "--state", "warm", "--format", "taskid,dataset,state,progress", "--noheader")
	require.Equal(t, exitOK, code)
	require.Equal(t, taskID+"\t"+ds1+"\twarm\t99.9%\n", out)

	code, out, _ = runSwarmup(t, d, "/", true, "queue", "--all")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `^TASKID +DATASET +STATE +PROGRESS +SIZE +CACHED +PRIORITY +JOBS +AGE +REASON\n`, out)
	require.Regexp(t, taskID+` +`+ds1+` +warm +\[#########-\] 99.9% +24 MiB +2[34] MiB `, out)

	code, out, _ = runSwarmup(t, d, "/", false, "datasets", "--json")
	require.Equal(t, exitOK, code)
	var ds api.DatasetsResponse
	require.NoError(t, json.Unmarshal([]byte(out), &ds))
	require.Len(t, ds.Datasets, 1)
	require.Equal(t, ds1, ds.Datasets[0].Path)
	require.Equal(t, int64(6), ds.Datasets[0].Files)
	require.GreaterOrEqual(t, ds.Datasets[0].CachedRatio, 0.99)

	code, out, _ = runSwarmup(t, d, "/", true, "datasets")
	require.Equal(t, exitOK, code)
	require.Regexp(t, `PATH +SIZE +FILES +CACHED +RATIO +CHECKED +HOW +STATE +RUNNING +QUEUED +DENSITY +HITRATIO\n`+ds1+` +24 MiB +6 +2[34] MiB +\[#########-\] 99.9% +\d+s +walked +warm +0 +0 +- +-\n`, out)

	// A path under the warm ds1 is not covered by it (it may be new data):
	// it gets its own task, whose warm-up finds it cached and fetches nothing.
	f0 := filepath.Join(ds1, "f0000.bin")
	code, out, errOut = runSwarmup(t, d, "/", false, "warm", "--wait", "--interval", "50ms", "--noheader", f0)
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `^`+f0+`\tnew\t\d+\tqueued\n$`, out)
	require.Equal(t, 1, d.CountLogs(`"fetched":0`, `"dataset":"`+f0+`"`, `"message":"warm"`), "already warm: nothing fetched")

	// On a terminal, --wait redraws a progress block in place on stderr.
	code, out, errOut = runSwarmup(t, d, v.Mount, true, "warm", "--wait", "--interval", "50ms", "dsb")
	require.Equal(t, exitOK, code, "stderr: %q", errOut)
	require.Regexp(t, `^PATH +OUTCOME +TASKID +STATE\n`+filepath.Join(v.Mount, "dsb")+` +new +\d+ +queued\n$`, out)
	require.Regexp(t, `warm     \[#########-\] 99\.9%  [78]\.\d MiB/8\.0 MiB  `+regexp.QuoteMeta(filepath.Join(v.Mount, "dsb")), errOut)
	if strings.Count(errOut, "\n") > 1 {
		require.Contains(t, errOut, "\x1b[1A\x1b[J", "later frames overwrite the earlier ones")
	}
}

// With warming paused, tasks stay queued: they can be listed, waited for
// until --timeout, and cancelled once.
func TestE2EQueueCancelTimeout(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds2", 2, 1<<20)
	v.WriteFiles(t, "ds3", 2, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	ds2 := filepath.Join(v.Mount, "ds2")

	code, out, errOut := runSwarmup(t, d, v.Mount, false, "warm", "--json", "ds2", "ds3")
	require.Equal(t, exitOK, code, errOut)
	var res warmResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Len(t, res.Items, 2)
	require.Equal(t, "new", res.Items[0].Outcome)
	require.Nil(t, res.Tasks, "without --wait there are no final task states")
	id2 := strconv.FormatInt(res.Items[0].TaskID, 10)

	code, out, _ = runSwarmup(t, d, "/", false, "--dataset", ds2, "--format", "taskid,state,progress,size", "--noheader")
	require.Equal(t, exitOK, code)
	require.Equal(t, id2+"\tqueued\t\t\n", out, "a dataset not yet measured has no progress nor size")

	code, _, errOut = runSwarmup(t, d, "/", false, "warm", "--wait", "--interval", "50ms", "--timeout", "300ms", ds2)
	require.Equal(t, exitTimeout, code, errOut)
	require.Contains(t, errOut, "gave up waiting after --timeout 300ms; the warm-up goes on")

	code, out, errOut = runSwarmup(t, d, "/", false, "cancel", id2)
	require.Equal(t, exitOK, code, errOut)
	require.Equal(t, "cancelled task "+id2+" ("+ds2+")\n", out)

	code, out, errOut = runSwarmup(t, d, v.Mount, false, "cancel", "ds2")
	require.Equal(t, exitError, code)
	require.Empty(t, out)
	require.Contains(t, errOut, "nothing was cancelled")

	code, out, _ = runSwarmup(t, d, "/", false, "--all", "--state", "cancelled", "--format", "taskid", "--noheader")
	require.Equal(t, exitOK, code)
	require.Equal(t, id2+"\n", out)

	// A wait that ends with a dataset not warm exits 4 and says which.
	ds3 := filepath.Join(v.Mount, "ds3")
	type result struct {
		code        exitCode
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		c, o, e := runSwarmup(t, d, "/", false, "warm", "--wait", "--interval", "50ms", ds3)
		done <- result{c, o, e}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for d.CountLogs("warm-up requested", ds3) < 2 {
		require.True(t, time.Now().Before(deadline), "the waiting swarmup never submitted")
		time.Sleep(20 * time.Millisecond)
	}
	_, err := d.Client.Cancel(context.Background(), api.CancelRequest{Paths: []string{ds3}})
	require.NoError(t, err)
	r := <-done
	require.Equal(t, exitNotWarm, r.code, r.errOut)
	require.Contains(t, r.out, ds3+"\tjoined\t")
	require.Contains(t, r.errOut, "1 of 1 datasets did not end warm: "+ds3+" is cancelled")
}

// The real binary: exit codes and one-line errors as a shell sees them.
func TestE2EBinaryExitCodes(t *testing.T) {
	bin := testutil.Binary(t, "cmd/swarmup")
	run := func(env []string, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String(), errOut.String()
		}
		require.NoError(t, err)
		return 0, out.String(), errOut.String()
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	code, out, errOut := run([]string{"WARMUPD_SOCKET=" + sock})
	require.Equal(t, int(exitDaemonDown), code)
	require.Empty(t, out)
	require.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
	require.Contains(t, errOut, sock)

	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	code, out, errOut = run(nil, "--socket", d.Socket, "warm", "/definitely/not/a/mount")
	require.Equal(t, int(exitError), code, "warmupd refuses a path outside its mounts: %s", errOut)
	require.Empty(t, out)
	require.Contains(t, errOut, "swarmup: warmupd: ")

	code, out, _ = run(nil, "--socket", d.Socket)
	require.Equal(t, 0, code)
	require.Equal(t, "TASKID\tDATASET\tSTATE\tPROGRESS\tSIZE\tCACHED\tPRIORITY\tJOBS\tAGE\tREASON\n", out, "piped output is tab-separated")
}

// prio and cache against the real daemon, with warming paused so the task
// stays queued and has a priority.
func TestE2EPrioAndCache(t *testing.T) {
	v := testutil.NewVolume(t)
	ds4 := v.WriteFiles(t, "ds4", 2, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0", "--cache-capacity", "1GiB")
	code, out, errOut := runSwarmup(t, d, v.Mount, false, "warm", "--noheader", "--format", "taskid", "ds4")
	require.Equal(t, exitOK, code, errOut)
	id := strings.TrimSpace(out)

	var prio string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, prio, errOut = runSwarmup(t, d, "/", true, "prio")
		require.Equal(t, exitOK, code, errOut)
		if strings.Contains(prio, ds4) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Regexp(t, `^TASKID +DATASET +STATE +PRIORITY +PROLOG_WAIT +START_SOON +PENDING +AGE +HISTORY +SIZE +HIT_RATE\n`, prio)
	require.Regexp(t, `\n`+id+` +`+ds4+` +queued +\d+ +0 +0 +`, prio, "no job waits for it: prolog_wait and start_soon contribute 0")

	code, out, errOut = runSwarmup(t, d, "/", false, "prio", "--long", "--noheader", "--format", "taskid,size,reason")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `^`+id+`\t\d+ \(\d\.\d{3}×1000\)\t`, out, "--long shows value×weight with the configured weight")

	code, out, errOut = runSwarmup(t, d, "/", false, "prio", "--json")
	require.Equal(t, exitOK, code, errOut)
	var pr api.PriorityResponse
	require.NoError(t, json.Unmarshal([]byte(out), &pr))
	require.Equal(t, 10000.0, pr.Weights["prolog_wait"])

	code, out, errOut = runSwarmup(t, d, "/", true, "cache")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "Capacity:    1.0 GiB, used ")
	require.Regexp(t, `\nPATH +CACHED +SIZE +RATIO +STATE +RUNNING +QUEUED +PINNED +LASTUSED\n`+ds4+` +`, out)

	code, out, _ = runSwarmup(t, d, "/", false, "cache", "--noheader", "--format", "path,pinned")
	require.Equal(t, exitOK, code)
	require.Equal(t, ds4+"\tno\n", out, "--noheader drops the summary too; a dataset no job needs is not pinned")

	// An endpoint an older warmupd lacks answers 404: swarmup says to upgrade.
	err := d.Client.Do(context.Background(), "GET", "/v1/no-such-endpoint", nil, nil)
	require.Error(t, err)
	require.EqualError(t, newEndpointError(err, d.Client, "/v1/no-such-endpoint"),
		"warmupd at "+d.Socket+" does not serve /v1/no-such-endpoint: it is older than this swarmup; upgrade warmupd")
}

// --version needs no daemon and no socket.
func TestVersion(t *testing.T) {
	testutil.RequireVersion(t, testutil.Binary(t, "cmd/swarmup"), "swarmup")
}

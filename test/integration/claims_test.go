package integration

import (
	"context"
	"encoding/json"
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

// swarmupAs runs the real swarmup as uid against sock; it returns the exit
// code, stdout and stderr.
func swarmupAs(t *testing.T, uid int, sock string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "cmd/swarmup"), args...)
	cmd.Env = append(os.Environ(), api.SocketEnv+"="+sock, "ACCEL_DATA_CONF=/dev/null")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errOut.String()
}

// The scenario with two real uids: root queues big3 for a job; an
// unprivileged user warms the parent (absorbing root's task) and cancels
// it. Root's job must still get big3 warmed, and the user is told what
// happened.
func TestUserCancelDoesNotUndoAnotherUsersWarmup(t *testing.T) {
	testutil.RequireRoot(t, "acts as two uids")
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "datasets/big3", 2, 1<<20)
	v.WriteFiles(t, "datasets/small", 1, 1<<20)
	openToAll(t, filepath.Join(v.Mount, "datasets", "big3"))
	openToAll(t, filepath.Join(v.Mount, "datasets", "small"))
	d := testutil.StartWarmupd(t, v, "--workers", "0") // keep everything queued
	ctx := context.Background()
	parent := filepath.Join(v.Mount, "datasets")
	big3 := filepath.Join(parent, "big3")

	r, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big3}, Token: "root-job", JobID: 77, Source: api.SourceSubmit})
	require.NoError(t, err)
	child := r.Items[0].TaskID

	code, body := call(t, nobody, d.Socket, "POST", "/v1/requests", submitBody(parent))
	require.Equal(t, 200, code, body)
	var sr api.SubmitResponse
	require.NoError(t, json.Unmarshal([]byte(body), &sr))
	require.Equal(t, "absorbed", sr.Items[0].Outcome)

	code, out, errOut := swarmupAs(t, nobody, d.Socket, "cancel", parent)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "cancelled task")
	require.Contains(t, out, big3+" (task ")
	require.Contains(t, out, "queued on their own")

	st, err := d.Client.JobStatus(ctx, 77)
	require.NoError(t, err)
	require.Len(t, st.Datasets, 1)
	require.Equal(t, big3, st.Datasets[0].Dataset)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State, "root's job still gets big3 warmed")
	q, err := d.Client.Queue(ctx, false)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1)
	require.Equal(t, child, q.Entries[0].TaskID)

	// The user has no request for big3: refused, 403, nothing changes.
	code, body = call(t, nobody, d.Socket, "POST", "/v1/cancel", `{"paths":["`+big3+`"]}`)
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "has no request for it")
	code, _, errOut = swarmupAs(t, nobody, d.Socket, "cancel", big3)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "you can withdraw only your own requests")

	// Both want small: the user's cancel withdraws only the user's request.
	small := filepath.Join(parent, "small")
	_, err = d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{small}})
	require.NoError(t, err)
	code, body = call(t, nobody, d.Socket, "POST", "/v1/requests", submitBody(small))
	require.Equal(t, 200, code, body)
	code, out, errOut = swarmupAs(t, nobody, d.Socket, "cancel", small)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "withdrew your request")
	require.Contains(t, out, "still wanted by 1 other request/job")
	q, err = d.Client.Queue(ctx, false)
	require.NoError(t, err)
	require.Len(t, q.Entries, 2, "big3 and small are both still queued")
}

// An unprivileged user cannot warm a whole volume (MinDepth) nor a dataset
// larger than MaxRequestBytes: refused at submission when the size is known,
// else ended failed with the reason after its size check, never warmed.
func TestUserLimits(t *testing.T) {
	testutil.RequireRoot(t, "acts as an unprivileged uid")
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "big", 4, 1<<20)
	v.WriteFiles(t, "big2", 4, 1<<20)
	v.WriteFiles(t, "small", 1, 1<<20)
	for _, ds := range []string{"big", "big2", "small"} {
		openToAll(t, filepath.Join(v.Mount, ds))
	}
	d := testutil.StartWarmupd(t, v, "--max-request-bytes", "3MiB")
	ctx := context.Background()
	big, big2, small := filepath.Join(v.Mount, "big"), filepath.Join(v.Mount, "big2"), filepath.Join(v.Mount, "small")

	code, body := call(t, nobody, d.Socket, "POST", "/v1/requests", submitBody(v.Mount))
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "is the JuiceFS mount root; users may warm only paths at least 1 level(s) below a mount (MinDepth=1)")

	code, out, errOut := swarmupAs(t, nobody, d.Socket, "warm", "--wait", "--timeout", "2m", big, small)
	require.NotEqual(t, 0, code, out)
	require.Contains(t, errOut, "1 of 2 datasets did not end warm: "+big+" is failed (")
	require.Contains(t, errOut, "larger than MaxRequestBytes=3.0 MiB, the most a user may warm in one request")
	require.Zero(t, d.CountLogs("warm-up started", `"dataset":"`+big+`"`), "never warmed")

	// Its size is known now: a new request is refused at once.
	code, body = call(t, nobody, d.Socket, "POST", "/v1/requests", submitBody(big))
	require.Equal(t, 403, code, body)
	require.Contains(t, body, "larger than MaxRequestBytes=3.0 MiB")

	// A job's prolog shows the reason too; root's own request is exempt.
	_, err := d.Client.JobStart(ctx, 88, api.JobStartRequest{Paths: []string{big2}, Node: "n1", UID: nobody})
	require.NoError(t, err)
	var js *api.JobStatus
	d.WaitQueue(time.Minute, func([]api.QueueEntry) bool {
		js, err = d.Client.JobStatus(ctx, 88)
		require.NoError(t, err)
		return js.Ready
	})
	require.Equal(t, api.TaskFailed, js.Datasets[0].State)
	require.Contains(t, js.Datasets[0].Reason, "larger than MaxRequestBytes")
	r, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{big}})
	require.NoError(t, err, "root is exempt")
	require.Equal(t, "new", r.Items[0].Outcome)
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

const nobody = 65534

// apicall sends one request with a fresh MUNGE credential (made by munged
// at mungeSock on host) from host as uid (-1: root) to warmupd's TCP door
// and returns the status and body. It fails the test if a non-401 answer
// lacks warmupd's proof.
func apicall(t *testing.T, hc *hostCluster, host string, uid int, mungeSock, method, path, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := hc.cmd(ctx, host, uid, testutil.Binary(t, "test/apicall"), "tcp://"+hc.server, method, path, body)
	cmd.Env = append(os.Environ(), "APICALL_MUNGE_SOCKET="+mungeSock)
	out, err := cmd.Output()
	require.NoError(t, err, "apicall %s %s from %s: %s", method, path, host, out)
	code, rest, ok := strings.Cut(string(out), " ")
	require.True(t, ok, "apicall output %q", out)
	n, err := strconv.Atoi(code)
	require.NoError(t, err)
	return n, rest
}

// rawRequest sends the bytes req from host to warmupd's TCP door (bash's
// /dev/tcp: exactly these bytes, nothing added) and returns the answer.
func rawRequest(t *testing.T, hc *hostCluster, host, req string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, p, _ := strings.Cut(hc.server, ":")
	cmd := hc.cmd(ctx, host, -1, "bash", "-c", `exec 3<>"/dev/tcp/$0/$1" && printf '%s' "$REQ" >&3 && cat <&3`, h, p)
	cmd.Env = append(os.Environ(), "REQ="+req)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "raw request from %s: %s", host, out)
	return string(out)
}

// credential encodes the request's claim with the munged at sock (as this
// process reaches it), restricted to warmupd's uid 0.
func credential(t *testing.T, sock, method, uri string, body []byte, ttl time.Duration) string {
	t.Helper()
	claim, err := auth.NewClaim(method, uri, body)
	require.NoError(t, err)
	uid := uint32(0)
	cred, err := munge.Encode(claim.Payload(), munge.EncodeOptions{Socket: sock, UIDRestriction: &uid, TTL: ttl})
	require.NoError(t, err)
	return cred
}

func httpRequest(method, uri, cred, body string) string {
	r := method + " " + uri + " HTTP/1.1\r\nHost: warmupd\r\nConnection: close\r\n"
	if cred != "" {
		r += auth.Header + ": " + auth.Scheme + " " + cred + "\r\n"
	}
	if body != "" {
		r += "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	return r + "\r\n" + body
}

// warmupd is reachable from the other hosts only over TCP: its unix socket is
// on svc alone; a request without a credential, with a made-up one, with an
// expired one, one sent twice or one made for another request is refused
// with 401 and the reason.
func TestHostsCredentialsRefused(t *testing.T) {
	hc := useHosts(t)
	w := setup(t, true, "")
	sock := filepath.Join(hc.dir, "run", "private", "warmupd.sock")
	_, err := os.Stat(hc.seen("svc", sock))
	require.NoError(t, err, "warmupd's socket is on svc")
	for _, h := range []string{"login", "c1"} {
		_, err := os.Stat(hc.seen(h, sock))
		require.ErrorIs(t, err, os.ErrNotExist, "%s cannot see warmupd's unix socket", h)
	}
	loginMunge := hc.seen("login", hc.munge)

	t.Run("no credential", func(t *testing.T) {
		out := rawRequest(t, hc, "login", httpRequest("GET", "/v1/queue", "", ""))
		require.Contains(t, out, "HTTP/1.1 401")
		require.Contains(t, out, "no credential: connect over TCP needs MUNGE")
	})
	t.Run("made-up credential", func(t *testing.T) {
		out := rawRequest(t, hc, "login", httpRequest("GET", "/v1/queue", "MUNGE:AwQFAAC1made/up+credential+that+no+munged+ever+encoded00000000000000=:", ""))
		require.Contains(t, out, "HTTP/1.1 401")
		require.Contains(t, out, `"error":"credential`)
		require.NotContains(t, out, auth.ProofHeader, "no proof without a reply key")
	})
	t.Run("replayed", func(t *testing.T) {
		req := httpRequest("GET", "/v1/queue", credential(t, loginMunge, "GET", "/v1/queue", nil, 0), "")
		first := rawRequest(t, hc, "login", req)
		require.Contains(t, first, "HTTP/1.1 200", "the first use is accepted")
		require.Contains(t, first, auth.ProofHeader)
		second := rawRequest(t, hc, "login", req)
		require.Contains(t, second, "HTTP/1.1 401")
		require.Contains(t, second, "credential replayed")
	})
	t.Run("for another request", func(t *testing.T) {
		// A credential for GET /v1/queue on a cancel with a body.
		cred := credential(t, loginMunge, "GET", "/v1/queue", nil, 0)
		out := rawRequest(t, hc, "login", httpRequest("POST", "/v1/cancel", cred, `{"paths":["`+w.vol.Mount+`"]}`))
		require.Contains(t, out, "HTTP/1.1 401")
		require.Contains(t, out, "credential does not match the request")
	})
	t.Run("expired", func(t *testing.T) {
		cred := credential(t, loginMunge, "GET", "/v1/queue", nil, time.Second)
		time.Sleep(2500 * time.Millisecond)
		out := rawRequest(t, hc, "login", httpRequest("GET", "/v1/queue", cred, ""))
		require.Contains(t, out, "HTTP/1.1 401")
		require.Contains(t, out, "credential expired")
	})
}

// A credential of another MUNGE key (a munged with a key of its own on
// login) is refused; sbatch through it warns once and submits.
func TestHostsForeignMungeKey(t *testing.T) {
	hc := useHosts(t)
	w := setup(t, true, "")
	ds := w.vol.WriteFiles(t, "foreign", 1, mib)
	other := filepath.Join(hc.dir, "run", "other-munge.sock") // on login's own run directory
	key := filepath.Join(hc.dir, "hosts", "login", "munge", "other.key")
	ctx := context.Background()
	out, err := hc.cmd(ctx, "login", -1, "mungekey", "-c", "-f", "-k", key).CombinedOutput()
	require.NoError(t, err, "%s", out)
	pidFile := filepath.Join(hc.dir, "run", "munged-other.pid")
	out, err = hc.cmd(ctx, "login", -1, "munged", "-S", other, "--key-file="+key, "--pid-file="+pidFile,
		"--log-file="+filepath.Join(hc.dir, "log", "munged-other.log"),
		"--seed-file="+filepath.Join(hc.dir, "hosts", "login", "munge", "other.seed"), "--force").CombinedOutput()
	require.NoError(t, err, "munged with another key: %s", out)
	t.Cleanup(func() {
		b, _ := os.ReadFile(filepath.Join(hc.dir, "hosts", "login", "run", "munged-other.pid"))
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	})

	code, body := apicall(t, hc, "login", -1, other, "GET", "/v1/queue", "")
	require.Equal(t, 401, code, body)
	require.Contains(t, body, "credential from another MUNGE key (invalid)")

	_, stderr, err := sbatchHeld(t, tcpPlugstack(t, hc.server, "munge_socket="+other), ds)
	requireOneWarning(t, stderr, err, "accel-data: warning: warmupd (unverified) refused the credential: ", "another MUNGE key")
	require.Empty(t, w.tasksFor(t, ds), "nothing was queued with a foreign credential")
}

// munged down on the login host (the plugin's munge_socket has no munged):
// sbatch warns once and submits, the job runs.
func TestHostsLoginMungeDown(t *testing.T) {
	hc := useHosts(t)
	setPrologConfig(t, "PrologWait=60s\nPrologReconnect=2s")
	w := setup(t, true, "")
	ds := w.vol.WriteFiles(t, "nomunge", 1, mib)
	env := tcpPlugstack(t, hc.server, "munge_socket="+filepath.Join(hc.dir, "run", "no-munged.sock"))
	id, stderr := sbatch(t, node(2), ds, []string{env}, ds)
	requireOneWarning(t, stderr, nil, "accel-data: cannot make a MUNGE credential (munged not running on this host?): ",
		"no-munged.sock", "; the job is submitted without warm-up")
	waitDone(t, 60*time.Second, id)
	require.Equal(t, int64(mib), readOutput(t, id).Read[ds])
}

// Who may do what over TCP: a user on login cannot report a job's start or
// end nor cancel another's warm-up; a compute host's root can report both.
func TestHostsAuthorisation(t *testing.T) {
	hc := useHosts(t)
	w := setup(t, true, "1") // 8 MiB at 1 MiB/s: still warming while the test runs
	ds := w.vol.WriteFiles(t, "authz", 2, 4*mib)
	_, err := w.d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{ds}, Source: api.SourceManual})
	require.NoError(t, err)
	start := fmt.Sprintf(`{"paths":[%q],"node":"c1","uid":0}`, ds)

	code, body := apicall(t, hc, "login", nobody, hc.munge, "POST", "/v1/jobs/4242/start", start)
	require.Equal(t, 403, code, "a user reported a job start: %s", body)
	code, body = apicall(t, hc, "login", nobody, hc.munge, "POST", "/v1/jobs/4242/end", `{"node":"c1","exit_code":0}`)
	require.Equal(t, 403, code, "a user reported a job end: %s", body)

	code, body = apicall(t, hc, "login", nobody, hc.munge, "POST", "/v1/cancel", fmt.Sprintf(`{"paths":[%q]}`, ds))
	require.Equal(t, 403, code, "a user cancelled root's warm-up: %s", body)
	require.Contains(t, body, "you can withdraw only your own requests")
	tasks := w.tasksFor(t, ds)
	require.Len(t, tasks, 1)
	require.Contains(t, []api.TaskState{api.TaskQueued, api.TaskWarming}, tasks[0].State, "the warm-up goes on")

	code, body = apicall(t, hc, "c1", -1, hc.munge, "POST", "/v1/jobs/4242/start", start)
	require.Equal(t, 200, code, "root on c1 reports a job start: %s", body)
	code, body = apicall(t, hc, "c1", -1, hc.munge, "POST", "/v1/jobs/4242/end", `{"node":"c1","exit_code":0}`)
	require.Equal(t, 200, code, "root on c1 reports a job end: %s", body)
}

// warmupd restarted while prologs on three hosts wait: they reconnect and
// the jobs start when the data is warm, within PrologWait; nothing drains.
func TestHostsWarmupdRestart(t *testing.T) {
	useHosts(t)
	w := setup(t, true, "20") // 120 MiB at 20 MiB/s: about 6 s
	ds := w.vol.WriteFiles(t, "restart", 30, 4*mib)
	var ids []uint64
	for i := 1; i <= nodes; i++ {
		id, stderr := sbatch(t, node(i), ds, nil, ds)
		require.NotContains(t, stderr, "accel-data")
		ids = append(ids, id)
	}
	// Wait until the three prologs wait (each told warmupd its job started),
	// then crash warmupd and bring it back.
	deadline := time.Now().Add(30 * time.Second)
	for w.d.CountLogs("job started") < nodes {
		require.False(t, time.Now().After(deadline), "the prologs did not reach warmupd:\n%s", w.d.Logs())
		time.Sleep(100 * time.Millisecond)
	}
	w.d.Kill()
	time.Sleep(2 * time.Second)
	w.d.Start()
	waitDone(t, 90*time.Second, ids...)
	for _, id := range ids {
		require.Contains(t, waitPrologLine(t, id, "prolog"), "reason=warm", "job %d's prolog waited through the restart", id)
	}
	require.Len(t, w.tasksFor(t, ds), 1)
}

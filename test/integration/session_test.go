package integration

import (
	"bufio"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// answer is one raw HTTP exchange's outcome.
type answer struct {
	code int
	body []byte
	h    http.Header
}

// exchange sends the exact bytes of one request over a new connection.
func exchange(t *testing.T, addr string, raw []byte) answer {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(raw)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, body, resp.Header}
}

// openSession opens a session as uid with a credential that process makes
// (the munge command run as uid) and returns its id and key. The answer
// carries the proof of that credential.
func openSession(t *testing.T, r *tcpRig, uid uint32) (id, key string) {
	t.Helper()
	claim, err := auth.NewClaim("GET", "/v1/health", nil)
	require.NoError(t, err)
	cmd := exec.Command("munge", "-S", r.munged.Socket, "-u", "0", "-s", string(claim.Payload()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	cred, err := cmd.Output()
	require.NoError(t, err, "munge as uid %d", uid)
	req, err := http.NewRequest("GET", "http://warmupd/v1/health", nil)
	require.NoError(t, err)
	req.Header.Set(auth.Header, auth.Scheme+" "+strings.TrimSpace(string(cred)))
	req.Header.Set(auth.SessionHeader, auth.SessionNew)
	var b strings.Builder
	require.NoError(t, req.Write(&b))
	a := exchange(t, r.addr, []byte(b.String()))
	require.Equal(t, http.StatusOK, a.code, "%s", a.body)
	require.True(t, claim.CheckProof(a.h.Get(auth.ProofHeader), a.code, a.body), "the answer proves it is warmupd")
	id = a.h.Get(auth.SessionHeader)
	_, err = hex.DecodeString(id)
	require.NoError(t, err)
	require.Len(t, id, 32, "the session id")
	return id, claim.ReplyKey
}

// sessionRequest serialises a request authenticated by session id, key.
func sessionRequest(t *testing.T, id, key, method, uri, body string, seq uint64) []byte {
	t.Helper()
	return request(t, method, uri, body, auth.SessionAuthorization(id, key, method, uri, []byte(body), seq))
}

// A Sessions client pays for one credential: after its first request it
// keeps working, from concurrent goroutines, with munged stopped on both
// sides, and every answer is proven (the client refuses others).
func TestSessionServesManyRequests(t *testing.T) {
	r := newTCPRig(t)
	c := &api.Client{Server: r.addr, MungeSocket: r.munged.Socket, Sessions: true}
	ctx := context.Background()
	_, err := c.Health(ctx)
	require.NoError(t, err)
	r.munged.Stop()
	defer r.munged.Start()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := c.Queue(ctx, i%2 == 0); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	resp, err := c.Submit(ctx, api.SubmitRequest{Paths: []string{r.pub}})
	require.NoError(t, err, "a POST with a body through the session")
	require.NotEmpty(t, resp)
	q, err := r.d.Client.Queue(ctx, true)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1)
	require.Equal(t, uint32(0), q.Entries[0].Owner, "the session's uid owns the task")

	// Without Sessions, every request needs munged.
	plain := &api.Client{Server: r.addr, MungeSocket: r.munged.Socket}
	_, err = plain.Health(ctx)
	require.True(t, api.IsMungeDown(err), "%v", err)
}

// The same session request bytes twice: the first is served (with the
// session's proof), the replay refused; so is a mac made with another key
// or for another request, and a session warmupd does not know.
func TestSessionReplayedAndForgedAreRefused(t *testing.T) {
	r := newTCPRig(t)
	id, key := openSession(t, r, 0)
	other, otherKey := openSession(t, r, 0)
	require.NotEqual(t, id, other)

	raw := sessionRequest(t, id, key, "GET", "/v1/queue?all=1", "", 1)
	a := exchange(t, r.addr, raw)
	require.Equal(t, http.StatusOK, a.code, "%s", a.body)
	require.True(t, auth.SessionClaim(id, key, 1).CheckProof(a.h.Get(auth.ProofHeader), a.code, a.body))
	a = exchange(t, r.addr, raw)
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, string(a.body), "session request replayed")
	require.Empty(t, a.h.Get(auth.ProofHeader))

	sub := submitBody(r.pub)
	for name, raw := range map[string][]byte{
		"another key": request(t, "POST", "/v1/requests", sub,
			auth.SessionAuthorization(id, otherKey, "POST", "/v1/requests", []byte(sub), 2)),
		"another body": request(t, "POST", "/v1/requests", sub,
			auth.SessionAuthorization(id, key, "POST", "/v1/requests", []byte(submitBody(r.secret)), 2)),
		"another path": request(t, "POST", "/v1/requests", sub,
			auth.SessionAuthorization(id, key, "POST", "/v1/cancel", []byte(sub), 2)),
		"zero mac": request(t, "POST", "/v1/requests", sub,
			"ACCEL-SESSION id="+id+",seq=2,mac="+strings.Repeat("0", 64)),
	} {
		a := exchange(t, r.addr, raw)
		require.Equal(t, http.StatusUnauthorized, a.code, name)
		require.Contains(t, string(a.body), "session request does not match its mac", name)
	}
	a = exchange(t, r.addr, sessionRequest(t, strings.Repeat("ab", 16), key, "GET", "/v1/queue", "", 1))
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, string(a.body), "session expired or unknown")

	q, err := r.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, q.Entries, "no refused request queued anything")
	a = exchange(t, r.addr, sessionRequest(t, id, key, "POST", "/v1/requests", sub, 2))
	require.Equal(t, http.StatusOK, a.code, "refused macs did not use seq 2: %s", a.body)
}

// warmupd restarted forgets its sessions: the client's next requests (a
// GET and a POST) get "session expired or unknown", open a new session and
// are answered, without the caller seeing anything.
func TestSessionSurvivesWarmupdRestart(t *testing.T) {
	r := newTCPRig(t)
	c := &api.Client{Server: r.addr, MungeSocket: r.munged.Socket, Sessions: true}
	ctx := context.Background()
	_, err := c.Queue(ctx, false)
	require.NoError(t, err)
	_, err = c.Queue(ctx, false)
	require.NoError(t, err)
	r.d.Stop()
	r.d.Start()
	_, err = c.Queue(ctx, true)
	require.NoError(t, err)
	_, err = c.Submit(ctx, api.SubmitRequest{Paths: []string{r.pub}})
	require.NoError(t, err)
	require.Equal(t, 1, r.d.CountLogs("TCP request refused", "session expired or unknown"),
		"one session request was refused, then the client opened a new session")
}

// A session opened by uid 65534 is uid 65534's: it cannot report a job's
// start or end, cancel root's warm-up or queue a path only root may read.
func TestSessionOfAUserCannotDoRootThings(t *testing.T) {
	r := newTCPRig(t)
	_, err := r.d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{r.secret}})
	require.NoError(t, err)
	id, key := openSession(t, r, nobody)
	seq := uint64(0)
	for _, c := range []struct {
		method, uri, body string
		code              int
		want              string
	}{
		{"POST", "/v1/jobs/301/start", `{"uid":65534,"node":"n1","paths":["` + r.pub + `"]}`, 403, "you are uid 65534"},
		{"POST", "/v1/jobs/301/end", `{"node":"n1"}`, 403, "SlurmdUser"},
		{"POST", "/v1/cancel", `{"paths":["` + r.secret + `"]}`, 403, ""},
		{"POST", "/v1/requests", submitBody(r.secret), 403, "permission denied for uid 65534"},
		{"POST", "/v1/requests", `{"paths":["` + r.pub + `"],"uid":0}`, 403, "only root"},
		{"POST", "/v1/requests", submitBody(r.pub), 200, r.pub},
	} {
		seq++
		a := exchange(t, r.addr, sessionRequest(t, id, key, c.method, c.uri, c.body, seq))
		require.Equal(t, c.code, a.code, "%s %s: %s", c.method, c.uri, a.body)
		require.Contains(t, string(a.body), c.want)
		require.True(t, auth.SessionClaim(id, key, seq).CheckProof(a.h.Get(auth.ProofHeader), a.code, a.body),
			"%s %s: a refusal after authentication is proven too", c.method, c.uri)
	}
	q, err := r.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	owners := map[string]uint32{}
	for _, e := range q.Entries {
		owners[e.Dataset] = e.Owner
	}
	require.Equal(t, map[string]uint32{r.secret: 0, r.pub: nobody}, owners, "root's task stands; the user's is the user's")
}

// swarmup warm --wait over TCP polls through one session (one credential
// for the whole wait), and the prolog polling its job opens one too, as a
// user and as root.
func TestPollingClientsOpenOneSession(t *testing.T) {
	r := newTCPRig(t, "--workers", "1") // the last --workers wins
	code, out, errOut := swarmupAs(t, nobody, "/nonexistent.sock", "warm", "--wait", r.pub,
		"--server", r.addr, "--munge-socket", r.munged.Socket)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	require.Equal(t, 1, r.d.CountLogs("TCP session opened", `"uid":65534`), "one session for the whole wait")

	cmd, buf := prologCmd(t, "/nonexistent.sock", "prolog_slurmd", "401", r.pub,
		"--server", r.addr, "--munge-socket", r.munged.Socket, "--prolog-wait", "1m", "--prolog-reconnect", "0")
	require.NoError(t, cmd.Run(), "slurm-prolog exits 0: %s", buf)
	require.Contains(t, buf.String(), "reason=warm")
	require.Equal(t, 1, r.d.CountLogs("TCP session opened", `"uid":0`))
	require.Zero(t, r.d.CountLogs("TCP request refused"))
}

// A Sessions client renews its session before warmupd forgets it: on its
// (injected) clock, once auth.SessionRenewAt has passed, its next request
// carries a credential and opens a new session instead of sending one
// warmupd would refuse; until then it uses the one it has.
func TestSessionClientRenewsBeforeExpiry(t *testing.T) {
	r := newTCPRig(t)
	clk := testutil.NewClock()
	c := &api.Client{Server: r.addr, MungeSocket: r.munged.Socket, Sessions: true, Now: clk.Now}
	ctx := context.Background()
	for range 3 {
		_, err := c.Health(ctx)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return r.d.CountLogs("TCP session opened") == 1 }, 10*time.Second, 20*time.Millisecond,
		"one session for the first requests")
	clk.Add(auth.SessionTTL - auth.SessionRenewMargin)
	_, err := c.Health(ctx)
	require.NoError(t, err)
	// warmupd's log reaches the test through a pipe: wait for the line.
	require.Eventually(t, func() bool { return r.d.CountLogs("TCP session opened") == 2 }, 10*time.Second, 20*time.Millisecond,
		"renewed at SessionRenewAt, before warmupd's expiry")
	_, err = c.Health(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, r.d.CountLogs("TCP session opened"), "and the new one used")
	require.Zero(t, r.d.CountLogs("TCP request refused"))
}

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
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

// slurmdUID is the SlurmdUser of these tests: a uid that is neither root
// nor the user (the Debian "daemon" uid).
const slurmdUID = 1

// tcpRig is a real warmupd with both doors open: its unix socket and TCP
// on 127.0.0.1, decoding credentials through a private munged.
type tcpRig struct {
	v      *testutil.Volume
	d      *testutil.Daemon
	munged *testutil.Munged
	addr   string // HOST:PORT of the TCP door
	pub    string // a dataset every uid may read
	secret string // a dataset only root may read
}

// freePort is a TCP address on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string { return freePortB(t) }

func freePortB(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func newTCPRig(t *testing.T, extra ...string) *tcpRig {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test checks per-uid access and must run as root (CI does)")
	}
	r := &tcpRig{v: testutil.NewVolume(t), munged: testutil.StartMunged(t), addr: freePort(t)}
	r.v.WriteFiles(t, "public", 2, 1<<20)
	r.v.WriteFiles(t, "secret", 2, 1<<20)
	r.pub, r.secret = filepath.Join(r.v.Mount, "public"), filepath.Join(r.v.Mount, "secret")
	require.NoError(t, os.Chmod(r.secret, 0o700))
	openToAll(t, r.pub)
	r.d = testutil.StartWarmupd(t, r.v, append([]string{"--workers", "0", "--listen", r.addr,
		"--munge-socket", r.munged.Socket, "--slurmd-user", fmt.Sprint(slurmdUID)}, extra...)...)
	return r
}

// door is how a test reaches warmupd: its unix socket, or TCP with a
// credential from munged.
type door struct {
	name   string
	target string // apicall's first argument
	munge  string // munged socket for TCP
}

func (r *tcpRig) doors() []door {
	return []door{{"unix", r.d.Socket, ""}, {"tcp", "tcp://" + r.addr, r.munged.Socket}}
}

// callVia runs test/apicall as uid through door d (apicall checks the
// proof of every TCP answer but a 401 and fails otherwise).
func callVia(t *testing.T, d door, uid int, method, path, body string) (int, string) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "test/apicall"), d.target, method, path, "-")
	cmd.Stdin = strings.NewReader(body)
	cmd.Env = append(os.Environ(), "APICALL_MUNGE_SOCKET="+d.munge)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "apicall via %s as uid %d: %s%s", d.name, uid, out, stderr.String())
	var code int
	_, err = fmt.Sscanf(string(out), "%d", &code)
	require.NoError(t, err)
	return code, strings.TrimSpace(strings.SplitN(string(out), " ", 2)[1])
}

// The authorisation table (internal/server routes), route × caller, run
// against both doors: anyone may submit and read, only root or SlurmdUser
// report job start and end, a user cannot cancel another's warm-up, and a
// path is judged readable as the caller (uid and groups) on both doors.
func TestAuthorisationIsTheSameOnBothDoors(t *testing.T) {
	r := newTCPRig(t)
	const user = nobody
	for i, d := range r.doors() {
		job := func(who int) string { return fmt.Sprint(100*(i+1) + who%97) }
		start := func(who int) string {
			return `{"uid":65534,"node":"n1","paths":["` + r.pub + `"]}`
		}
		cases := []struct {
			name         string
			uid          int
			method, path string
			body         string
			code         int
			want         string
		}{
			{"health", user, "GET", "/v1/health", "", 200, `"ok":true`},
			{"submit as user", user, "POST", "/v1/requests", submitBody(r.pub), 200, r.pub},
			{"submit as root", 0, "POST", "/v1/requests", submitBody(r.pub), 200, r.pub},
			{"unreadable path as user", user, "POST", "/v1/requests", submitBody(r.secret), 403, "permission denied for uid 65534"},
			{"uid spoof", user, "POST", "/v1/requests", `{"paths":["` + r.pub + `"],"uid":0}`, 403, "only root"},
			{"queue", user, "GET", "/v1/queue?all=1", "", 200, r.pub},
			{"datasets", user, "GET", "/v1/datasets", "", 200, r.pub},
			{"cache", user, "GET", "/v1/cache", "", 200, "datasets"},
			{"priority", user, "GET", "/v1/priority", "", 200, "entries"},
			{"job start as user", user, "POST", "/v1/jobs/" + job(user) + "/start", start(user), 403, "you are uid 65534"},
			{"job end as user", user, "POST", "/v1/jobs/" + job(user) + "/end", `{"node":"n1"}`, 403, "SlurmdUser"},
			{"job start as root", 0, "POST", "/v1/jobs/" + job(0) + "/start", start(0), 200, r.pub},
			{"job status as user", user, "GET", "/v1/jobs/" + job(0), "", 200, r.pub},
			{"job end as root", 0, "POST", "/v1/jobs/" + job(0) + "/end", `{"node":"n1"}`, 200, "{}"},
			{"job start as SlurmdUser", slurmdUID, "POST", "/v1/jobs/" + job(slurmdUID) + "/start", start(slurmdUID), 200, r.pub},
			{"job end as SlurmdUser", slurmdUID, "POST", "/v1/jobs/" + job(slurmdUID) + "/end", `{"node":"n1"}`, 200, "{}"},
			{"root queues secret", 0, "POST", "/v1/requests", submitBody(r.secret), 200, r.secret},
			{"user cancels root's", user, "POST", "/v1/cancel", `{"paths":["` + r.secret + `"]}`, 403, ""},
			{"SlurmdUser cancels root's", slurmdUID, "POST", "/v1/cancel", `{"paths":["` + r.secret + `"]}`, 403, ""},
			{"root cancels its own", 0, "POST", "/v1/cancel", `{"paths":["` + r.secret + `"]}`, 200, "cancelled"},
		}
		for _, c := range cases {
			code, body := callVia(t, d, c.uid, c.method, c.path, c.body)
			require.Equal(t, c.code, code, "%s door, %s: %s", d.name, c.name, body)
			require.Contains(t, body, c.want, "%s door, %s", d.name, c.name)
		}
	}
	// The TCP answers were judged by MUNGE uid: the user's task is the user's.
	q, err := r.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.NotEmpty(t, q.Entries)
}

// rawTCP sends the exact bytes of one HTTP request over a new connection
// (exchange) and returns the status and the API error message.
func rawTCP(t *testing.T, addr string, raw []byte) (int, string, http.Header) {
	t.Helper()
	a := exchange(t, addr, raw)
	var e api.Error
	_ = json.Unmarshal(a.body, &e)
	return a.code, e.Error, a.h
}

// request serialises a request to 127.0.0.1 with the credential header hdr
// (none when empty).
func request(t *testing.T, method, uri, body, hdr string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, "http://warmupd"+uri, strings.NewReader(body))
	require.NoError(t, err)
	if hdr != "" {
		req.Header.Set(auth.Header, hdr)
	}
	var b bytes.Buffer
	require.NoError(t, req.Write(&b))
	return b.Bytes()
}

func credFor(t *testing.T, m *testutil.Munged, method, uri, body string, ttl time.Duration) string {
	t.Helper()
	c, err := auth.NewClaim(method, uri, []byte(body))
	require.NoError(t, err)
	uid := uint32(0)
	cred, err := munge.Encode(c.Payload(), munge.EncodeOptions{Socket: m.Socket, UIDRestriction: &uid, TTL: ttl})
	require.NoError(t, err)
	return auth.Scheme + " " + cred
}

// Every way of not proving who you are over TCP is a 401 that says what is
// wrong, and none of them queues anything.
func TestForgedReplayedExpiredAndForeignCredentialsAreRefused(t *testing.T) {
	r := newTCPRig(t)
	sub := submitBody(r.pub)
	good := credFor(t, r.munged, "POST", "/v1/requests", sub, 0)
	cases := []struct {
		name string
		raw  []byte
		want string
	}{
		{"none", request(t, "POST", "/v1/requests", sub, ""), "no credential: connect over TCP needs MUNGE"},
		{"not MUNGE", request(t, "POST", "/v1/requests", sub, "Basic cm9vdDpyb290"), "no credential"},
		{"garbage", request(t, "POST", "/v1/requests", sub, "MUNGE MUNGE:AwQFAAAgarbage:"), "credential malformed (not a MUNGE credential)"},
		{"another path", request(t, "POST", "/v1/cancel", sub, credFor(t, r.munged, "POST", "/v1/requests", sub, 0)),
			"credential does not match the request (method/path/body)"},
		{"another query", request(t, "GET", "/v1/queue?all=1", "", credFor(t, r.munged, "GET", "/v1/queue", "", 0)),
			"credential does not match the request"},
		{"another body", request(t, "POST", "/v1/requests", submitBody(r.secret), credFor(t, r.munged, "POST", "/v1/requests", sub, 0)),
			"credential does not match the request"},
		{"another method", request(t, "GET", "/v1/requests", "", credFor(t, r.munged, "POST", "/v1/requests", "", 0)),
			"credential does not match the request"},
		{"another MUNGE key", request(t, "POST", "/v1/requests", sub, credFor(t, testutil.StartMunged(t), "POST", "/v1/requests", sub, 0)),
			"credential from another MUNGE key (invalid)"},
	}
	for _, c := range cases {
		code, msg, h := rawTCP(t, r.addr, c.raw)
		require.Equal(t, http.StatusUnauthorized, code, "%s: %s", c.name, msg)
		require.Contains(t, msg, c.want, c.name)
		require.Empty(t, h.Get(auth.ProofHeader), "%s: a refusal carries no proof", c.name)
		require.Equal(t, auth.Scheme, h.Get("WWW-Authenticate"))
	}

	// The same request bytes twice: the first is served, the replay refused.
	raw := request(t, "POST", "/v1/requests", sub, good)
	code, msg, h := rawTCP(t, r.addr, raw)
	require.Equal(t, http.StatusOK, code, msg)
	require.NotEmpty(t, h.Get(auth.ProofHeader))
	code, msg, _ = rawTCP(t, r.addr, raw)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, msg, "credential replayed")

	// A credential past its 1 s TTL.
	raw = request(t, "GET", "/v1/queue", "", credFor(t, r.munged, "GET", "/v1/queue", "", time.Second))
	time.Sleep(2500 * time.Millisecond)
	code, msg, _ = rawTCP(t, r.addr, raw)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, msg, "credential expired (clocks more than TTL apart?)")

	// munged down on the service node.
	r.munged.Stop()
	code, msg, _ = rawTCP(t, r.addr, request(t, "GET", "/v1/queue", "", good))
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, msg, "munged is not running on the service node")
	r.munged.Start()

	q, err := r.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1, "only the one good request queued something")
	require.Equal(t, 1, r.d.CountLogs("TCP request refused", "credential replayed"))
}

// swarmup over TCP: as root and as another uid it submits and reads; with
// this host's munged stopped it exits 3 saying so; a credential from
// another key gets warmupd's 401 message; an impostor on the port is
// refused.
func TestSwarmupOverTCP(t *testing.T) {
	r := newTCPRig(t)
	tcp := func(m *testutil.Munged, addr string) []string {
		return []string{"--server", addr, "--munge-socket", m.Socket}
	}
	for _, uid := range []int{nobody, 0} {
		code, out, errOut := swarmupAs(t, uid, "/nonexistent.sock", append([]string{"warm", r.pub}, tcp(r.munged, r.addr)...)...)
		require.Equal(t, 0, code, "uid %d: %s%s", uid, out, errOut)
		code, out, errOut = swarmupAs(t, uid, "/nonexistent.sock", append([]string{"queue", "--all", "--json"}, tcp(r.munged, r.addr)...)...)
		require.Equal(t, 0, code, "uid %d: %s", uid, errOut)
		require.Contains(t, out, r.pub)
	}
	q, err := r.d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Len(t, q.Entries, 1)
	require.Equal(t, uint32(nobody), q.Entries[0].Owner, "the first caller's MUNGE uid owns the task")

	// WARMUPD_SERVER works as --server does.
	cmd := exec.Command(testutil.Binary(t, "cmd/swarmup"), "queue", "--munge-socket", r.munged.Socket)
	cmd.Env = append(os.Environ(), api.ServerEnv+"="+r.addr, "ACCEL_DATA_CONF=/dev/null", api.SocketEnv+"=/nonexistent.sock")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), r.pub)

	// This host's munged is down: unavailable (exit 3), said plainly.
	local := testutil.StartMungedWithKey(t, r.munged)
	local.Stop()
	code, _, errOut := swarmupAs(t, nobody, "/nonexistent.sock", append([]string{"queue"}, tcp(local, r.addr)...)...)
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "cannot make a MUNGE credential: munged not running on this host")

	// Another MUNGE key: warmupd's 401, reported as unverified.
	foreign := testutil.StartMunged(t)
	code, _, errOut = swarmupAs(t, nobody, "/nonexistent.sock", append([]string{"queue"}, tcp(foreign, r.addr)...)...)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, errOut, "warmupd (unverified) refused the credential: credential from another MUNGE key (invalid)")

	// An impostor answering 200 with plausible JSON and no proof.
	imp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"entries":[]}`))
	}))
	defer imp.Close()
	impAddr := strings.TrimPrefix(imp.URL, "http://")
	code, out2, errOut := swarmupAs(t, nobody, "/nonexistent.sock", append([]string{"queue"}, tcp(r.munged, impAddr)...)...)
	require.NotEqual(t, 0, code, out2)
	require.Contains(t, errOut, "the server at "+impAddr+" did not prove it is warmupd (wrong MUNGE key, or another program on the port)")

	// Nothing listening on the port: daemon down, exit 3, naming --server.
	code, _, errOut = swarmupAs(t, nobody, "/nonexistent.sock", append([]string{"queue"}, tcp(r.munged, freePort(t))...)...)
	require.Equal(t, 3, code, errOut)
	require.Contains(t, errOut, "--server")
}

// slurm-prolog and its epilog over TCP, as a compute host runs them: root
// and SlurmdUser report job start and end and the prolog waits for the data;
// a plain user's "prolog" is refused (it cannot start a job) and, like every
// failure, still exits 0.
func TestPrologOverTCP(t *testing.T) {
	r := newTCPRig(t, "--workers", "1") // the last --workers wins
	tcp := []string{"--server", r.addr, "--munge-socket", r.munged.Socket, "--prolog-wait", "1m", "--prolog-reconnect", "0"}
	run := func(uid int, mode, id string) string {
		cmd, out := prologCmd(t, "/nonexistent.sock", mode, id, r.pub, tcp...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
		require.NoError(t, cmd.Run(), "slurm-prolog exits 0: %s", out)
		return out.String()
	}
	for _, c := range []struct {
		uid int
		id  uint64
	}{{0, 201}, {slurmdUID, 202}} {
		line := run(c.uid, "prolog_slurmd", fmt.Sprint(c.id))
		require.Contains(t, line, "reason=warm", "uid %d: %s", c.uid, line)
		line = run(c.uid, "epilog_slurmd", fmt.Sprint(c.id))
		require.Contains(t, line, "told warmupd the job ended", "uid %d: %s", c.uid, line)
		st, err := r.d.Client.JobStatus(context.Background(), c.id)
		require.NoError(t, err)
		require.Equal(t, api.JobEnded, st.State)
	}
	line := run(nobody, "prolog_slurmd", "203")
	require.Contains(t, line, "reason=refused", line)
	line = run(nobody, "epilog_slurmd", "201")
	require.Contains(t, line, "could not tell warmupd the job ended", line)
}

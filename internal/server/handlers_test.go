package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/notify"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

var (
	root = Caller{UID: 0}
	user = Caller{UID: 4242, GID: 4242, Gids: []uint32{4242}}
)

// rig is the server's route table on a real SQLite store, with a mount
// directory holding the datasets ds1, ds2 and ds3, and recording hooks.
type rig struct {
	t     *testing.T
	store *queue.Store
	srv   *Server
	mnt   string

	mu      sync.Mutex
	stopped [][]int64
	kicks   int
	health  error
	hub     *notify.Hub
	stale   []string
}

func newRig(t *testing.T, extra map[string]http.HandlerFunc) *rig {
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t))
	st := queuetest.Open(t)
	mnt := t.TempDir()
	for _, d := range []string{"ds1", "ds2", "ds3"} {
		require.NoError(t, os.Mkdir(filepath.Join(mnt, d), 0o755))
	}
	// Other uids must traverse to the datasets (t.TempDir's parents are 0700).
	require.NoError(t, os.Chmod(mnt, 0o755))
	require.NoError(t, os.Chmod(filepath.Dir(mnt), 0o755))
	r := &rig{t: t, store: st, mnt: mnt, hub: &notify.Hub{}}
	r.srv = New(Config{
		Changes: r.hub,
		Store:   st,
		Paths:   PathPolicy{Mounts: []string{mnt}, MaxPaths: 3},
		Log:     log,
		Now:     func() time.Time { return t0 },
		MaxBody: 4096,
		Kick:    func() { r.mu.Lock(); r.kicks++; r.mu.Unlock() },
		Stop:    func(ids []int64) { r.mu.Lock(); r.stopped = append(r.stopped, ids); r.mu.Unlock() },
		Stale:   func(p ...string) { r.mu.Lock(); r.stale = append(r.stale, p...); r.mu.Unlock() },
		Rate:    func(string) float64 { return 1 << 20 },
		Extra:   extra,
		Health: func(context.Context) (Health, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			return Health{Workers: 2, JuiceFS: "/usr/local/bin/juicefs", Database: st.Path()}, r.health
		},
	})
	return r
}

// call sends one request as caller c (nil: a connection without
// credentials) and returns the status code and the body.
func (r *rig) call(c *Caller, method, target, body string) (int, string) {
	r.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if c != nil {
		req = req.WithContext(context.WithValue(req.Context(), callerKey{}, *c))
	}
	rec := httptest.NewRecorder()
	r.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// ok sends a request that must succeed and decodes its answer into out.
func (r *rig) ok(c *Caller, method, target, body string, out any) {
	r.t.Helper()
	code, b := r.call(c, method, target, body)
	require.Equal(r.t, http.StatusOK, code, b)
	if out != nil {
		require.NoError(r.t, json.Unmarshal([]byte(b), out))
	}
}

func (r *rig) ds(name string) string { return filepath.Join(r.mnt, name) }

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// A cancel that took tasks away hands their ids to the Stop hook, so the
// scheduler kills their running warm-ups at once; a refused cancel stops
// nothing.
func TestCancelStopsTheCancelledTasks(t *testing.T) {
	r := newRig(t, nil)
	var sub api.SubmitResponse
	r.ok(&user, "POST", "/v1/requests", jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1"), r.ds("ds2")}}), &sub)
	require.Len(t, sub.Items, 2)
	// ds1 is warming: a worker holds it.
	task, err := r.store.Dequeue(context.Background(), "w", t0, time.Minute)
	require.NoError(t, err)

	code, body := r.call(&user, "POST", "/v1/cancel", `{"task_ids":[999]}`)
	require.Equal(t, http.StatusNotFound, code, body)
	code, body = r.call(&user, "POST", "/v1/cancel", `{}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "nothing to cancel")
	code, body = r.call(&user, "POST", "/v1/cancel", `{"paths":["relative/ds"]}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "relative")
	require.Empty(t, r.stopped, "nothing was cancelled, nothing is stopped")

	var resp api.CancelResponse
	r.ok(&user, "POST", "/v1/cancel", jsonOf(t, api.CancelRequest{Paths: []string{r.ds("ds1") + "/"}}), &resp)
	require.Equal(t, []int64{task.ID}, resp.Cancelled)
	require.Equal(t, [][]int64{{task.ID}}, r.stopped, "the warming task's worker is told at once")

	r.ok(&user, "POST", "/v1/cancel", jsonOf(t, api.CancelRequest{Paths: []string{r.ds("ds1")}}), &resp)
	require.Empty(t, resp.Cancelled, "already cancelled")
	require.NotNil(t, resp.Cancelled, "an empty list, not null")
}

func TestSubmitIsValidated(t *testing.T) {
	r := newRig(t, nil)
	uid := uint32(7)
	for name, c := range map[string]struct {
		who  *Caller
		body string
		code int
		want string
	}{
		"no credentials":         {nil, `{"paths":["/x"]}`, 403, "cannot identify the caller"},
		"unknown source":         {&user, `{"paths":["/x"],"source":"cron"}`, 400, "unknown source"},
		"active is the daemon's": {&user, jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1")}, Source: api.SourceActive}), 403, "daemon's own policy"},
		"long token":             {&user, jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1")}, Token: strings.Repeat("x", 129)}), 400, "token longer"},
		"on behalf":              {&user, jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1")}, UID: &uid}), 403, "only root may submit on behalf"},
		"no paths":               {&user, `{"paths":[]}`, 400, "no paths given"},
		"too many paths":         {&user, jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1"), r.ds("ds2"), r.ds("ds3"), r.ds("ds1")}}), 400, "at most 3 allowed"},
		"missing":                {&user, jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("nope")}}), 404, "no such file"},
		"outside the mounts":     {&user, `{"paths":["/etc"]}`, 400, "not inside a JuiceFS mount"},
		"empty body":             {&user, ``, 400, "empty request body"},
		"malformed":              {&user, `{"paths":`, 400, "malformed JSON"},
		"unknown field":          {&user, `{"paths":["/x"],"priority":9}`, 400, "unknown field"},
		"trailing data":          {&user, `{"paths":["/x"]} {}`, 400, "trailing data"},
		"too large":              {&user, `{"paths":["` + strings.Repeat("a", 5000) + `"]}`, 413, "larger than 4096 bytes"},
	} {
		code, body := r.call(c.who, "POST", "/v1/requests", c.body)
		require.Equal(t, c.code, code, "%s: %s", name, body)
		var e api.Error
		require.NoError(t, json.Unmarshal([]byte(body), &e), name)
		require.Contains(t, e.Error, c.want, name)
	}
	require.Zero(t, r.kicks, "nothing was queued")

	var sub api.SubmitResponse
	r.ok(&root, "POST", "/v1/requests", jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds1"), r.ds("ds1") + "/"}, UID: &uid}), &sub)
	require.Len(t, sub.Items, 1, "duplicates in one request are one path")
	require.Equal(t, r.ds("ds1"), sub.Items[0].Dataset)
	require.Equal(t, 1, r.kicks, "the scheduler is woken")
	var q api.QueueResponse
	r.ok(&user, "GET", "/v1/queue", "", &q)
	require.Len(t, q.Entries, 1)
	require.Equal(t, uid, q.Entries[0].Owner, "root submitted for uid 7")
	require.Equal(t, api.SourceManual, q.Entries[0].Source)
}

// Job start and end are root's (slurm-prolog under slurmd); status is
// anyone's, with the warm-up speed of datasets still warming.
func TestJobLifecycle(t *testing.T) {
	r := newRig(t, nil)
	start := jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("ds2")}, Node: "n1", UID: 4242})
	code, body := r.call(&user, "POST", "/v1/jobs/41/start", start)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, body, "only root")
	code, body = r.call(&root, "POST", "/v1/jobs/0/start", start)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "want a positive Slurm job id")
	code, _ = r.call(&root, "POST", "/v1/jobs/41/start", jsonOf(t, api.JobStartRequest{Paths: []string{r.ds("nope")}}))
	require.Equal(t, http.StatusNotFound, code)
	code, _ = r.call(&user, "GET", "/v1/jobs/41", "")
	require.Equal(t, http.StatusNotFound, code, "no such job yet")

	var st api.JobStatus
	r.ok(&root, "POST", "/v1/jobs/41/start", start, &st)
	require.False(t, st.Ready)
	require.Len(t, st.Datasets, 1)
	require.Equal(t, api.TaskQueued, st.Datasets[0].State)
	require.Zero(t, st.Datasets[0].WarmRateBps, "no speed while queued")

	_, err := r.store.Dequeue(context.Background(), "w", t0, time.Minute)
	require.NoError(t, err)
	r.ok(&user, "GET", "/v1/jobs/41", "", &st)
	require.Equal(t, api.TaskWarming, st.Datasets[0].State)
	require.Equal(t, float64(1<<20), st.Datasets[0].WarmRateBps, "the scheduler's measured speed")

	code, _ = r.call(&user, "POST", "/v1/jobs/41/end", `{"exit_code":0}`)
	require.Equal(t, http.StatusForbidden, code)
	code, _ = r.call(&root, "POST", "/v1/jobs/42/end", `{"exit_code":0}`)
	require.Equal(t, http.StatusNotFound, code)
	r.ok(&root, "POST", "/v1/jobs/41/end", `{"exit_code":0,"reason":"epilog"}`, nil)
	r.ok(&user, "GET", "/v1/jobs/41", "", &st)
	require.Equal(t, api.JobEnded, st.State)
}

func TestQueueDatasetsAndHealth(t *testing.T) {
	r := newRig(t, nil)
	var q api.QueueResponse
	r.ok(&user, "GET", "/v1/queue", "", &q)
	require.NotNil(t, q.Entries, "an empty list, not null")
	var ds api.DatasetsResponse
	r.ok(&user, "GET", "/v1/datasets", "", &ds)
	require.NotNil(t, ds.Datasets)

	r.ok(&user, "POST", "/v1/requests", jsonOf(t, api.SubmitRequest{Paths: []string{r.ds("ds3")}}), nil)
	task, err := r.store.Dequeue(context.Background(), "w", t0, time.Minute)
	require.NoError(t, err)
	require.NoError(t, r.store.Finish(context.Background(), task.ID, "w", queue.Outcome{State: api.TaskWarm,
		Check: &queue.Check{Files: 2, Bytes: 100, CachedBytes: 100, Ratio: 1}}, t0))
	r.ok(&user, "GET", "/v1/queue", "", &q)
	require.Empty(t, q.Entries, "warm is not in the live queue")
	r.ok(&user, "GET", "/v1/queue?all=1", "", &q)
	require.Len(t, q.Entries, 1)
	require.Equal(t, api.TaskWarm, q.Entries[0].State)
	r.ok(&user, "GET", "/v1/datasets", "", &ds)
	require.Len(t, ds.Datasets, 1)
	require.Equal(t, int64(100), ds.Datasets[0].CachedBytes)

	var h api.Health
	r.ok(&user, "GET", "/v1/health", "", &h)
	require.True(t, h.OK)
	require.Equal(t, 2, h.Workers)
	require.Equal(t, r.store.Path(), h.Database)

	r.mu.Lock()
	r.health = errors.New("juicefs binary vanished")
	r.mu.Unlock()
	code, body := r.call(&user, "GET", "/v1/health", "")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "juicefs binary vanished")
}

// A handler that panics answers 500 and the daemon goes on.
func TestPanickingHandlerAnswers500(t *testing.T) {
	r := newRig(t, map[string]http.HandlerFunc{"GET /v1/boom": func(http.ResponseWriter, *http.Request) { panic("boom") }})
	code, body := r.call(&user, "GET", "/v1/boom", "")
	require.Equal(t, http.StatusInternalServerError, code)
	require.Contains(t, body, "internal error: boom")
	r.ok(&user, "GET", "/v1/health", "", nil)
}

// Over the real unix socket, the caller is who SO_PEERCRED says; a second
// listener on a live socket is refused, a stale socket file is replaced.
func TestServeOnUnixSocket(t *testing.T) {
	r := newRig(t, nil)
	sock := filepath.Join(t.TempDir(), "warmupd.sock")
	l, err := Listen(sock, 0o666)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- r.srv.Serve(l) }()
	st, err := os.Stat(sock)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o666), st.Mode().Perm())

	c := &api.Client{Socket: sock}
	ctx := context.Background()
	_, err = c.Health(ctx)
	require.NoError(t, err)
	uid := uint32(4242)
	_, err = c.Submit(ctx, api.SubmitRequest{Paths: []string{r.ds("ds1")}, UID: &uid})
	if os.Geteuid() == 0 {
		require.NoError(t, err, "root may submit for another uid")
	} else {
		require.ErrorContains(t, err, "only root may submit on behalf")
	}

	_, err = Listen(sock, 0o666)
	require.ErrorContains(t, err, "another warmupd is already listening")

	require.NoError(t, r.srv.Shutdown(ctx))
	require.NoError(t, <-served)
	require.NoError(t, os.WriteFile(sock, nil, 0o600)) // left behind by a crash
	l, err = Listen(sock, 0o600)
	require.NoError(t, err, "a stale socket file is replaced")
	require.NoError(t, l.Close())
}

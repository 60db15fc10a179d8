package cachemgr

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/queue/queuetest"
)

// A plan round waiting on the database (another connection holds its write
// lock) does not hold up /v1/cache or /v1/priority. Both must answer while
// the lock is still held; the plan then goes through once it is released.
// Were the endpoints waiting for the plan, the plan would have given up on
// the lock (busy timeout) before they answered, and planned nothing.
func TestEndpointsAnswerWhilePlanWaitsOnStore(t *testing.T) {
	store := queuetest.Open(t)
	ctx := context.Background()
	_, err := store.Submit(ctx, queue.SubmitParams{Paths: []string{"/jfs/a"}, JobID: 1, Source: api.SourceSubmit, Now: t0})
	require.NoError(t, err)

	entered := make(chan struct{}) // the injected clock says when Plan began
	var once sync.Once
	now := func() time.Time { once.Do(func() { close(entered) }); return t0 }
	m := New(Config{Planner: planner.DefaultConfig()}, store, newDriver(), zerolog.New(zerolog.NewTestWriter(t)), now)

	q := url.Values{"_busy_timeout": {"10000"}, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite3", "file:"+store.Path()+"?"+q.Encode())
	require.NoError(t, err)
	defer db.Close()
	lock, err := db.Begin() // BEGIN IMMEDIATE: the database's write lock
	require.NoError(t, err)

	planned := make(chan struct{})
	go func() { defer close(planned); m.Plan(ctx, 1) }()
	<-entered
	for _, p := range []string{"GET /v1/cache", "GET /v1/priority"} {
		rec := httptest.NewRecorder()
		m.Routes()[p](rec, httptest.NewRequest("GET", "/", nil))
		require.Equal(t, http.StatusOK, rec.Code, "%s: %s", p, rec.Body.String())
	}
	require.NoError(t, lock.Rollback())
	<-planned

	var pr api.PriorityResponse
	(&rig{t: t, m: m}).get("GET /v1/priority", &pr)
	require.Len(t, pr.Entries, 1, "the plan went through once the lock was released")
	require.Equal(t, "/jfs/a", pr.Entries[0].Dataset)
}

package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // to hold the database's write lock, as another process would
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// SIGTERM while warmupd is busy (warm-ups running, after a burst of
// requests and re-verifications, refresh checks, pre-verification and the
// squeue watch going, the database's write lock held by another connection)
// stops it cleanly: it exits 0, every goroutine it started says it
// stopped before the store is closed, nothing is logged after that but the
// last word, no call finds the database closed, and (built with -race) no
// data race is reported. Every log line carries its component key once.
func TestSIGTERMUnderLoadJoinsGoroutinesBeforeStoreCloses(t *testing.T) {
	squeue := "/usr/bin/squeue" // run without a controller it fails at once: the watch still runs its rounds
	if _, err := os.Stat(squeue); err != nil {
		t.Fatalf("squeue is installed with the cluster (scripts/deps.sh): %v", err)
	}
	v := testutil.NewVolume(t)
	var ds []string
	for i := range 4 {
		v.WriteFiles(t, fmt.Sprintf("ds%d", i), 30, 4<<20)
		ds = append(ds, filepath.Join(v.Mount, fmt.Sprintf("ds%d", i)))
	}
	d := testutil.StartWarmupd(t, v, "--workers", "1",
		"--squeue", squeue, "--squeue-interval", "100ms",
		"--refresh-interval", "100ms", "--verify-max-age", "200ms")
	ctx := context.Background()
	for _, p := range ds {
		_, err := d.Client.Submit(ctx, api.SubmitRequest{Paths: []string{p}})
		require.NoError(t, err)
	}
	d.WaitQueue(2*time.Minute, func(es []api.QueueEntry) bool {
		st := map[api.TaskState]int{}
		for _, e := range es {
			st[e.State]++
		}
		return st[api.TaskWarm] >= 1 && st[api.TaskWarming] == 1
	})

	// Requests keep arriving until the daemon is gone: asks for the warm
	// data (re-verifications), job starts, listings.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, cancel := context.WithTimeout(ctx, 5*time.Second)
				switch i % 3 {
				case 0:
					_, _ = d.Client.Submit(c, api.SubmitRequest{Paths: ds})
				case 1:
					_, _ = d.Client.JobStart(c, uint64(100*w+i), api.JobStartRequest{Paths: ds[:1]})
				default:
					_, _ = d.Client.Queue(c, true)
				}
				cancel()
			}
		}()
	}
	time.Sleep(time.Second) // let the load build up; nothing is timed
	close(stop)
	wg.Wait()

	// Another connection holds the database's write lock across SIGTERM:
	// the goroutines that hand work back (the scheduler's leases) or
	// record what they found wait for it, and warmupd must wait for them
	// before it closes the store (were it not to, the store would close
	// under them and the process end before they say they stopped).
	q := url.Values{"_busy_timeout": {"20000"}, "_txlock": {"immediate"}}
	db, err := sql.Open("sqlite3", "file:"+d.Database+"?"+q.Encode())
	require.NoError(t, err)
	defer db.Close()
	lock, err := db.Begin()
	require.NoError(t, err)
	require.NoError(t, d.Signal(syscall.SIGTERM))
	for d.CountLogs("shutting down") == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // what does not wait for the lock ends meanwhile; nothing is timed
	require.NoError(t, lock.Rollback())
	require.True(t, d.Stop(), "SIGTERM under load exits 0")

	var lines []map[string]any
	for _, raw := range strings.Split(d.Logs(), "\n") {
		if !strings.HasPrefix(raw, "{") {
			continue
		}
		require.Equal(t, 1, strings.Count(raw, `"component":`), "one component key per line: %s", raw)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &m), raw)
		lines = append(lines, m)
		require.NotContains(t, raw, "database is closed", "a call reached the store after it closed")
	}
	closed := -1
	stopped := map[string]int{}
	for i, m := range lines {
		switch m["message"] {
		case "store closed":
			closed = i
		case "goroutine stopped":
			stopped[m["goroutine"].(string)] = i
		}
	}
	require.NotEqual(t, -1, closed, "warmupd logs when it closed the store")
	for _, g := range []string{"api unix", "scheduler", "refresh", "preverify", "squeue"} {
		i, ok := stopped[g]
		require.True(t, ok, "goroutine %q said it stopped", g)
		require.Less(t, i, closed, "goroutine %q stopped before the store closed", g)
	}
	var after []any
	for _, m := range lines[closed+1:] {
		after = append(after, m["message"])
	}
	require.Equal(t, []any{"stopped cleanly"}, after, "nothing runs after the store closed")
}

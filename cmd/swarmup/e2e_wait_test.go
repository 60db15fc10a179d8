package main

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// manualRequests counts the requests `swarmup warm` made for path (rows of
// the audit log), reading warmupd's database after it stopped.
func manualRequests(t *testing.T, d *testutil.Daemon, path string) int {
	t.Helper()
	d.Stop()
	db, err := sql.Open("sqlite3", "file:"+d.Database+"?mode=ro&_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM requests r, json_each(r.paths) p
		WHERE r.source = 'manual' AND p.value = ?`, path).Scan(&n))
	return n
}

// `swarmup warm --wait` on data whose answer says verifying does not
// re-submit every --interval (a request row and a claim each time): it
// re-submits at most once and otherwise polls the listing until the path's
// own check, finished after it asked, says warm. With VerifyMaxAge shorter
// than the polls, every answer says verifying, so re-submitting per poll
// would never end.
func TestE2EWarmWaitResubmitsAtMostOnce(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds", 2, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "1", "--verify-max-age", "1ms")
	ds := filepath.Join(v.Mount, "ds")

	code, _, errOut := runSwarmup(t, d, "/", false, "warm", "--wait", "--interval", "50ms", "--timeout", "30s", ds)
	require.Equal(t, exitOK, code, errOut)
	before := manualRequests(t, d, ds)
	require.Equal(t, 1, before, "a new task ended warm: its worker's check answers it")
	d.Start()

	time.Sleep(10 * time.Millisecond) // the check is older than VerifyMaxAge
	code, out, errOut := runSwarmup(t, d, "/", false, "warm", "--wait", "--interval", "200ms", "--timeout", "10s", "--noheader", ds)
	require.Equal(t, exitOK, code, "stdout %s stderr %s", out, errOut)
	require.Regexp(t, `^`+ds+`\tjoined\t\d+\t(verifying|warm)\n$`, out)
	require.LessOrEqual(t, manualRequests(t, d, ds)-before, 2, "the request and at most one re-submission")
}

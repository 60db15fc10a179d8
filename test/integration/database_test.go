package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/internal/testutil/dbfault"
	"github.com/accel-data/accel-data/pkg/api"
)

// warmupdOnce runs warmupd with args as a start after a restart would, and
// returns its exit code and output; it must stop by itself within a minute.
func warmupdOnce(t *testing.T, args []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(t, "cmd/warmupd"), args...)
	cmd.Env = append(os.Environ(), "ACCEL_DATA_CONF=/dev/null")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "warmupd must refuse to start, got %v:\n%s", err, out)
	return ee.ExitCode(), string(out)
}

// daemonWithData runs warmupd, queues two datasets and stops it cleanly.
func daemonWithData(t *testing.T) *testutil.Daemon {
	t.Helper()
	v := testutil.NewVolume(t)
	a := v.WriteFiles(t, "a", 1, 1<<20)
	b := v.WriteFiles(t, "b", 1, 1<<20)
	d := testutil.StartWarmupd(t, v, "--workers", "0")
	_, err := d.Client.Submit(context.Background(), api.SubmitRequest{Paths: []string{a, b}})
	require.NoError(t, err)
	require.True(t, d.Stop())
	return d
}

// One damaged page: warmupd used to start "ready" and fail every call with
// "database disk image is malformed"; now it refuses to start and says how
// to restore.
func TestDamagedDatabaseRefusedAtStart(t *testing.T) {
	d := daemonWithData(t)
	dbfault.CorruptRootPage(t, d.Database, "datasets")
	code, out := warmupdOnce(t, d.Args)
	require.Equal(t, 1, code)
	require.Contains(t, out, "is not a usable warmupd database: it is damaged")
	require.Contains(t, out, "restore it from a backup")
	require.NotContains(t, out, "warmupd ready")
}

// A database found empty (or missing) where one existed is not a silent
// fresh start: warmupd refuses, naming the file and the way out; with
// --allow-empty-database it starts empty and logs an error.
func TestLostDatabaseRefusedAtStart(t *testing.T) {
	d := daemonWithData(t)
	for _, f := range []string{d.Database + "-wal", d.Database + "-shm"} {
		_ = os.Remove(f)
	}
	require.NoError(t, os.Truncate(d.Database, 0))
	code, out := warmupdOnce(t, d.Args)
	require.Equal(t, 1, code)
	require.Contains(t, out, d.Database+" is empty (0 bytes)")
	require.Contains(t, out, d.Database+".marker")
	require.Contains(t, out, "--allow-empty-database")
	require.NotContains(t, out, "warmupd ready")

	d.Args = append(d.Args, "--allow-empty-database")
	d.Start()
	require.Equal(t, 1, d.CountLogs(`"level":"error"`, "starting with an EMPTY queue"), d.Logs())
	q, err := d.Client.Queue(context.Background(), true)
	require.NoError(t, err)
	require.Empty(t, q.Entries)
}

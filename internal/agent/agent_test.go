package agent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/agent"
	"github.com/accel-data/accel-data/internal/testutil"
)

// While warmupd is down the agent keeps at most Buffer reports, dropping
// the oldest, and tells warmupd how many it dropped once it is back.
func TestAgentBuffersAcrossAnOutage(t *testing.T) {
	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v)
	require.True(t, d.Stop())
	proc := procFixture(t, map[uint32][2]string{1234: {"0::/slurm/uid_0/job_9/step_0\n", ""}})
	a := agent.New(agent.Config{Mount: v.Mount, Stats: filepath.Join(t.TempDir(), "none"), Node: "n9", Buffer: 2, SubpathDepth: 1,
		ProcRoot: proc, Client: d.Client, Log: zerolog.Nop()})
	ts := time.Now().Format("2006.01.02 15:04:05.000000")
	line := func(format string, args ...any) {
		a.Observe([]byte(fmt.Sprintf("%s [uid:0,gid:0,pid:1234] %s <0.000100>\n", ts, fmt.Sprintf(format, args...))))
	}
	line("lookup (1,ds): (2,[drwxr-xr-x:0040755,2,0,0,1,1,1,4096]) - OK")
	line("lookup (2,train): (3,[drwxr-xr-x:0040755,2,0,0,1,1,1,4096]) - OK")
	ctx := context.Background()
	for i := range 5 {
		ino, fh := 10+i, 100+2*i
		line("lookup (3,f%d): (%d,[-rw-r--r--:0100644,1,0,0,1,1,1,1000]) - OK", i, ino)
		line("open (%d,0x8000) [fh:%d] - OK", ino, fh)
		line("read (%d,131072,0,%d): (1000) - OK", ino, fh)
		a.Flush(ctx)
		// The first report carries the mount's configuration; the first
		// read waits for the agent's question about job 9's datasets
		// (warmupd is down: no answer, so it goes by depth) and then makes
		// the second report.
		for deadline := time.Now().Add(10 * time.Second); i == 0 && a.Queued() < 2 && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			a.Flush(ctx)
		}
	}
	require.Equal(t, 2, a.Queued(), "at most Buffer reports are kept")

	d.Start()
	a.Flush(ctx)
	require.Zero(t, a.Queued())
	io, err := d.Client.JobIO(ctx, 9)
	require.NoError(t, err)
	require.Equal(t, int64(2000), io.Bytes, "the two newest reports arrived")
	require.Equal(t, []string{"train"}, []string{io.Subpaths[0].Subpath})
	ms, err := d.Client.NodeMounts(ctx)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, int64(4), ms[0].ReportsDropped, "the four oldest of six were dropped, and said so")
	require.Equal(t, "n9", ms[0].Node)
}

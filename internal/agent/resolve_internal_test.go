package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// A job's read of an inode whose lookup line the agent never saw (the
// kernel had the name cached) is attributed to its path, found with
// `juicefs info --inode` inside the mount, once the look-up answers.
func TestReadWithoutLookupIsResolvedFromTheMount(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds/train", 1, 256<<10)
	fi, err := os.Stat(filepath.Join(v.Mount, "ds", "train", "f0000.bin"))
	require.NoError(t, err)
	ino := fi.Sys().(*syscall.Stat_t).Ino // the inode JuiceFS (and its access log) numbers the file with

	job := testutil.JobProcess(t, 77)

	a := New(Config{Mount: v.Mount, JuiceFS: v.Binary, InfoRate: 10, InfoConcurrency: 1, ProcRoot: "/proc", DatasetDepth: 1, SubpathDepth: 1,
		Client: &api.Client{Socket: filepath.Join(t.TempDir(), "no-warmupd.sock")}})
	line := func(op string) {
		ts := time.Now().Format("2006.01.02 15:04:05.000000")
		a.Observe([]byte(fmt.Sprintf("%s [uid:0,gid:0,pid:%d] %s <0.000100>\n", ts, job.Process.Pid, op)))
	}
	line(fmt.Sprintf("open (%d,0x8000) [fh:7] - OK", ino))
	line(fmt.Sprintf("read (%d,131072,0,7): (131072) - OK", ino))
	line(fmt.Sprintf("read (%d,131072,131072,7): (131072) - OK", ino))

	var got []api.PathAccess
	require.Eventually(t, func() bool {
		a.mu.Lock()
		jobs, _, _, _, unresolved := a.agg.Report(func(uint32) bool { return true })
		a.mu.Unlock()
		require.Zero(t, unresolved, "the read waits for the look-up, it is not counted unresolved")
		for _, j := range jobs {
			if j.JobID == 77 {
				got = append(got, j.Paths...)
			}
		}
		return len(got) > 0
	}, time.Minute, 50*time.Millisecond, "the read was never attributed")
	require.Len(t, got, 1)
	require.Equal(t, filepath.Join(v.Mount, "ds"), got[0].Dataset)
	require.Equal(t, "train", got[0].Subpath)
	require.Equal(t, int64(256<<10), got[0].Bytes)
	require.Equal(t, int64(1), got[0].Files)
}

// The look-ups are bounded: a token bucket of Rate per second (driven by an
// injected clock), and an inode whose look-up failed is not asked again
// before NegativeTTL; each look-up is counted by result.
func TestResolverRateAndNegativeCache(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds", 1, 4096)
	fi, err := os.Stat(filepath.Join(v.Mount, "ds", "f0000.bin"))
	require.NoError(t, err)
	good := fi.Sys().(*syscall.Stat_t).Ino
	const bad = 999999999 // no such inode
	drv := &jfs.Driver{Binary: v.Binary, Dir: v.Mount}
	now := time.Unix(1_800_000_000, 0)
	m := NewMetrics()
	r := &Resolver{Info: drv.InfoInode, Rate: 1, Concurrency: 4, Timeout: DefaultInfoTimeout,
		NegativeTTL: time.Minute, Now: func() time.Time { return now }, Metrics: m}
	type answer struct {
		rel string
		ok  bool
	}
	start := func(ino uint64) (chan answer, bool) {
		ch := make(chan answer, 1)
		return ch, r.Start(context.Background(), ino, func(rel string, _ int64, ok bool) { ch <- answer{rel, ok} })
	}
	ch, asked := start(bad)
	require.True(t, asked)
	require.False(t, (<-ch).ok, "juicefs info --inode of an inode that does not exist")
	_, asked = start(good)
	require.False(t, asked, "the second look-up in the same second is over Rate=1")
	now = now.Add(time.Second)
	_, asked = start(bad)
	require.False(t, asked, "a failed inode is not asked again before NegativeTTL")
	ch, asked = start(good)
	require.True(t, asked)
	require.Equal(t, answer{"ds/f0000.bin", true}, <-ch)
	now = now.Add(2 * time.Minute)
	ch, asked = start(bad)
	require.True(t, asked, "after NegativeTTL the failed inode is asked again")
	<-ch
	require.Equal(t, 1.0, count(t, m, LookupOK))
	require.Equal(t, 2.0, count(t, m, LookupFailed))
	require.Equal(t, 1.0, count(t, m, LookupLimited))
}

// count is accel_data_agent_inode_lookups_total{result}.
func count(t *testing.T, m *Metrics, result string) float64 {
	var d dto.Metric
	require.NoError(t, m.lookups.WithLabelValues(result).Write(&d))
	return d.GetCounter().GetValue()
}

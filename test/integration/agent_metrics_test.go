package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// agentMetricsURL reads the address accel-agent logged for --agent-metrics
// HOST:0.
func agentMetricsURL(t *testing.T, a *agentRig) string {
	t.Helper()
	var url string
	require.Eventually(t, func() bool {
		for _, line := range strings.Split(a.Logs(), "\n") {
			var e struct {
				Msg  string `json:"message"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "serving metrics" {
				url = "http://" + e.Addr + "/metrics"
				return true
			}
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "accel-agent did not log where it serves metrics")
	return url
}

// A running accel-agent serves its counters at --agent-metrics, and they
// move as it reads the access log and reports to warmupd.
func TestAgentServesMetrics(t *testing.T) {
	v := testutil.NewVolume(t)
	v.WriteFiles(t, "ds", 1, 1<<20)
	d := testutil.StartWarmupd(t, v)
	other := exec.Command("sleep", "600") // a process outside any job: its reads are unattributed
	other.Env = []string{"PATH=/usr/bin:/bin"}
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })

	fi, err := os.Stat(filepath.Join(v.Mount, "ds", "f0000.bin"))
	require.NoError(t, err)
	job := testutil.JobProcess(t, 4545)

	a := startAgent(t, v, d.Socket, "n1", "--agent-metrics", "127.0.0.1:0", "--juicefs", v.Binary)
	url := agentMetricsURL(t, a)
	a.readFile(other.Process.Pid, "ds/f0000.bin", 100, 11, 1<<20)
	// A read of a handle whose open line never came: a provable drop.
	a.line(other.Process.Pid, "read (100,131072,0,99): (4096) - OK")
	// A job's read of the file's real inode, with no lookup line: looked up
	// with juicefs info --inode.
	ino := fi.Sys().(*syscall.Stat_t).Ino
	a.line(job.Process.Pid, fmt.Sprintf("open (%d,0x8000) [fh:21] - OK", ino))
	a.line(job.Process.Pid, fmt.Sprintf("read (%d,131072,0,21): (131072) - OK", ino))
	var s scrape
	require.Eventually(t, func() bool {
		s = scrapeMetrics(t, url)
		return s.value("accel_data_agent_unattributed_bytes_total", nil) >= 1<<20+4096 &&
			s.value("accel_data_agent_reports_total", map[string]string{"result": "ok"}) >= 1 &&
			s.value("accel_data_agent_inode_lookups_total", map[string]string{"result": "ok"}) >= 1
	}, time.Minute, 100*time.Millisecond, "the agent's counters did not move")
	require.Zero(t, s.value("accel_data_agent_unresolved_bytes_total", nil), "the job's read was resolved")
	require.GreaterOrEqual(t, s.value("accel_data_agent_lines_total", nil), float64(2+8+3+1+2), "lookups, open, 8 reads, flush, release, the lone read, the job's open and read")
	require.Equal(t, 1.0, s.value("accel_data_agent_lines_lost_total", nil), "the open of handle 99 was dropped")
	require.Equal(t, 0.0, s.value("accel_data_agent_reports_dropped_total", nil))
}

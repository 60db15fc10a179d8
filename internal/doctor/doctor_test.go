package doctor_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/doctor"
	"github.com/accel-data/accel-data/pkg/api"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func good(node string) api.NodeMount {
	return api.NodeMount{Node: node, Mount: "/jfs", ReportedAt: t0.Add(-time.Minute), MountReport: api.MountReport{
		FSType: "fuse.juicefs", CacheDir: "/beegfs/jfscache/u", CacheScanInterval: -1, CacheEviction: "none"}}
}

func TestHealthyDeploymentHasNoProblems(t *testing.T) {
	require.Empty(t, doctor.Check(doctor.Input{Now: t0, Mounts: []api.NodeMount{good("n1"), good("n2")},
		PrologWait: 5 * time.Minute, PrologEpilogTimeout: 10 * time.Minute,
		PlugstackSocket: "/run/warmupd/warmupd.sock", Socket: "/run/warmupd//warmupd.sock"}))
}

func TestEachRuleSaysWhatToDo(t *testing.T) {
	scan := good("n2")
	scan.CacheScanInterval = 3600
	evict := good("n3")
	evict.CacheEviction = "2-random"
	other := good("n4")
	other.CacheDir = "/local/cache/u"
	lossy := good("n5")
	lossy.Dropped, lossy.ReportsDropped = 12, 3
	silent := good("n6")
	silent.ReportedAt = t0.Add(-time.Hour)
	ps := doctor.Check(doctor.Input{Now: t0,
		Mounts:     []api.NodeMount{good("n1"), scan, evict, other, lossy, silent, good("n7")},
		PrologWait: 5 * time.Minute, PrologEpilogTimeout: 5 * time.Minute, SlurmConf: "/etc/slurm/slurm.conf",
		PlugstackSocket: "/run/other.sock", Plugstack: "/etc/slurm/plugstack.conf", Socket: "/run/warmupd/warmupd.sock",
		HealthErr: errors.New("warmupd is not running"),
	})
	var lines []string
	for _, p := range ps {
		require.NotEmpty(t, p.Fix, p.String())
		lines = append(lines, p.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{
		"warmupd: warmupd is not running",
		"/etc/slurm/slurm.conf: PrologWait 5m0s is not below PrologEpilogTimeout 5m0s",
		"/etc/slurm/plugstack.conf: the SPANK plugin submits to /run/other.sock but warmupd's socket is /run/warmupd/warmupd.sock",
		"node n2 /jfs: --cache-scan-interval is 3600s",
		"remount with --cache-scan-interval=-1",
		"node n3 /jfs: --cache-eviction 2-random",
		"node n4 /jfs: cache dir /local/cache/u differs from the one most nodes share (/beegfs/jfscache/u)",
		"node n5 /jfs: accel-agent lost at least 12 access-log lines",
		"node n5 /jfs: accel-agent dropped 3 reports",
		"node n6 /jfs: accel-agent's last report is 1h0m0s old",
	} {
		require.Contains(t, all, want)
	}
	require.Len(t, ps, 9, all)
	// munged only matters over TCP
	require.Len(t, doctor.Check(doctor.Input{MungeErr: errors.New("munged not running")}), 0)
	require.Len(t, doctor.Check(doctor.Input{Server: "svc:7070", MungeErr: errors.New("munged not running")}), 1)
}

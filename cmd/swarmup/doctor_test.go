package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/doctor"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

// swarmup doctor against a real warmupd: an agent reported a node whose
// mount scans its cache hourly; slurm.conf's PrologEpilogTimeout is below
// PrologWait; plugstack.conf names another socket. One line per problem,
// exit 1; --json lists them; a healthy setup exits 0.
func TestDoctor(t *testing.T) {
	v := testutil.NewVolume(t)
	d := testutil.StartWarmupd(t, v)
	ctx := context.Background()
	_, err := d.Client.ReportAccess(ctx, api.AccessReport{Node: "n1", Mount: "/jfs", Config: &api.MountReport{
		FSType: "fuse.juicefs", CacheDir: "/beegfs/jfscache/u", CacheScanInterval: 3600, CacheEviction: "none"}})
	require.NoError(t, err)

	dir := t.TempDir()
	conf := filepath.Join(dir, "accel-data.conf")
	slurmConf := filepath.Join(dir, "slurm.conf")
	require.NoError(t, os.WriteFile(conf, []byte("PrologWait=2m\n"), 0o644))
	require.NoError(t, os.WriteFile(slurmConf, []byte("ClusterName=test\nPrologEpilogTimeout=60 # seconds\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugstack.conf"),
		[]byte("required /usr/lib/slurm/accel_data.so socket=/run/elsewhere.sock prefix=/jfs\n"), 0o644))
	run := func(args ...string) (exitCode, string) {
		var out, errOut bytes.Buffer
		f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Now: time.Now,
			Getwd: func() (string, error) { return dir, nil },
			Getenv: func(k string) string {
				return map[string]string{api.SocketEnv: d.Socket, config.PathEnv: conf, "SLURM_CONF": slurmConf}[k]
			}}
		code := Main(ctx, f, args)
		return code, out.String() + errOut.String()
	}
	code, out := run("doctor")
	require.Equal(t, exitError, code, out)
	require.Contains(t, out, "node n1 /jfs: --cache-scan-interval is 3600s")
	require.Contains(t, out, slurmConf+": PrologWait 2m0s is not below PrologEpilogTimeout 1m0s")
	require.Contains(t, out, "the SPANK plugin submits to /run/elsewhere.sock but warmupd's socket is "+d.Socket)
	require.Contains(t, out, "swarmup: 3 problem(s) found")

	code, out = run("doctor", "--json")
	require.Equal(t, exitError, code)
	var ps []doctor.Problem
	require.NoError(t, json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &ps))
	require.Len(t, ps, 3)

	// Fixed: the node remounted, PrologWait below the timeout, the plugin's socket right.
	_, err = d.Client.ReportAccess(ctx, api.AccessReport{Node: "n1", Mount: "/jfs", Config: &api.MountReport{
		FSType: "fuse.juicefs", CacheDir: "/beegfs/jfscache/u", CacheScanInterval: -1, CacheEviction: "none"}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(conf, []byte("PrologWait=30s\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugstack.conf"),
		[]byte("required /usr/lib/slurm/accel_data.so socket="+d.Socket+"\n"), 0o644))
	code, out = run("doctor")
	require.Equal(t, exitOK, code, out)
	require.Equal(t, "no problems found (1 node mounts reported by agents)\n", out)
}

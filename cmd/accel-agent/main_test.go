package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

func TestVersion(t *testing.T) {
	testutil.RequireVersion(t, testutil.Binary(t, "cmd/accel-agent"), "accel-agent")
}

// --help lists every flag; every flag but config/help/version is a key of
// the configuration file; a bad key or value is a usage error (exit 2).
func TestHelpFlagsAreKeysAndBadConfig(t *testing.T) {
	bin := testutil.Binary(t, "cmd/accel-agent")
	out, err := exec.Command(bin, "--help").CombinedOutput()
	require.NoError(t, err)
	for _, f := range []string{"--agent-mount", "--agent-interval", "--agent-buffer", "--agent-dataset-depth", "--server", "--socket"} {
		require.Contains(t, string(out), f)
	}
	// that every flag is a key: pkg/config TestEveryFlagIsAKeyAndEveryKeyAFlag

	conf := filepath.Join(t.TempDir(), "accel-data.conf")
	require.NoError(t, os.WriteFile(conf, []byte("AgentIntervall=5s\n"), 0o644))
	c := exec.Command(bin, "--config", conf)
	b, err := c.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 2, ee.ExitCode())
	require.Contains(t, string(b), `unknown key "AgentIntervall"`)
	require.NoError(t, os.WriteFile(conf, []byte("AgentDatasetDepth=0\n"), 0o644))
	b, err = exec.Command(bin, "--config", conf).CombinedOutput()
	require.ErrorAs(t, err, &ee)
	require.Equal(t, 2, ee.ExitCode(), "%s", b)
	// warmupd's keys in the shared file are skipped, not errors; SIGTERM
	// stops the agent with status 0 (even with no mount and no warmupd).
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(conf, []byte("Workers=3\nAgentInterval=1h\nAgentMount="+dir+"\nSocket="+dir+"/none.sock\n"), 0o644))
	c = exec.Command(bin, "--config", conf)
	stderr, err := c.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, c.Start())
	sc := bufio.NewScanner(stderr)
	started := false
	for !started && sc.Scan() {
		started = strings.Contains(sc.Text(), "accel-agent started")
	}
	require.True(t, started)
	require.NoError(t, c.Process.Signal(syscall.SIGTERM))
	_, _ = io.Copy(io.Discard, stderr)
	require.NoError(t, c.Wait())
}

package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// `changelog` as juicefs's: the "not enabled" error of the real client;
// with --follow=false (later clients) it prints the entries and exits;
// without it (1.4.1 has no such flag) it prints them and then each new
// entry as it comes, until it is killed.
func TestStandInChangelog(t *testing.T) {
	v := standInVolume(t, testutil.WithFUSE())
	_, stderr, code := runFJ(t, v.Binary, "", nil, "changelog", "--from", "1", v.MetaURL)
	require.Equal(t, 1, code)
	require.Regexp(t, logLineRE, strings.TrimSpace(stderr))
	require.Contains(t, stderr, "<FATAL>: changelog is not enabled, use `juicefs config "+v.MetaURL+" --changelog` to enable it")

	_, _, code = runFJ(t, v.Binary, "", nil, "config", v.MetaURL, "--changelog")
	require.Equal(t, 0, code)
	require.NoError(t, os.Mkdir(filepath.Join(v.Mount, "a"), 0o755))
	out, _, code := runFJ(t, v.Binary, "", nil, "changelog", "--from", "1", "--follow=false", v.MetaURL)
	require.Equal(t, 0, code)
	require.Regexp(t, `^1: \d+\.\d{9}\|CREATE\(1,a,.*\)\n$`, out)
	_, _, code = runFJ(t, v.Binary, "", nil, "changelog", "--follow=maybe", v.MetaURL)
	require.Equal(t, 1, code)

	cmd := exec.Command(v.Binary, "changelog", "--from", "1", v.MetaURL)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	watchdog := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() }) // a scan that never ends fails below
	defer watchdog.Stop()
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan())
	require.Contains(t, lines.Text(), "|CREATE(1,a,")
	require.NoError(t, os.Mkdir(filepath.Join(v.Mount, "b"), 0o755))
	require.True(t, lines.Scan(), "the entry of b, printed while following")
	require.Regexp(t, `^2: .*\|CREATE\(1,b,`, lines.Text())
	require.True(t, watchdog.Stop(), "it printed b's entry before the watchdog")
	require.NoError(t, cmd.Process.Kill())
	err = cmd.Wait()
	require.ErrorContains(t, err, "killed", "still following when killed")
}

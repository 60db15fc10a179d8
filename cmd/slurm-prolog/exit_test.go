package main

import (
	"bytes"
	"io"
	"net"
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

// runBinary runs the built slurm-prolog with exactly env (no inherited
// environment, no PATH, like slurmd) and returns its stderr; it fails the test
// unless the exit status is 0.
func runBinary(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin := prologBinary(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	require.NoError(t, err, "slurm-prolog must exit 0 on every path; stderr:\n%s", stderr.String())
	return stderr.String()
}

func jobEnvList(sock string, extra ...string) []string {
	return append([]string{
		"SLURM_SCRIPT_CONTEXT=prolog_slurmd",
		"SPANK_ACCEL_DATA=/jfs/a",
		"SPANK_ACCEL_TOKEN=00112233445566778899aabbccddeeff",
		"SLURM_JOB_ID=7",
		"SLURM_JOB_UID=1000",
		"SLURMD_NODENAME=n1",
		"ACCEL_DATA_CONF=/dev/null",
		"WARMUPD_SOCKET=" + sock,
	}, extra...)
}

func TestExitZeroOnEveryPath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no.sock")
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close()) // the file stays, nobody listens: a crashed daemon
	badConf := filepath.Join(dir, "bad.conf")
	require.NoError(t, writeFile(badConf, "NoSuchKey=1\n"))

	cases := []struct {
		name string
		env  []string
		args []string
		want string // substring of stderr; "" means silent
	}{
		{"empty environment", nil, nil, "reason=bad-env"},
		{"garbage context", []string{"SLURM_SCRIPT_CONTEXT=\x01\x02junk"}, nil, "reason=bad-env"},
		{"not an accel-data job", []string{"SLURM_SCRIPT_CONTEXT=prolog_slurmd", "SLURM_JOB_ID=1"}, nil, ""},
		{"garbage job id", jobEnvList(missing, "SLURM_JOB_ID=-3;rm -rf /"), nil, "reason=bad-env"},
		{"garbage uid", jobEnvList(missing, "SLURM_JOB_UID=root"), nil, "reason=bad-env"},
		{"daemon down (no socket)", jobEnvList(missing), []string{"--socket", missing, "--prolog-reconnect", "300ms"}, "reason=daemon-down"},
		{"daemon down (stale socket)", jobEnvList(stale), []string{"--socket", stale, "--prolog-reconnect", "300ms"}, "reason=daemon-down"},
		{"epilog, daemon down", jobEnvList(missing, "SLURM_SCRIPT_CONTEXT=epilog_slurmd", "SLURM_JOB_EXIT_CODE=zz"), []string{"--socket", missing}, "reason=daemon-down"},
		{"bad config file", jobEnvList(missing), []string{"--config", badConf}, "reason=bad-config"},
		{"bad flag", jobEnvList(missing), []string{"--no-such-flag"}, "reason=bad-config"},
		{"huge env value", jobEnvList(missing, "SPANK_ACCEL_DATA="+strings.Repeat("/jfs/x,", 10000)), []string{"--socket", missing, "--prolog-reconnect", "0"}, "reason=daemon-down"},
		{"bad prolog-reconnect", jobEnvList(missing), []string{"--prolog-reconnect", "-1s"}, "reason=bad-config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := runBinary(t, c.env, c.args...)
			if c.want == "" {
				require.Empty(t, out)
				return
			}
			require.Contains(t, out, c.want)
			require.Equal(t, 1, strings.Count(strings.TrimSpace(out), "\n")+1, "exactly one log line, got:\n%s", out)
		})
	}
}

// A daemon that accepts but never answers: the prolog gives up at its
// deadline and says warmupd did not answer (it never got through).
func TestPrologDeadlineWithHungDaemon(t *testing.T) {
	sock := hungDaemon(t)
	logFile := filepath.Join(t.TempDir(), "prolog.log")
	start := time.Now()
	out := runBinary(t, jobEnvList(sock), "--socket", sock, "--prolog-wait", "700ms", "--prolog-log", logFile)
	took := time.Since(start)
	require.Contains(t, out, "reason=daemon-down")
	require.Contains(t, out, "warmupd did not answer")
	require.Less(t, took, 5*time.Second, "the wait is bounded by --prolog-wait")
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(out), strings.TrimSpace(string(b)), "PrologLog gets the same line")
}

// A daemon that hangs for longer than the client's response timeout (5s) is
// tried again until prolog-reconnect, and the line says so.
func TestPrologRetriesHungDaemonUntilReconnectBound(t *testing.T) {
	sock := hungDaemon(t)
	start := time.Now()
	out := runBinary(t, jobEnvList(sock), "--socket", sock, "--prolog-wait", "1m", "--prolog-reconnect", "6s")
	took := time.Since(start)
	require.Contains(t, out, "reason=daemon-down")
	require.Contains(t, out, "no answer within 5s")
	require.Contains(t, out, "retries=")
	require.Greater(t, took, 5*time.Second, "it waited for an answer, then tried again")
	require.Less(t, took, 30*time.Second, "bounded by --prolog-reconnect plus one response timeout, far below --prolog-wait")
}

// The epilog tries again for a few seconds, then gives up with exit 0.
func TestEpilogRetriesBriefly(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no.sock")
	start := time.Now()
	out := runBinary(t, jobEnvList(missing, "SLURM_SCRIPT_CONTEXT=epilog_slurmd"), "--socket", missing)
	took := time.Since(start)
	require.Contains(t, out, "reason=daemon-down")
	require.Contains(t, out, "retries=")
	require.Contains(t, out, "once squeue no longer lists it")
	require.GreaterOrEqual(t, took, epilogReconnect-time.Second, "it kept trying")
	require.Less(t, took, 3*epilogReconnect, "a few seconds, not the prolog's wait")
}

// slurmd kills a prolog that overruns PrologEpilogTimeout; a SIGTERM still exits 0.
func TestPrologSignalExitsZero(t *testing.T) {
	sock := hungDaemon(t)
	cmd := exec.Command(prologBinary(t), "--socket", sock, "--prolog-wait", "1m")
	cmd.Env = jobEnvList(sock)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "SIGTERM must still exit 0; stderr:\n%s", stderr.String())
	require.Contains(t, stderr.String(), "reason=interrupted")
}

// A panic anywhere is recovered, logged as one line, and run returns normally.
func TestPanicRecovered(t *testing.T) {
	var buf bytes.Buffer
	require.NotPanics(t, func() {
		run(nil, func(string) string { panic("boom") }, io.Discard, &buf)
	})
	require.Contains(t, buf.String(), "reason=internal-error")
	require.Contains(t, buf.String(), "boom")
	require.Equal(t, 1, strings.Count(strings.TrimSpace(buf.String()), "\n")+1)
}

// --help and --version answer from a shell, without slurmd's environment
// (the flags were once parsed after the environment, so --help printed a
// bad-env warning instead of the help).
func TestHelpAndVersionWithoutJobEnv(t *testing.T) {
	out := runBinary(t, nil, "--help")
	require.Contains(t, out, "Install it as both Prolog= and Epilog=")
	require.Contains(t, out, "--prolog-wait")
	require.NotContains(t, out, "reason=")
	testutil.RequireVersion(t, prologBinary(t), "slurm-prolog")
}

// With Server set and this host's munged down, no credential can be made:
// the prolog lets the job start at once (no reconnect wait: munged does not
// come back in seconds) and its line says why.
func TestPrologDoesNotWaitWhenMungedIsDown(t *testing.T) {
	noMunged := filepath.Join(t.TempDir(), "munge.sock")
	start := time.Now()
	out := runBinary(t, jobEnvList(filepath.Join(t.TempDir(), "unused.sock")),
		"--server", "127.0.0.1:9", "--munge-socket", noMunged, "--prolog-wait", "1m", "--prolog-reconnect", "40s")
	took := time.Since(start)
	require.Contains(t, out, "reason=daemon-down")
	require.Contains(t, out, "cannot make a MUNGE credential on this host to reach warmupd, job goes on without waiting (start munged")
	require.Contains(t, out, "cannot make a MUNGE credential: munged not running on this host")
	require.NotContains(t, out, "retries=")
	require.Less(t, took, 20*time.Second, "far below --prolog-reconnect: it did not wait")
}

// The epilog does not retry either when this host's munged is down.
func TestEpilogDoesNotRetryWhenMungedIsDown(t *testing.T) {
	noMunged := filepath.Join(t.TempDir(), "munge.sock")
	out := runBinary(t, jobEnvList(filepath.Join(t.TempDir(), "unused.sock"), "SLURM_SCRIPT_CONTEXT=epilog_slurmd"),
		"--server", "127.0.0.1:9", "--munge-socket", noMunged)
	require.Contains(t, out, "reason=daemon-down")
	require.Contains(t, out, "accel-data epilog: cannot make a MUNGE credential on this host")
	require.NotContains(t, out, "retries=")
}

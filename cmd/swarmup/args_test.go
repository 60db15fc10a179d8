package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

// testFactory returns a factory whose socket is a path nobody listens on.
func testFactory(t *testing.T) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errOut bytes.Buffer
	sock := filepath.Join(t.TempDir(), "warmupd.sock")
	return &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Now:    func() time.Time { return testNow },
		Getwd:  func() (string, error) { return "/jfs/work", nil },
		Getenv: func(k string) string { return map[string]string{api.SocketEnv: sock}[k] },
	}, &out, &errOut
}

func TestDaemonDownIsOneLineAndExit3(t *testing.T) {
	for _, args := range [][]string{nil, {"queue"}, {"datasets"}, {"warm", "/jfs/x"}, {"cancel", "3"}} {
		f, out, errOut := testFactory(t)
		code := Main(context.Background(), f, args)
		require.Equal(t, exitDaemonDown, code, "swarmup %v", args)
		require.Empty(t, out.String())
		msg := errOut.String()
		require.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
		require.Contains(t, msg, "warmupd is not running")
		require.Contains(t, msg, f.Getenv(api.SocketEnv), "names the socket it tried")
		require.Contains(t, msg, "--socket", "says what to do")
	}
}

func TestSocketFlagBeatsEnvironment(t *testing.T) {
	f, _, errOut := testFactory(t)
	other := filepath.Join(t.TempDir(), "other.sock")
	require.Equal(t, exitDaemonDown, Main(context.Background(), f, []string{"--socket", other}))
	require.Contains(t, errOut.String(), other)
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"--format", "dataset,colour"}, `unknown field "colour"`},
		{[]string{"datasets", "--format", "taskid"}, "valid fields: path,size,files"},
		{[]string{"--json", "--format", "dataset"}, "cannot be combined"},
		{[]string{"--state", "hot"}, `unknown state "hot"`},
		{[]string{"queue", "extra"}, "takes no arguments"},
		{[]string{"warm"}, "needs at least 1 PATH"},
		{[]string{"warm", "--interval", "0s", "/jfs/x"}, "--interval must be positive"},
		{[]string{"warm", "--timeout", "soon", "/jfs/x"}, "invalid argument"},
		{[]string{"cancel"}, "needs at least 1 TASKID or PATH"},
		{[]string{"cancel", "0"}, "bad task id"},
		{[]string{"cancel", "--format", "taskid", "3"}, "--format does not apply"},
	} {
		f, _, errOut := testFactory(t)
		code := Main(context.Background(), f, tc.args)
		require.Equal(t, exitUsage, code, "swarmup %v: %s", tc.args, errOut)
		require.Contains(t, errOut.String(), tc.want, "swarmup %v", tc.args)
		require.Contains(t, errOut.String(), "--help' for usage", "swarmup %v", tc.args)
	}
}

func TestHelpListsExitStatusAndExamples(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"queue", "--help"}, {"warm", "--help"}, {"cancel", "--help"}, {"datasets", "--help"}, {"prio", "--help"}, {"cache", "--help"}} {
		f, out, _ := testFactory(t)
		require.Equal(t, exitOK, Main(context.Background(), f, args))
		require.Contains(t, out.String(), exitcode.Help(exitStatuses), "swarmup %v: EXIT STATUS is generated from the table", args)
		require.Contains(t, out.String(), "  3  warmupd is not running", "swarmup %v", args)
		require.Contains(t, out.String(), "  4  warm --wait: some dataset ended partial, failed, cancelled or evicted\n", "swarmup %v", args)
		require.Contains(t, out.String(), "Examples:", "swarmup %v", args)
	}
}

func TestWarmResolvesRelativePaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"imagenet", "/jfs/work/imagenet"},
		{"../coco/./train/", "/jfs/coco/train"},
		{"/jfs/abs//x/", "/jfs/abs/x"},
	} {
		got, err := absPath(func() (string, error) { return "/jfs/work", nil }, tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

// swarmup refuses what warmupd and the SPANK plugin refuse, before sending:
// bytes that are not UTF-8 would reach warmupd as U+FFFD and be reported as
// a missing file.
func TestWarmRefusesWhatTheRuleRefuses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/jfs/bad\xff", `/jfs/bad\xff: path is not valid UTF-8`},
		{"/jfs/a\nb", `/jfs/a\x0ab: path contains a control character`},
		{"/jfs/a/../etc", "path contains '..'"},
		{"/jfs/ds ", "path ends in white space"},
		{"/jfs/" + strings.Repeat("x", 5000), "x…xxxx" + strings.Repeat("x", 44) + ": path is 5005 bytes, longer than the 4096 allowed"},
	} {
		_, err := absPath(func() (string, error) { return "/jfs/work", nil }, tc.in)
		require.ErrorContains(t, err, tc.want)
		require.Equal(t, exitUsage, codeFor(err), "a usage error")
	}
}

func TestCommandsParseIntoOptions(t *testing.T) {
	f, _, _ := testFactory(t)
	var got *WarmOptions
	cmd := NewCmdWarm(f, func(o *WarmOptions) error { got = o; return nil })
	runCmd(t, cmd, "--wait", "--timeout", "90s", "--interval", "250ms", "a", "/b")
	require.True(t, got.Wait)
	require.Equal(t, 90*time.Second, got.Timeout)
	require.Equal(t, 250*time.Millisecond, got.Interval)
	require.Equal(t, []string{"a", "/b"}, got.Paths)

	var q *QueueOptions
	runCmd(t, NewCmdQueue(f, func(o *QueueOptions) error { q = o; return nil }), "-a", "--state", "warm,failed", "-d", "/jfs/x")
	require.True(t, q.All)
	require.Equal(t, []string{"warm", "failed"}, q.States)
	require.Equal(t, []string{"/jfs/x"}, q.Datasets)

	var c *CancelOptions
	runCmd(t, NewCmdCancel(f, func(o *CancelOptions) error { c = o; return nil }), "12", "imagenet")
	req, err := cancelRequest(c.Getwd, c.Args)
	require.NoError(t, err)
	require.Equal(t, api.CancelRequest{TaskIDs: []int64{12}, Paths: []string{"/jfs/work/imagenet"}}, req)
}

func runCmd(t *testing.T, cmd *cobra.Command, args ...string) {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	require.NoError(t, cmd.Execute())
}

func TestSocketFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "accel-data.conf")
	fromFile := filepath.Join(dir, "from-file.sock")
	require.NoError(t, os.WriteFile(conf, []byte("# shared by every tool\nSocket="+fromFile+"\nWorkers=4\nPrologWait=2m\n"), 0o644))
	env := map[string]string{config.PathEnv: conf}
	f, _, errOut := testFactory(t)
	f.Getenv = func(k string) string { return env[k] }
	require.Equal(t, exitDaemonDown, Main(context.Background(), f, nil))
	require.Contains(t, errOut.String(), fromFile, "Socket= in the config file is used; other tools' keys are skipped")

	fromEnv := filepath.Join(dir, "from-env.sock")
	env[api.SocketEnv] = fromEnv
	f, _, errOut = testFactory(t)
	f.Getenv = func(k string) string { return env[k] }
	require.Equal(t, exitDaemonDown, Main(context.Background(), f, []string{"datasets"}))
	require.Contains(t, errOut.String(), fromEnv, "$WARMUPD_SOCKET beats the config file")

	require.NoError(t, os.WriteFile(conf, []byte("Sokcet=/x\n"), 0o644))
	delete(env, api.SocketEnv)
	f, _, errOut = testFactory(t)
	f.Getenv = func(k string) string { return env[k] }
	require.Equal(t, exitError, Main(context.Background(), f, nil))
	require.Contains(t, errOut.String(), conf+`:1: unknown key "Sokcet"`)

	f, _, errOut = testFactory(t)
	f.Getenv = func(k string) string { return env[k] }
	flagSock := filepath.Join(dir, "flag.sock")
	require.Equal(t, exitDaemonDown, Main(context.Background(), f, []string{"--socket", flagSock}), "--socket needs no config file")
	require.Contains(t, errOut.String(), flagSock)
}

// A warmupd that accepts connections but never answers (kill -STOP) is
// "daemon unavailable" (exit 3, the same advice) within a few seconds, not a
// 30 s hang ending in `context deadline exceeded`.
func TestHungDaemonIsExit3(t *testing.T) {
	sock := testutil.HungDaemon(t)
	for _, args := range [][]string{nil, {"warm", "/jfs/x"}} {
		f, out, errOut := testFactory(t)
		f.Getenv = func(k string) string { return map[string]string{api.SocketEnv: sock}[k] }
		start := time.Now()
		code := Main(context.Background(), f, args)
		took := time.Since(start)
		require.Equal(t, exitDaemonDown, code, "swarmup %v: %s", args, errOut)
		require.Empty(t, out.String())
		msg := errOut.String()
		require.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
		require.Contains(t, msg, "warmupd is not running or not reachable at "+sock)
		require.Contains(t, msg, "no answer within 5s")
		require.Contains(t, msg, "systemctl")
		require.Less(t, took, 20*time.Second, "bounded by the client's response timeout (5s), not 30s")
	}
}

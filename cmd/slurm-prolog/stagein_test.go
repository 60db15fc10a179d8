package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/api"
)

func TestParseDirective(t *testing.T) {
	cases := []struct {
		script, token string
		paths         []string
	}{
		{"#!/bin/sh\n#BB_LUA accel-data token=00ff paths=/jfs/a,/jfs/b\necho\n", "00ff", []string{"/jfs/a", "/jfs/b"}},
		{"#!/bin/sh\n#BB_LUA accel-data paths=/jfs/with space\r\n", "", []string{"/jfs/with space"}},
		{"#!/bin/sh\n#BB_LUA accel-database paths=/jfs/a\n", "", nil},
		{"#!/bin/sh\n#BB_LUA pool=x capacity=1\n", "", nil},
		{"", "", nil},
	}
	for _, c := range cases {
		tok, paths, err := parseDirective(strings.NewReader(c.script))
		require.NoError(t, err)
		require.Equal(t, c.token, tok, "%q", c.script)
		require.Equal(t, c.paths, paths, "%q", c.script)
	}
}

func TestParseStageinArgs(t *testing.T) {
	a, err := parseStagein([]string{"start", "12", "1000", "/spool/job.12/script"})
	require.NoError(t, err)
	require.Equal(t, stageinArgs{verb: "start", jobID: 12, uid: 1000, script: "/spool/job.12/script"}, a)
	a, err = parseStagein([]string{"wait", "12", "/spool/job.12/script"})
	require.NoError(t, err)
	require.Equal(t, stageinArgs{verb: "wait", jobID: 12, script: "/spool/job.12/script"}, a)
	for _, bad := range [][]string{nil, {"test", "1", "s"}, {"wait", "1;rm -rf /", "s"}, {"wait", "0", "s"},
		{"start", "1", "root", "s"}, {"start", "1", "s"}, {"wait", "1", "s", "extra"}} {
		_, err := parseStagein(bad)
		require.Error(t, err, "%q", bad)
	}
}

// runStagein runs the built binary's stagein with args and a clean
// environment (slurmscriptd's is no richer) and returns stdout and stderr;
// the exit status must be 0.
func runStagein(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prologBinary(t), append([]string{"stagein"}, args...)...)
	cmd.Env = []string{"ACCEL_DATA_CONF=/dev/null"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "slurm-prolog stagein must exit 0; stderr:\n%s", stderr.String())
	require.Equal(t, 1, strings.Count(stdout.String(), "\n"), "one line for the Lua: %q", stdout.String())
	return stdout.String(), stderr.String()
}

// jobScript writes a job script as slurmctld keeps it, with the directive.
func jobScript(t *testing.T, directive string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+directive+"\nsrun train\n"), 0o600))
	return p
}

// Every failure is a reason, never a non-zero exit (a failed stage-in would hold the job).
func TestStageinExitsZero(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no.sock")
	script := jobScript(t, "#BB_LUA accel-data token=00ff paths=/jfs/a")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no verb", nil, "reason=bad-env"},
		{"shell in job id", []string{"wait", "1;reboot", script}, "reason=bad-env"},
		{"no script", []string{"wait", "7", filepath.Join(t.TempDir(), "gone")}, "reason=bad-env"},
		{"no directive", []string{"wait", "7", jobScript(t, "#BB_LUA pool=x")}, "reason=bad-env"},
		{"start, daemon down", []string{"start", "7", "1000", script, "--socket", missing}, "reason=daemon-down"},
		{"wait, daemon down", []string{"wait", "7", script, "--socket", missing, "--prolog-reconnect", "300ms"}, "reason=daemon-down"},
		{"bad deadline", []string{"wait", "7", script, "--stagein-deadline", "0s"}, "reason=bad-config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr := runStagein(t, c.args...)
			require.Contains(t, stderr, c.want)
			require.Contains(t, stdout, "accel-data stage-in: ")
			require.Contains(t, stdout, "the job may start")
		})
	}
}

// Against a real warmupd: start queues the data bound to the job id and
// the submission's token; wait returns when it is warm, or at the deadline.
func TestStageinWithWarmupd(t *testing.T) {
	t.Run("warm", func(t *testing.T) {
		vol := testutil.NewVolume(t)
		ds := vol.WriteFiles(t, "ds", 4, 1<<20)
		d := testutil.StartWarmupd(t, vol)
		script := jobScript(t, "#BB_LUA accel-data token=00112233445566778899aabbccddeeff paths="+ds)
		stdout, stderr := runStagein(t, "start", "41", "1000", script, "--socket", d.Socket)
		require.Contains(t, stderr, "reason=queued", stdout)
		st, err := d.Client.JobStatus(context.Background(), 41)
		require.NoError(t, err)
		require.Len(t, st.Datasets, 1)
		require.Equal(t, ds, st.Datasets[0].Dataset)
		require.Equal(t, api.JobSubmitted, st.State, "the job is pending, not started")

		stdout, stderr = runStagein(t, "wait", "41", script, "--socket", d.Socket, "--poll-interval", "100ms")
		require.Contains(t, stderr, "reason=warm", stdout)
		require.Contains(t, stdout, "data warm after")
	})
	t.Run("deadline", func(t *testing.T) {
		t.Setenv(testutil.BandwidthEnv, "1") // MiB/s: 32 MiB take half a minute
		vol := testutil.NewVolume(t)
		ds := vol.WriteFiles(t, "slow", 8, 4<<20)
		d := testutil.StartWarmupd(t, vol)
		script := jobScript(t, "#BB_LUA accel-data paths="+ds)
		_, stderr := runStagein(t, "start", "42", "1000", script, "--socket", d.Socket)
		require.Contains(t, stderr, "reason=queued")
		stdout, stderr := runStagein(t, "wait", "42", script, "--socket", d.Socket, "--stagein-deadline", "1s", "--poll-interval", "100ms")
		require.Contains(t, stderr, "reason=deadline", stdout)
		require.Contains(t, stdout, "StageInDeadline reached")
	})
}

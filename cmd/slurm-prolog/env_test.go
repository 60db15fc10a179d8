package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseEnv(t *testing.T) {
	base := map[string]string{
		"SLURM_SCRIPT_CONTEXT": "prolog_slurmd",
		"SPANK_ACCEL_DATA":     "/jfs/a,/jfs/b",
		"SPANK_ACCEL_TOKEN":    "00112233445566778899aabbccddeeff",
		"SLURM_JOB_ID":         "42",
		"SLURM_JOB_UID":        "1000",
		"SLURMD_NODENAME":      "n2",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range base {
			m[a] = b
		}
		m[k] = v
		return m
	}

	e, err := parseEnv(envOf(base))
	require.NoError(t, err)
	require.Equal(t, jobEnv{Mode: modeProlog, JobID: 42, UID: 1000, Node: "n2",
		Token: "00112233445566778899aabbccddeeff", Paths: []string{"/jfs/a", "/jfs/b"}}, e)

	e, err = parseEnv(envOf(with("SLURM_SCRIPT_CONTEXT", "epilog_slurmd")))
	require.NoError(t, err)
	require.Equal(t, modeEpilog, e.Mode)
	require.Equal(t, 0, e.ExitCode, "no SLURM_JOB_EXIT_CODE means 0")

	m := with("SLURM_SCRIPT_CONTEXT", "epilog_slurmd")
	m["SLURM_JOB_EXIT_CODE"] = "256"
	e, err = parseEnv(envOf(m))
	require.NoError(t, err)
	require.Equal(t, 256, e.ExitCode)
	m["SLURM_JOB_EXIT_CODE"] = "x"
	e, err = parseEnv(envOf(m))
	require.NoError(t, err, "a garbled exit code is not worth losing the epilog")
	require.Equal(t, -1, e.ExitCode)

	// Not an accel-data job: no paths, no error, even with no job id.
	e, err = parseEnv(envOf(map[string]string{"SLURM_SCRIPT_CONTEXT": "prolog_slurmd", "SPANK_ACCEL_DATA": " , "}))
	require.NoError(t, err)
	require.Empty(t, e.Paths)

	for name, m := range map[string]map[string]string{
		"no context":    with("SLURM_SCRIPT_CONTEXT", ""),
		"other context": with("SLURM_SCRIPT_CONTEXT", "prolog_slurmctld"),
		"no job id":     with("SLURM_JOB_ID", ""),
		"zero job id":   with("SLURM_JOB_ID", "0"),
		"job id text":   with("SLURM_JOB_ID", "12a"),
		"negative uid":  with("SLURM_JOB_UID", "-1"),
		"huge uid":      with("SLURM_JOB_UID", "99999999999"),
	} {
		_, err := parseEnv(envOf(m))
		require.Error(t, err, name)
	}
}

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/accel-data.conf"
	require.NoError(t, writeFile(conf, "# shared file\nSocket=/tmp/s.sock\nPrologWait=90s\nPollInterval=250ms\nWorkers=4\nPrologLog=/tmp/p.log\n"))
	o, err := parseOptions([]string{"--config", conf, "--prolog-wait", "2s"}, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, "/tmp/s.sock", o.socket)
	require.Equal(t, "2s", o.prologWait.String(), "the flag wins over the file")
	require.Equal(t, "250ms", o.pollInterval.String())
	require.Equal(t, "/tmp/p.log", o.prologLog)

	require.NoError(t, writeFile(conf, "PrologWiat=1s\n"))
	_, err = parseOptions([]string{"--config", conf}, envOf(nil))
	require.ErrorContains(t, err, "PrologWiat")

	_, err = parseOptions([]string{"--config", dir + "/missing.conf"}, envOf(nil))
	require.Error(t, err, "a named config file that is missing is an error")

	_, err = parseOptions([]string{"--config", "/dev/null", "--poll-interval", "0s"}, envOf(nil))
	require.ErrorContains(t, err, "poll-interval")
}

// The example configuration shipped in contrib/ must be valid for slurm-prolog.
func TestContribConfig(t *testing.T) {
	o, err := parseOptions([]string{"--config", "../../contrib/slurm.conf.d/accel-data.conf"}, envOf(nil))
	require.NoError(t, err)
	require.Equal(t, "5m0s", o.prologWait.String())
	require.Equal(t, "/run/warmupd/warmupd.sock", o.socket)
	require.Equal(t, "/var/log/slurm/accel-data-prolog.log", o.prologLog)
}

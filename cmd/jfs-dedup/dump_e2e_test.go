package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/dedup"
)

func TestScanFromDumpOnStdin(t *testing.T) {
	dump, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pkg/dedup/testdata/meta_dump.json"))
	require.NoError(t, err)
	cmd := exec.Command(testutil.Binary(t, "cmd/jfs-dedup"), "scan", "--from-dump", "-", "--json")
	cmd.Stdin = bytes.NewReader(dump)
	out, err := cmd.Output()
	require.NoError(t, err)
	var r dedup.Report
	require.NoError(t, json.Unmarshal(out, &r))
	require.Equal(t, "dump", r.Source)
	require.Len(t, r.Groups, 200)
	require.Equal(t, dedup.StateShared, r.Groups[0].State)

	text, stderr, code := run(t, nil, "scan", "--from-dump", filepath.Join(testutil.RepoRoot(t), "pkg/dedup/testdata/meta_dump.json"))
	require.Equal(t, 0, code, stderr)
	require.Contains(t, text, "already shared (equal JuiceFS slices): 2 files")
	require.Contains(t, text, "200 already-shared groups")
}

func TestScanOnJuiceFSAsksForSlices(t *testing.T) {
	v, dir := volume(t)
	b := data(9, 300_000)
	write(t, filepath.Join(dir, "orig"), b, 0o644)
	_, _, code := runCmd(t, v.Binary, "clone", filepath.Join(dir, "orig"), filepath.Join(dir, "clone"))
	require.Equal(t, 0, code)

	out, stderr, code := run(t, nil, "scan", "--json", "--juicefs", v.Binary, dir)
	require.Equal(t, 0, code, stderr)
	var r dedup.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Groups, 1)
	require.Equal(t, dedup.StateShared, r.Groups[0].State)
	require.Zero(t, r.HashedBytes, "files sharing their slices are not read")

	out, _, code = run(t, nil, "scan", "--json", "--no-slices", dir)
	require.Equal(t, 0, code)
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, dedup.StateDuplicate, r.Groups[0].State, "--no-slices compares the data")
}

func runCmd(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	require.NoError(t, err)
	return o.String(), e.String(), 0
}

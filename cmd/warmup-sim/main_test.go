package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/stretchr/testify/require"
)

func TestGenThenRun(t *testing.T) {
	bin := testutil.Binary(t, "cmd/warmup-sim")
	dir := t.TempDir()
	for _, name := range []string{"t.jsonl", "t.csv"} {
		trace := filepath.Join(dir, name)
		out, err := exec.Command(bin, "gen", "--jobs", "200", "--datasets", "30", "--seed", "4", "-o", trace).CombinedOutput()
		require.NoError(t, err, string(out))
		st, err := os.Stat(trace)
		require.NoError(t, err)
		require.Positive(t, st.Size())

		out, err = exec.Command(bin, "run", "--trace", trace, "--policy", "none,accel", "--cache-frac", "0.5").CombinedOutput()
		require.NoError(t, err, string(out))
		s := string(out)
		require.Contains(t, s, "200 jobs")
		require.Contains(t, s, "(50 %)")
		require.Contains(t, s, "BYTE HIT %")
		lines := strings.Split(strings.TrimSpace(s), "\n")
		require.Equal(t, "none", strings.Fields(lines[len(lines)-2])[0])
		require.Equal(t, "accel", strings.Fields(lines[len(lines)-1])[0])
	}
}

func TestRunErrorsSayWhatToDo(t *testing.T) {
	bin := testutil.Binary(t, "cmd/warmup-sim")
	out, err := exec.Command(bin, "run", "--trace", filepath.Join(t.TempDir(), "missing.jsonl")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "make one with `warmup-sim gen`")
	out, err = exec.Command(bin, "run", "--trace", "../../pkg/sim/testdata/ref-2k.jsonl", "--policy", "lru").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), `unknown policy "lru"`)
	out, err = exec.Command(bin, "run", "--trace", "../../pkg/sim/testdata/ref-2k.jsonl", "--release-at", "half").CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "use off, first-epoch or a ratio")
}

func TestRunStageInWithReleaseAt(t *testing.T) {
	bin := testutil.Binary(t, "cmd/warmup-sim")
	trace := filepath.Join(t.TempDir(), "t.jsonl")
	out, err := exec.Command(bin, "gen", "--jobs", "150", "--datasets", "20", "--seed", "2", "-o", trace).CombinedOutput()
	require.NoError(t, err, string(out))
	out, err = exec.Command(bin, "run", "--trace", trace, "--policy", "accel,stagein", "--release-at", "first-epoch").CombinedOutput()
	require.NoError(t, err, string(out))
	s := string(out)
	require.Contains(t, s, "release at first-epoch")
	require.Contains(t, s, "SLOW-READ GPU-H")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	st := strings.Fields(lines[len(lines)-1])
	require.Equal(t, "stagein", st[0])
	require.Equal(t, "0.0", st[2], "a stage-in holds no GPU")
}

func TestVersion(t *testing.T) {
	testutil.RequireVersion(t, testutil.Binary(t, "cmd/warmup-sim"), "warmup-sim")
}

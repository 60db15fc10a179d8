package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/dedup"
)

func data(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func write(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, mode))
	require.NoError(t, os.Chmod(p, mode))
}

// run runs the built jfs-dedup and returns stdout, stderr and the exit code.
func run(t *testing.T, cred *syscall.Credential, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testutil.Binary(t, "cmd/jfs-dedup"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return out.String(), errb.String(), code
}

func TestScanTextAndJSON(t *testing.T) {
	dir := t.TempDir()
	a := data(1, 200_000)
	write(t, filepath.Join(dir, "x/a"), a, 0o644)
	write(t, filepath.Join(dir, "y/a copy"), a, 0o644)
	write(t, filepath.Join(dir, "y/other"), data(2, 200_000), 0o644)

	out, stderr, code := run(t, nil, "scan", dir)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "duplicates: 2 files of 195.3 KiB (200000 bytes)")
	require.Contains(t, out, "  keep "+filepath.Join(dir, "x/a")+"\n")
	require.Contains(t, out, "  dup  "+filepath.Join(dir, "y/a copy")+"\n")
	require.Contains(t, out, "reclaimable by directory:\n")
	require.Contains(t, out, "reclaimable 195.3 KiB (200000 bytes)")
	require.NotContains(t, stderr, "\r", "no progress redraws when stderr is not a terminal")

	out, _, code = run(t, nil, "scan", "--json", dir)
	require.Equal(t, 0, code)
	var r dedup.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Groups, 1)
	require.EqualValues(t, 200_000, r.Reclaimable)
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"scan"},
		{"scan", "--bogus", "."},
		{"scan", "--mount", "/x", "."},
		{"apply"},
		{"apply", "--min-size", "lots", "r.json"},
		{"apply", "--min-size", "0", "r.json"},
		{"scan", "--memory-limit", "0", "."},
	} {
		_, stderr, code := run(t, nil, args...)
		require.Equal(t, int(exitUsage), code, "%v: %s", args, stderr)
		require.Contains(t, stderr, "jfs-dedup: ")
	}
}

func TestScanReportsUnreadableFilesAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	// let an unprivileged user reach the tree; root would read mode-000 files
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	a := data(3, 50_000)
	write(t, filepath.Join(dir, "ok1"), a, 0o644)
	write(t, filepath.Join(dir, "ok2"), a, 0o644)
	write(t, filepath.Join(dir, "secret"), a, 0o600)
	write(t, filepath.Join(dir, "closed/inside"), a, 0o644)
	require.NoError(t, os.Chmod(filepath.Join(dir, "closed"), 0o700))

	out, stderr, code := run(t, &syscall.Credential{Uid: 65534, Gid: 65534}, "scan", "--json", dir)
	require.Equal(t, int(exitPartial), code, stderr)
	var r dedup.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Len(t, r.Groups, 1)
	require.Len(t, r.Groups[0].Files, 2, "ok1 and ok2; secret could not be read")
	var bad []string
	for _, e := range r.Errors {
		bad = append(bad, filepath.Base(string(e.Path)))
		require.Contains(t, e.Error, "permission denied")
	}
	require.ElementsMatch(t, []string{"secret", "closed"}, bad)
}

// volume makes a stand-in JuiceFS volume with a data directory.
func volume(t *testing.T) (*testutil.Volume, string) {
	t.Setenv("FAKEJUICEFS_BANDWIDTH", "0")
	v := testutil.NewVolume(t)
	d := filepath.Join(v.Mount, "data")
	require.NoError(t, os.Mkdir(d, 0o755))
	return v, d
}

func scanToFile(t *testing.T, dir string) string {
	t.Helper()
	out, stderr, code := run(t, nil, "scan", "--json", dir)
	require.Equal(t, 0, code, stderr)
	rep := filepath.Join(t.TempDir(), "report.json")
	require.NoError(t, os.WriteFile(rep, []byte(out), 0o644))
	return rep
}

func TestApplyOnTheStandIn(t *testing.T) {
	v, dir := volume(t)
	big := data(4, 2<<20)
	write(t, filepath.Join(dir, "a/orig"), big, 0o644)
	write(t, filepath.Join(dir, "b/new\nline"), big, 0o640)
	write(t, filepath.Join(dir, "b/bad\xffname"), big, 0o644)
	write(t, filepath.Join(dir, "c/small1"), data(5, 4096), 0o644)
	write(t, filepath.Join(dir, "c/small2"), data(5, 4096), 0o644)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "a/orig"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
	rep := scanToFile(t, dir)

	out, stderr, code := run(t, nil, "apply", "--juicefs", v.Binary, rep)
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "replaced\t"+`"`+filepath.Join(dir, `b/new\nline`)+`"`)
	require.Contains(t, out, "replaced 2 duplicates (4.0 MiB), 0 already replaced, 0 skipped, 0 failed, 1 under 1.0 MiB left alone")
	for _, n := range []string{"b/new\nline", "b/bad\xffname"} {
		got, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		require.True(t, bytes.Equal(big, got))
	}
	fi, err := os.Stat(filepath.Join(dir, "b/new\nline"))
	require.NoError(t, err)
	require.EqualValues(t, 0o640, fi.Mode().Perm())

	out, _, code = run(t, nil, "apply", "--juicefs", v.Binary, rep)
	require.Equal(t, 0, code)
	require.Contains(t, out, "replaced 0 duplicates (0 B), 2 already replaced")
}

func TestApplyRefusesOffJuiceFS(t *testing.T) {
	dir := t.TempDir()
	big := data(6, 2<<20)
	write(t, filepath.Join(dir, "a"), big, 0o644)
	write(t, filepath.Join(dir, "b"), big, 0o644)
	rep := scanToFile(t, dir)
	out, stderr, code := run(t, nil, "apply", "--juicefs", "/bin/false", rep)
	require.Equal(t, int(exitNotJuiceFS), code, out+stderr)
	require.Contains(t, stderr, "is not on JuiceFS")
}

// TestApplySurvivesKill9 kills apply in the middle, checks that every file
// still reads back its original content, then lets a second run finish.
func TestApplySurvivesKill9(t *testing.T) {
	v, dir := volume(t)
	const groups, copies = 8, 6
	want := map[string][]byte{}
	for g := 0; g < groups; g++ {
		b := data(100+g, 1<<20+g)
		for c := 0; c < copies; c++ {
			p := filepath.Join(dir, fmt.Sprintf("g%d/c%d", g, c))
			write(t, p, b, 0o644)
			want[p] = b
		}
	}
	rep := scanToFile(t, dir)

	cmd := exec.Command(testutil.Binary(t, "cmd/jfs-dedup"), "apply", "--juicefs", v.Binary, rep)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(stdout)
	replaced := 0
	for sc.Scan() && replaced < 5 {
		if strings.HasPrefix(sc.Text(), "replaced\t") {
			replaced++
		}
	}
	require.Equal(t, 5, replaced, "apply printed its first replacements")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()

	for p, b := range want {
		got, err := os.ReadFile(p)
		require.NoError(t, err, "every file is readable after kill -9")
		require.True(t, bytes.Equal(b, got), "%s keeps its content", p)
	}

	out, stderr, code := run(t, nil, "apply", "--juicefs", v.Binary, rep)
	require.Equal(t, 0, code, stderr)
	var done, again int
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "replaced\t"):
			done++
		case strings.HasPrefix(l, "already-replaced\t"):
			again++
		case strings.HasPrefix(l, "skipped") || strings.HasPrefix(l, "failed"):
			t.Errorf("after a crash nothing should be skipped or fail: %q", l)
		}
	}
	t.Logf("after kill -9: %d already replaced, %d replaced by the second run", again, done)
	require.GreaterOrEqual(t, again, 5)
	require.Positive(t, done, "the kill came before the end")
	require.Equal(t, groups*(copies-1), done+again, out)
	for p, b := range want {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		require.True(t, bytes.Equal(b, got))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", "*"+dedup.TmpSuffix))
	require.Empty(t, left)
}

func TestVersion(t *testing.T) {
	testutil.RequireVersion(t, testutil.Binary(t, "cmd/jfs-dedup"), "jfs-dedup")
}

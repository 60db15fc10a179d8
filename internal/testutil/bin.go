// Package testutil builds the project's binaries for tests. Every test that
// runs a real process (warmupd, the JuiceFS stand-in, slurm-prolog) gets it
// from here, so each binary is built once per test process.
package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// RepoRoot returns the repository's top directory (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot find own source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds ./<pkg> (e.g. "cmd/warmupd", "test/fakejuicefs") once per test
// process and returns the path of the executable.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if dir == "" {
		removeStaleBinDirs()
		d := filepath.Join(os.TempDir(), fmt.Sprintf("accel-bin-%d", os.Getpid()))
		if err := os.RemoveAll(d); err != nil {
			t.Fatalf("testutil: %v", err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("testutil: %v", err)
		}
		// World-readable so tests can run the binaries as another uid.
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("testutil: %v", err)
		}
		dir = d
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./"+pkg)...)
	cmd.Dir = RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testutil: go build ./%s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// removeStaleBinDirs removes the binary directories of test processes that
// are gone (one directory per process: accel-bin-PID), so repeated test runs
// do not fill the temp directory.
func removeStaleBinDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), "accel-bin-*"))
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "accel-bin-"))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			_ = os.RemoveAll(m)
		}
	}
}

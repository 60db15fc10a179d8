// Package testutil builds the project's binaries for tests. Every test that
// runs a real process (warmupd, the JuiceFS stand-in, slurm-prolog) gets it
// from here, so each binary is built once per test process.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		d, err := os.MkdirTemp("", "accel-bin-")
		if err != nil {
			t.Fatalf("testutil: %v", err)
		}
		// World-readable so tests can run the binaries as another uid.
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("testutil: %v", err)
		}
		dir = d
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testutil: go build ./%s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

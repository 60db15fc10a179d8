package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// prologBinary builds this command once per test process. (It does not use
// internal/testutil so that these tests do not depend on the daemon helpers.)
func prologBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "slurm-prolog-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "slurm-prolog")
		buildOut, buildErr = exec.Command("go", "build", "-o", buildPath, ".").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/slurm-prolog: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		_ = os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

package main

import (
	"os"
	"testing"

	"github.com/accel-data/accel-data/internal/testutil"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// prologBinary builds this command once per test process.
func prologBinary(t *testing.T) string {
	t.Helper()
	return testutil.Binary(t, "cmd/slurm-prolog")
}

// hungDaemon is a socket that accepts and never answers (a hung warmupd).
func hungDaemon(t *testing.T) string { return testutil.HungDaemon(t) }

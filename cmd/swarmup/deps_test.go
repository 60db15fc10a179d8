package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDepsNoSQLite fails the build when swarmup links go-sqlite3: only
// warmupd may open the database (DESIGN.md decision 2).
func TestDepsNoSQLite(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/accel-data/accel-data/cmd/swarmup").CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/accel-data/accel-data/pkg/api", "the dependency list is real")
	for _, d := range deps {
		require.NotContains(t, d, "go-sqlite3", "swarmup must not link SQLite; it talks to warmupd through pkg/api")
		require.NotContains(t, d, "accel-data/pkg/queue", "swarmup must not import the store")
	}
}

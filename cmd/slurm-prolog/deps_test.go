package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDeps fences what slurm-prolog (run by slurmd for every job), accel-agent
// (on every compute node) and pkg/api (linked by every client) may link:
// never SQLite, which only warmupd opens.
func TestDeps(t *testing.T) {
	forbidden := []string{"github.com/mattn/go-sqlite3", "database/sql", "github.com/accel-data/accel-data/pkg/queue"}
	for _, pkg := range []string{"github.com/accel-data/accel-data/cmd/slurm-prolog", "github.com/accel-data/accel-data/pkg/api",
		"github.com/accel-data/accel-data/cmd/accel-agent"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		require.NoError(t, err, "go list -deps %s: %s", pkg, out)
		deps := strings.Fields(string(out))
		require.Contains(t, deps, pkg, "go list output must include the package itself")
		for _, f := range forbidden {
			require.NotContains(t, deps, f, "%s must not depend on %s", pkg, f)
		}
	}
}

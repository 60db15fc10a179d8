package main

import (
	"testing"

	"github.com/accel-data/accel-data/internal/testutil"
)

// TestDeps fences what slurm-prolog (run by slurmd for every job),
// accel-agent (on every compute node) and pkg/api (linked by every client) may
// link: never SQLite, which only warmupd opens, and for the prolog not the
// scheduler's planner or priority either.
func TestDeps(t *testing.T) {
	testutil.RequireNoDeps(t, "cmd/slurm-prolog", testutil.PrologForbidden...)
	testutil.RequireNoDeps(t, "pkg/api", testutil.ClientForbidden...)
	testutil.RequireNoDeps(t, "cmd/accel-agent", testutil.ClientForbidden...)
}

package main

import (
	"testing"

	"github.com/accel-data/accel-data/internal/testutil"
)

// TestDepsNoSQLite fails the build when swarmup links go-sqlite3 or the
// store: only warmupd may open the database (DESIGN.md decision 2).
func TestDepsNoSQLite(t *testing.T) {
	testutil.RequireNoDeps(t, "cmd/swarmup", testutil.ClientForbidden...)
}

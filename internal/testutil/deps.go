package testutil

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// Module is this repository's module path.
const Module = "github.com/accel-data/accel-data"

// ClientForbidden is the one dependency fence of every program that only
// talks to warmupd (slurm-prolog, swarmup, and pkg/api, which every client
// links): only warmupd opens the database (DESIGN.md decision 2).
var ClientForbidden = []string{"github.com/mattn/go-sqlite3", "database/sql", Module + "/pkg/queue"}

// PrologForbidden adds what slurm-prolog, run by slurmd for every job, must
// not link either: the scheduler's planner and priority (the prolog's own
// rule is pkg/prologwait, sizes are internal/bytesize).
var PrologForbidden = append(slices.Clip(ClientForbidden), Module+"/pkg/planner", Module+"/pkg/priority")

// RequireNoDeps fails the test when the package pkg (relative to the module,
// e.g. "cmd/slurm-prolog") links any of forbidden, naming the path that
// pulls it in.
func RequireNoDeps(t *testing.T, pkg string, forbidden ...string) {
	t.Helper()
	full := Module + "/" + pkg
	out, err := exec.Command("go", "list", "-deps", full).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v: %s", full, err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, full) {
		t.Fatalf("go list -deps %s does not list the package itself: %s", full, out)
	}
	for _, f := range forbidden {
		if slices.Contains(deps, f) {
			why, _ := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "-deps", full).Output()
			var via []string
			for _, l := range strings.Split(string(why), "\n") {
				if strings.Contains(l, " "+f+" ") || strings.HasSuffix(l, " "+f) {
					via = append(via, strings.SplitN(l, ":", 2)[0])
				}
			}
			t.Errorf("%s must not link %s (imported by %s)", pkg, f, strings.Join(via, ", "))
		}
	}
}

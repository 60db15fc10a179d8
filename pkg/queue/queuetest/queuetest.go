// Package queuetest opens real queue stores for the tests of the packages
// built on pkg/queue, and reads them back.
package queuetest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Open opens a store on a fresh file in t.TempDir, logging to the test, and
// closes it when the test ends.
func Open(t testing.TB) *queue.Store {
	t.Helper()
	return OpenFile(t, filepath.Join(t.TempDir(), "warmupd.db"))
}

// OpenFile is Open on the file at path. When the test ends the store is
// closed, and the file checked against the invariants below.
func OpenFile(t testing.TB, path string) *queue.Store {
	t.Helper()
	s, err := queue.Open(path, zerolog.New(zerolog.NewTestWriter(t)))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		requireInvariants(t, path)
	})
	return s
}

// invariants are queries that list what breaks a rule the store's
// look-ups rely on; every store a test leaves behind must list nothing.
var invariants = []struct {
	rule  string
	query string
	args  []any
}{{
	// The store finds a path's claims and links through the tasks of the
	// path and its ancestors (pkg/queue pathlinks.go).
	rule: "claims and job links must name the task of their path or of an ancestor",
	query: `SELECT 'claim ' || c.id || ' for ' || c.path || ' on the task of ' || d.path
		FROM claims c JOIN tasks t ON t.id = c.task_id JOIN datasets d ON d.id = t.dataset_id
		WHERE c.path != d.path AND d.path != '/' AND substr(c.path, 1, length(d.path) + 1) != d.path || '/'
	UNION ALL SELECT 'job link ' || jt.job_id || ' for ' || jt.path || ' on the task of ' || d.path
		FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id JOIN datasets d ON d.id = t.dataset_id
		WHERE jt.path != d.path AND d.path != '/' AND substr(jt.path, 1, length(d.path) + 1) != d.path || '/'`,
}, {
	// CheckCandidates walks only the datasets marked checkable, which the
	// schema's triggers keep (migration 0015); the states come from the API
	// here, so that the triggers' list is held to it.
	rule: "a dataset is checkable exactly when it has no task or a warm or partial one",
	query: `SELECT d.path || ' checkable ' || d.checkable || ', task ' || coalesce(t.state, 'none')
		FROM datasets d LEFT JOIN tasks t ON t.dataset_id = d.id
		WHERE d.checkable != (t.id IS NULL OR t.state IN (?, ?))`,
	args: []any{string(api.TaskWarm), string(api.TaskPartial)},
}}

// requireInvariants fails the test when the closed store at path breaks
// one of the invariants. A file that cannot be read that way is not
// checked: a test damaged it on purpose, or took it back to an older
// schema (no such table or column); any other error fails the test, so
// that a check that no longer runs is seen.
func requireInvariants(t testing.TB, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return
	}
	defer db.Close()
	if ok := ""; db.QueryRow(`PRAGMA quick_check`).Scan(&ok) != nil || ok != "ok" {
		return // damaged on purpose
	}
	for _, inv := range invariants {
		broken, err := Column(db, inv.query, inv.args...)
		if err != nil && (strings.Contains(err.Error(), "no such column") || strings.Contains(err.Error(), "no such table")) {
			continue
		}
		require.NoError(t, err, "the store's invariant %q", inv.rule)
		require.Empty(t, broken, inv.rule)
	}
}

// Column returns the first column of every row q returns, as text.
func Column(db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Entry is task id's row in the queue listing (terminal tasks included); it
// fails the test when the task is not listed.
func Entry(t testing.TB, s *queue.Store, id int64) api.QueueEntry {
	t.Helper()
	es, err := s.Queue(context.Background(), true)
	require.NoError(t, err)
	for _, e := range es {
		if e.TaskID == id {
			return e
		}
	}
	t.Fatalf("task %d not in the queue listing", id)
	return api.QueueEntry{}
}

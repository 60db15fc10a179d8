package queue

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
)

// queryPlan is SQLite's plan of query on the store's readers, one line a
// step (EXPLAIN QUERY PLAN's detail column). Its wording is SQLite's, which
// may change between releases: the tests below match it for the SQLite
// that go-sqlite3 (go.mod) builds in. The store never runs ANALYZE, so a
// plan does not depend on the rows.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	plan, err := readAll(rows, err, func(rows *sql.Rows, detail *string) error {
		var id, parent, unused int
		return rows.Scan(&id, &parent, &unused, detail)
	})
	require.NoError(t, err)
	return plan
}

// seedPaths seeds n datasets /jfs/dsNNNNN with tasks in state and returns
// their paths.
func seedPaths(t *testing.T, s *Store, n int, state api.TaskState, now time.Time) []string {
	t.Helper()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = fmt.Sprintf("/jfs/ds%05d", i)
	}
	require.NoError(t, s.SeedDatasets(context.Background(), paths, state, now))
	return paths
}

// The stale list, which the cache manager's Refresh reads every second,
// walks the few stale datasets by index datasets_stale, not every warm task
// with a lookup of its dataset each (one 100 000-dataset store: 52 ms a
// call that way, 0.1 ms this way), and still finds them, oldest event
// first.
func TestStaleCandidatesWalkTheStaleIndex(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	paths := seedPaths(t, s, 300, api.TaskWarm, now)
	marked, err := s.MarkStale(ctx, api.StaleChangelog, []StaleMark{
		{Path: paths[7], At: now.Add(-time.Minute)}, {Path: paths[299], At: now.Add(-2 * time.Minute)},
	}, now)
	require.NoError(t, err)
	require.Len(t, marked, 2)

	plan := queryPlan(t, s, candidatesQuery(staleWhere), string(api.TaskWarm), string(api.TaskPartial), 64)
	require.NotEmpty(t, plan)
	require.True(t, strings.HasPrefix(plan[0], "SEARCH d USING INDEX datasets_stale"), "plan %q", plan)
	require.Contains(t, strings.Join(plan, "\n"), "(dataset_id=?)", "plan %q: the task by its dataset", plan)
	for _, step := range plan {
		require.False(t, strings.HasPrefix(step, "SCAN"), "plan %q scans a table", plan)
		require.NotContains(t, step, "(state=?)", "plan %q walks the tasks by state", plan)
	}

	got, err := s.StaleCandidates(ctx, 64)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, paths[299], got[0].Path, "oldest event first")
	require.Equal(t, paths[7], got[1].Path)
}

// The re-check's list, read every second, walks index datasets_checkable:
// only datasets it may check, oldest check first. Datasets it skips (here
// 2 000 evicted, checked before the warm ones) are not in that index; under
// datasets_checked every call walked them all, and every dataset ever
// evicted stays one of them.
func TestCheckCandidatesWalkTheCheckableIndex(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	evicted := seedPaths(t, s, 2000, api.TaskEvicted, now)
	warm := make([]string, 3)
	for i := range warm {
		warm[i] = fmt.Sprintf("/jfs/warm%d", i)
	}
	require.NoError(t, s.SeedDatasets(ctx, warm, api.TaskWarm, now))
	for i, p := range append(evicted, warm...) { // the evicted ones checked first
		require.NoError(t, s.RecordCheck(ctx, p, Check{Bytes: 1}, now.Add(time.Duration(i)*time.Second)))
	}

	plan := queryPlan(t, s, candidatesQuery(checkWhere), string(api.TaskWarm), string(api.TaskPartial), 64)
	require.NotEmpty(t, plan)
	require.True(t, strings.HasPrefix(plan[0], "SEARCH d USING INDEX datasets_checkable") ||
		strings.HasPrefix(plan[0], "SCAN d USING INDEX datasets_checkable"), "plan %q", plan)
	for _, step := range plan {
		require.NotContains(t, step, "TEMP B-TREE", "plan %q sorts", plan)
	}
	var steps int64
	require.NoError(t, s.r.QueryRowContext(ctx, `SELECT count(*) FROM datasets INDEXED BY datasets_checkable WHERE checkable`).Scan(&steps))
	require.Equal(t, int64(3), steps, "the index holds the warm datasets only")

	got, err := s.CheckCandidates(ctx, 64)
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, warm[0], got[0].Path, "oldest check first")
}

// The metrics' largest datasets, read at every scrape, come off index
// datasets_largest in order, with no sort of every dataset; datasets never
// sized come after them, by path, off the index of paths.
func TestTopDatasetsWalkTheLargestIndex(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	paths := seedPaths(t, s, 300, api.TaskWarm, now)
	for i, p := range paths[:30] {
		require.NoError(t, s.RecordCheck(ctx, p, Check{Bytes: int64(i+1) << 20, CachedBytes: 1 << 20, Ratio: 0.5}, now))
	}
	plan := queryPlan(t, s, topDatasetsSQL, 20)
	require.Len(t, plan, 1, "plan %q", plan)
	require.True(t, strings.HasPrefix(plan[0], "SEARCH datasets USING INDEX datasets_largest"), "plan %q", plan)
	plan = queryPlan(t, s, unsizedSQL, 20)
	require.Len(t, plan, 1, "plan %q", plan)
	require.Contains(t, plan[0], "USING INDEX sqlite_autoindex_datasets", "plan %q: the paths in order", plan)

	got, err := s.TopDatasets(ctx, 20)
	require.NoError(t, err)
	require.Len(t, got, 20)
	require.Equal(t, paths[29], got[0].Path, "the largest first")
	require.Equal(t, int64(30)<<20, got[0].Bytes)
	got, err = s.TopDatasets(ctx, 32)
	require.NoError(t, err)
	require.Len(t, got, 32)
	require.Equal(t, paths[0], got[29].Path, "the smallest sized one")
	require.Equal(t, []string{paths[30], paths[31]}, []string{got[30].Path, got[31].Path}, "then the unsized ones, by path")
}

// A restricted dequeue looks each of the planner's ids up, and never walks
// the queue by priority (all of it when none of them is queued any more);
// an unrestricted one takes the head of the queue off its index.
func TestDequeuePlans(t *testing.T) {
	s := openTemp(t)
	args := []any{string(api.TaskWarming), "w", 1, 1, string(api.TaskQueued), "[1,2,3]"}
	plan := queryPlan(t, s, dequeueOnlySQL, args...)
	require.Contains(t, strings.Join(plan, "\n"), "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)", "plan %q", plan)
	for _, step := range plan {
		require.NotContains(t, step, "tasks_dequeue", "plan %q walks the queue", plan)
	}
	require.Contains(t, strings.Join(queryPlan(t, s, dequeueAnySQL, args[:5]...), "\n"),
		"tasks_dequeue", "an unrestricted dequeue takes the head of the queue off its index")
}

// A restricted dequeue takes the allowed queued tasks best first: the
// highest priority, then the oldest; never one outside the list, nor one
// whose not_before is still to come.
func TestDequeueOnlyTakesTheBestAllowed(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	now := time.Now()
	paths := seedPaths(t, s, 20, api.TaskQueued, now)
	ids, err := queryIDs(ctx, s.r, `SELECT id FROM tasks ORDER BY id`)
	require.NoError(t, err)
	require.Len(t, ids, len(paths))
	require.NoError(t, s.withWriter(func(c *sql.Conn) error {
		for _, q := range []struct {
			sql string
			id  int64
		}{
			{`UPDATE tasks SET priority = 5 WHERE id = ?`, ids[9]},
			{`UPDATE tasks SET created_at = created_at - 1000 WHERE id = ?`, ids[7]},
			{fmt.Sprintf(`UPDATE tasks SET not_before = %d WHERE id = ?`, ns(now.Add(time.Hour))), ids[2]},
		} {
			if _, err := c.ExecContext(ctx, q.sql, q.id); err != nil {
				return err
			}
		}
		return nil
	}))
	allowed := []int64{ids[5], ids[2], ids[9], ids[7], ids[5]}
	for _, want := range []int64{ids[9], ids[7], ids[5], 0} {
		task, err := s.DequeueOnly(ctx, "w", now.Add(time.Second), time.Minute, allowed)
		require.NoError(t, err)
		if want == 0 {
			require.Nil(t, task, "ids[2] waits for its not_before; ids[0], the head of the queue, is not allowed")
			continue
		}
		require.NotNil(t, task)
		require.Equal(t, want, task.ID)
	}
}

// A stale mark looks up its one dataset by path and that dataset's task,
// not a list of every warm dataset (20 ms a mark on 100 000 of them, in the
// writer).
func TestMarkStaleLooksUpOneDataset(t *testing.T) {
	s := openTemp(t)
	plan := queryPlan(t, s, markStaleSQL, 1, "changelog", "", "/jfs/a", string(api.TaskWarm), string(api.TaskWarming))
	joined := strings.Join(plan, "\n")
	require.Contains(t, joined, "SEARCH datasets USING INDEX", "plan %q", plan)
	require.Contains(t, joined, "(dataset_id=?)", "plan %q: the task by its dataset", plan)
	for _, step := range plan {
		require.NotContains(t, step, "(state=?)", "plan %q lists the tasks by state", plan)
		require.False(t, strings.HasPrefix(step, "SCAN"), "plan %q scans a table", plan)
	}
}

// The pruning of ended jobs finds them by index jobs_ended (the time they
// ended), not by walking every ended job (a month of them on a busy
// cluster, every hour).
func TestPruneJobsPlan(t *testing.T) {
	s := openTemp(t)
	plan := strings.Join(queryPlan(t, s, pruneJobsSQL, time.Now().UnixNano(), pruneBatch), "\n")
	require.Contains(t, plan, "INDEX jobs_ended (ended_at<?)", "plan %q", plan)
}

// The statements over one path's job links and claims, which run in the
// writer each time a check finds a dataset short, read them through indexes
// (the live jobs, the path's lineage of tasks): never a scan of job_tasks or
// claims, which hold the whole history (100 000 ended jobs: 18-37 ms a
// statement that way, under 1 ms this way with 2 000 live jobs).
func TestPathLinkPlans(t *testing.T) {
	s := openTemp(t)
	args := append(pathLinkArgs("/jfs/a/b"), int64(7))
	stmts := map[string]int{wantedNowSQL: 4, moveLiveLinksSQL: 5, moveClaimsSQL: 5}
	for _, q := range neederSQL {
		stmts[q.sql] = q.nargs
	}
	for q, n := range stmts {
		plan := queryPlan(t, s, q, args[:n]...)
		require.NotEmpty(t, plan)
		for _, step := range plan {
			scan := strings.HasPrefix(step, "SCAN") && step != "SCAN CONSTANT ROW" && !strings.HasPrefix(step, "SCAN l VIRTUAL TABLE")
			require.False(t, scan, "%s\nplan %q scans a table", q, plan)
		}
		require.Regexp(t, `USING (COVERING )?INDEX (claims_task|sqlite_autoindex_job_tasks_1|job_tasks_task) \((job_id|task_id)=\?`,
			strings.Join(plan, "\n"), "%s: links and claims by job or task", q)
	}
}

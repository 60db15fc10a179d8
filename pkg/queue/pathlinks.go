package queue

import (
	"encoding/hex"
	"encoding/json"

	"github.com/accel-data/accel-data/pkg/api"
)

// The job links (job_tasks) and claims of one path. Neither table has an
// index on path: one would cost every submission an index insert, and a
// scan costs the whole history (100 000 ended jobs: 18-37 ms a statement,
// in the writer, each time a check finds a dataset short). They are found
// through what is indexed instead, so that the cost follows the live jobs
// and the path's depth, not the history:
//   - liveLinksSQL, the links to the path of the jobs that have not ended:
//     those jobs by index jobs_state, each with its link by job_tasks'
//     primary key (job_id, path);
//   - lineageTasksSQL, the tasks of the path and of its ancestors: a claim
//     or a link names the task of its own path or of the ancestor that
//     covers or absorbed it (submitPath, absorbQueuedDescendants, restore
//     and requeueTx keep it so), and claims_task (task_id, path) and
//     job_tasks_task (task_id, job_id) find them by task.
//
// Both take pathLinkArgs: ?1 the path, ?2 and ?3 the states of a job that
// has not ended, ?4 the path and its ancestors as a JSON array of their
// bytes in hex (a path need not be UTF-8, and JSON would change what is
// not).
const (
	liveLinksSQL = `jobs j JOIN job_tasks jt ON jt.job_id = j.id AND jt.path = ?1 WHERE j.state IN (?2, ?3)`

	lineageTasksSQL = `SELECT lt.id FROM json_each(?4) l JOIN datasets ld ON ld.path = CAST(unhex(l.value) AS TEXT)
		JOIN tasks lt ON lt.dataset_id = ld.id`
)

// pathLinkArgs are the arguments of liveLinksSQL and lineageTasksSQL.
func pathLinkArgs(pth string) []any {
	lineage := append([]string{pth}, parents(pth)...)
	for i, p := range lineage {
		lineage[i] = hex.EncodeToString([]byte(p))
	}
	b, _ := json.Marshal(lineage) // hex strings always marshal
	return []any{pth, string(api.JobSubmitted), string(api.JobStarted), string(b)}
}

// The statements over a path's links and claims (recheck.go).
var (
	// wantedNowSQL: see wantedNowTx.
	wantedNowSQL = `SELECT EXISTS (SELECT 1 FROM ` + liveLinksSQL + `)
		OR EXISTS (SELECT 1 FROM claims c JOIN tasks t ON t.id = c.task_id WHERE c.task_id IN (` + lineageTasksSQL + `)
			AND c.path = ?1 AND c.job_id IS NULL AND (t.finished_at IS NULL OR c.created_at > t.finished_at))`
	// moveLiveLinksSQL and moveClaimsSQL point the live jobs' links and
	// the claims of the path at task ?5 (requeueTx).
	moveLiveLinksSQL = `UPDATE job_tasks SET task_id = ?5 WHERE task_id != ?5 AND (job_id, path) IN (
			SELECT jt.job_id, jt.path FROM ` + liveLinksSQL + `)`
	moveClaimsSQL = `UPDATE claims SET task_id = ?5 WHERE task_id IN (` + lineageTasksSQL + `)
			AND path = ?1 AND task_id != ?5`
	// neederSQL are neederTx's questions in turn, each with the number of
	// pathLinkArgs it takes.
	neederSQL = []struct {
		sql   string
		nargs int
	}{
		{`SELECT CASE j.state WHEN ?3 THEN '` + string(api.SourceProlog) + `' ELSE '` + string(api.SourceSubmit) + `' END, j.uid
			FROM ` + liveLinksSQL + ` ORDER BY j.id LIMIT 1`, 3},
		{`SELECT c.source, c.uid FROM claims c WHERE c.task_id IN (` + lineageTasksSQL + `) AND c.path = ?1 AND c.job_id IS NULL
			ORDER BY c.id LIMIT 1`, 4},
		{`SELECT t.source, t.owner_uid FROM job_tasks jt JOIN tasks t ON t.id = jt.task_id
			WHERE jt.task_id IN (` + lineageTasksSQL + `) AND jt.path = ?1 ORDER BY jt.job_id DESC LIMIT 1`, 4},
	}
)

-- 0005_claims: who wants each task. A claim is one request (a person's
-- `swarmup warm`, the SPANK plugin's submission, a prolog, the daemon's active
-- policy) wanting a task for the path it asked for: the task's own dataset,
-- or a path below it (covered, or absorbed from a queued child). A task lives
-- while it has a live claim: one without a job, or whose job has not ended.
-- A user's cancel withdraws (deletes) only that user's claims; absorbing a
-- child moves its claims to the parent, keeping the path, so cancelling the
-- parent can give the child its task back. Claims of a task's earlier life
-- are dropped when a new request revives it.
CREATE TABLE claims (
  id         INTEGER PRIMARY KEY,
  task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  path       TEXT    NOT NULL CHECK (path LIKE '/%'), -- the path as requested (canonical)
  uid        INTEGER NOT NULL CHECK (uid >= 0),       -- whose claim: the requester, or the job's user
  source     TEXT    NOT NULL CHECK (source IN ('submit', 'prolog', 'manual', 'active')),
  job_id     INTEGER REFERENCES jobs (id) ON DELETE CASCADE, -- internal jobs.id when a job wants it
  request_id INTEGER REFERENCES requests (id) ON DELETE SET NULL,
  created_at INTEGER NOT NULL,
  CHECK (source != 'active' OR uid = 0)
) STRICT;

CREATE INDEX claims_task ON claims (task_id, path);
CREATE INDEX claims_job ON claims (job_id) WHERE job_id IS NOT NULL;

-- Tasks still queued or warming keep the claims they had before this
-- migration: their first requester's (manual or active) and their live jobs'.
INSERT INTO claims (task_id, path, uid, source, created_at)
  SELECT t.id, d.path, t.owner_uid, t.source, t.created_at FROM tasks t JOIN datasets d ON d.id = t.dataset_id
  WHERE t.state IN ('queued', 'warming') AND t.source IN ('manual', 'active');
INSERT INTO claims (task_id, path, uid, source, job_id, created_at)
  SELECT jt.task_id, jt.path, j.uid, 'submit', j.id, j.submitted_at FROM job_tasks jt
  JOIN jobs j ON j.id = jt.job_id JOIN tasks t ON t.id = jt.task_id
  WHERE t.state IN ('queued', 'warming') AND j.state != 'ended';

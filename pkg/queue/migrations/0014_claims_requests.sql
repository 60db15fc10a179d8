-- 0014_claims_requests: the requests log is pruned with the rest of the history (PruneHistory,
-- --history-retention). claims.request_id loses its foreign key: with it, deleting one request
-- made SQLite scan every claim for rows naming it (request_id has no index, and one would cost
-- every submission). The column stays as each claim's note of the request that made it
-- (requests.id); that row is gone once it is older than the retention.
CREATE TABLE claims_new (
  id         INTEGER PRIMARY KEY,
  task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  path       TEXT    NOT NULL CHECK (path LIKE '/%'), -- the path as requested (canonical)
  uid        INTEGER NOT NULL CHECK (uid >= 0),       -- whose claim: the requester, or the job's user
  source     TEXT    NOT NULL CHECK (source IN ('submit', 'prolog', 'manual', 'active')),
  job_id     INTEGER REFERENCES jobs (id) ON DELETE CASCADE, -- internal jobs.id when a job wants it
  request_id INTEGER,                                 -- requests.id (pruned after the retention)
  created_at INTEGER NOT NULL,
  CHECK (source != 'active' OR uid = 0)
) STRICT;
-- A claim whose task or job is gone (a hand edit made with foreign keys off) is not copied:
-- it would fail the copy, and warmupd would not start.
INSERT INTO claims_new (id, task_id, path, uid, source, job_id, request_id, created_at)
  SELECT id, task_id, path, uid, source, job_id, request_id, created_at FROM claims
  WHERE task_id IN (SELECT id FROM tasks) AND (job_id IS NULL OR job_id IN (SELECT id FROM jobs));
DROP TABLE claims;
ALTER TABLE claims_new RENAME TO claims;
CREATE INDEX claims_task ON claims (task_id, path);
CREATE INDEX claims_job ON claims (job_id) WHERE job_id IS NOT NULL;

-- 0001_init: the warmupd store. Times are unix nanoseconds (INTEGER), NULL when unset.
-- The CHECK lists must equal the constants of pkg/api (api.TaskState, api.JobState,
-- api.Source); schema_test.go fails when they drift apart.

-- datasets is the cache status table: one row per canonical dataset path.
CREATE TABLE datasets (
  id           INTEGER PRIMARY KEY,
  path         TEXT    NOT NULL UNIQUE CHECK (path LIKE '/%'),
  bytes        INTEGER NOT NULL DEFAULT 0,
  files        INTEGER NOT NULL DEFAULT 0,
  cached_bytes INTEGER NOT NULL DEFAULT 0,
  cached_ratio REAL    NOT NULL DEFAULT 0,
  checked_at   INTEGER,
  last_used_at INTEGER,
  use_score    REAL    NOT NULL DEFAULT 0, -- exponentially decayed count of job starts
  created_at   INTEGER NOT NULL
) STRICT;

-- tasks holds the one warm-up task of a dataset (revived in place when asked again).
CREATE TABLE tasks (
  id               INTEGER PRIMARY KEY,
  dataset_id       INTEGER NOT NULL UNIQUE REFERENCES datasets (id) ON DELETE CASCADE,
  state            TEXT    NOT NULL CHECK (state IN ('queued', 'warming', 'warm', 'partial', 'failed', 'cancelled', 'evicted')),
  priority         REAL    NOT NULL DEFAULT 0,
  attempts         INTEGER NOT NULL DEFAULT 0,
  -- max_attempts is historical: nothing reads it. The retry decision has one
  -- owner, the scheduler's retry policy (internal/retry, --retries); the store
  -- records the outcome it is told. Kept so existing databases need no rebuild.
  max_attempts     INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  not_before       INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  source           TEXT    NOT NULL CHECK (source IN ('submit', 'prolog', 'manual', 'active')),
  owner_uid        INTEGER NOT NULL,
  reason           TEXT    NOT NULL DEFAULT '',
  last_error       TEXT    NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  CHECK ((state = 'warming') = (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
) STRICT;

-- Dequeue: queued tasks by priority then age (not_before included so tasks in
-- retry backoff are skipped without reading the table); expired leases of warming tasks.
CREATE INDEX tasks_dequeue ON tasks (state, priority DESC, created_at, id, not_before);
CREATE INDEX tasks_lease ON tasks (state, lease_expires_at);

-- attempts records every time a worker took a task.
CREATE TABLE attempts (
  task_id      INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  n            INTEGER NOT NULL, -- 1, 2, 3… over the task's whole life (revivals continue the count)
  owner        TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  outcome      TEXT CHECK (outcome IN ('queued', 'warming', 'warm', 'partial', 'failed', 'cancelled', 'evicted')),
  cached_ratio REAL,
  error        TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, n)
) STRICT;

-- requests is the audit log of every submission, as received.
CREATE TABLE requests (
  id         INTEGER PRIMARY KEY,
  uid        INTEGER NOT NULL,
  gid        INTEGER NOT NULL,
  token      TEXT    NOT NULL DEFAULT '',
  job_id     INTEGER,          -- Slurm job id, NULL when unknown
  source     TEXT    NOT NULL CHECK (source IN ('submit', 'prolog', 'manual', 'active')),
  paths      TEXT    NOT NULL CHECK (json_valid(paths)),
  created_at INTEGER NOT NULL
) STRICT;

-- jobs are Slurm jobs that named datasets; token binds the sbatch-time request to the job id.
CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY,
  job_id       INTEGER UNIQUE,
  token        TEXT    UNIQUE,
  uid          INTEGER NOT NULL,
  state        TEXT    NOT NULL CHECK (state IN ('submitted', 'started', 'ended')),
  node         TEXT    NOT NULL DEFAULT '',
  submitted_at INTEGER NOT NULL,
  started_at   INTEGER,
  ended_at     INTEGER,
  exit_code    INTEGER,
  reason       TEXT    NOT NULL DEFAULT ''
) STRICT;

-- job_tasks links a job's requested path to the task that covers it.
CREATE TABLE job_tasks (
  job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  path    TEXT    NOT NULL,
  PRIMARY KEY (job_id, path)
) STRICT;

CREATE INDEX job_tasks_task ON job_tasks (task_id, job_id);

-- 0011_shard_arrays: warm-ups whose shards run as a Slurm job array (internal/scheduler
-- arrays.go), kept so that a restarted warmupd follows the array it had submitted instead of
-- warming the dataset again or leaving the array running unreported. One row per array while
-- warmupd follows it (deleted when the warm-up's shards are all done or it gives the array
-- up), one row per shard. Shard states are api.ShardStates.
CREATE TABLE shard_arrays (
  run        TEXT    PRIMARY KEY,                                    -- the run's name: its spool directory's
  task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  job_id     TEXT    NOT NULL,                                       -- the array's Slurm job id
  spool      TEXT    NOT NULL,                                       -- the run's spool directory (shard lists)
  files      INTEGER NOT NULL CHECK (files >= 0),
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX shard_arrays_task ON shard_arrays (task_id);

CREATE TABLE array_shards (
  run        TEXT    NOT NULL REFERENCES shard_arrays (run) ON DELETE CASCADE,
  idx        INTEGER NOT NULL CHECK (idx >= 0),                      -- SLURM_ARRAY_TASK_ID; its list is shard-IDX
  bytes      INTEGER NOT NULL CHECK (bytes >= 0),
  state      TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'failed', 'local', 'done')),
  job_id     TEXT    NOT NULL,                                       -- the Slurm job (array) it runs in now
  attempts   INTEGER NOT NULL CHECK (attempts >= 1),                 -- submissions so far
  node       TEXT    NOT NULL DEFAULT '',                            -- the node that runs or warmed it
  error      TEXT    NOT NULL DEFAULT '',                            -- why it failed last
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (run, idx)
) STRICT;

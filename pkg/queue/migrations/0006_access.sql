-- 0006_access: what jobs really read, from accel-agent's reports (POST
-- /v1/access). Agents send deltas; these tables add them up.

-- job_node_io: one job on one node. The cache counters are the node mount's
-- .stats deltas over the job's time there (shared with jobs running on the
-- node at the same time).
CREATE TABLE job_node_io (
  job_id     INTEGER NOT NULL CHECK (job_id > 0), -- Slurm job id
  node       TEXT    NOT NULL,
  bytes      INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  files      INTEGER NOT NULL DEFAULT 0 CHECK (files >= 0),
  hit_bytes  INTEGER NOT NULL DEFAULT 0 CHECK (hit_bytes >= 0),
  miss_bytes INTEGER NOT NULL DEFAULT 0 CHECK (miss_bytes >= 0),
  get_bytes  INTEGER NOT NULL DEFAULT 0 CHECK (get_bytes >= 0),
  final      INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)), -- the job's last process on the node ended
  first_at   INTEGER,
  last_at    INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, node)
) STRICT;

-- job_path_io: one job's reads under one subpath of a dataset on one node.
CREATE TABLE job_path_io (
  job_id         INTEGER NOT NULL CHECK (job_id > 0),
  node           TEXT    NOT NULL,
  dataset        TEXT    NOT NULL CHECK (dataset LIKE '/%'),
  subpath        TEXT    NOT NULL,
  bytes          INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  distinct_bytes INTEGER NOT NULL DEFAULT 0 CHECK (distinct_bytes >= 0),
  files          INTEGER NOT NULL DEFAULT 0 CHECK (files >= 0),
  first_at       INTEGER,
  last_at        INTEGER,
  PRIMARY KEY (job_id, node, dataset, subpath)
) STRICT;

CREATE INDEX job_path_io_dataset ON job_path_io (dataset, subpath);
-- Reports older than AccessRetention are pruned (per-job detail only; the
-- decayed per-dataset history stays).
CREATE INDEX job_node_io_updated ON job_node_io (updated_at);

-- access_paths: per dataset × subpath, over all jobs, decayed with the
-- datasets' use half-life (UseHalfLife) from decayed_at: bytes read and the
-- largest distinct bytes one job read there (so density does not grow with
-- the number of jobs reading the same files).
CREATE TABLE access_paths (
  dataset        TEXT    NOT NULL CHECK (dataset LIKE '/%'),
  subpath        TEXT    NOT NULL,
  bytes          REAL    NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  distinct_bytes REAL    NOT NULL DEFAULT 0 CHECK (distinct_bytes >= 0),
  files          REAL    NOT NULL DEFAULT 0 CHECK (files >= 0),
  last_seen      INTEGER NOT NULL,
  decayed_at     INTEGER NOT NULL,
  PRIMARY KEY (dataset, subpath)
) STRICT;

-- access_datasets: per dataset, decayed hit and miss bytes (a job's cache
-- counters shared among the datasets it read, in proportion to the bytes).
CREATE TABLE access_datasets (
  dataset    TEXT    PRIMARY KEY CHECK (dataset LIKE '/%'),
  hit_bytes  REAL    NOT NULL DEFAULT 0 CHECK (hit_bytes >= 0),
  miss_bytes REAL    NOT NULL DEFAULT 0 CHECK (miss_bytes >= 0),
  last_seen  INTEGER NOT NULL,
  decayed_at INTEGER NOT NULL
) STRICT;

-- node_mounts: the last mount configuration each node's agent reported.
CREATE TABLE node_mounts (
  node                TEXT    NOT NULL,
  mount               TEXT    NOT NULL,
  fstype              TEXT    NOT NULL DEFAULT '',
  volume              TEXT    NOT NULL DEFAULT '',
  cache_dir           TEXT    NOT NULL DEFAULT '',
  cache_size          INTEGER NOT NULL DEFAULT 0,
  cache_eviction      TEXT    NOT NULL DEFAULT '',
  cache_scan_interval REAL    NOT NULL DEFAULT 0, -- seconds; -1: never scans (a shared cache works)
  free_space_ratio    REAL    NOT NULL DEFAULT 0,
  cache_free_bytes    INTEGER NOT NULL DEFAULT 0,
  version             TEXT    NOT NULL DEFAULT '',
  lines               INTEGER NOT NULL DEFAULT 0, -- access-log lines the agent read, in total
  dropped             INTEGER NOT NULL DEFAULT 0, -- lines proven lost (a lower bound), in total
  unattributed_bytes  INTEGER NOT NULL DEFAULT 0,
  unresolved_bytes    INTEGER NOT NULL DEFAULT 0,
  reports_dropped     INTEGER NOT NULL DEFAULT 0,
  reported_at         INTEGER NOT NULL,
  PRIMARY KEY (node, mount)
) STRICT;

-- Narrowed warm-ups: when the subdirectories jobs read were verified warm
-- during the task's current attempt (the rest of the dataset still warming).
-- Honoured only while the task is warming and not before its started_at, so
-- a value from an earlier attempt or life never counts.
ALTER TABLE tasks ADD COLUMN hot_ready_at INTEGER;

-- 0002_queued_at: when the current run of a task was queued (Submit or revival;
-- retries keep it), so the planner can age tasks fairly and prevent starvation;
-- and an index for the cache manager's "least recently checked first" refresh.
ALTER TABLE tasks ADD COLUMN queued_at INTEGER;
UPDATE tasks SET queued_at = created_at;
CREATE INDEX datasets_checked ON datasets (checked_at, id);

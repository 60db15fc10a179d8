-- 0013_jobs_ended: the pruning of the history (PruneHistory, --history-retention).
-- jobs_ended: ended jobs by the time they ended. Partial: a submission or a job start adds
-- nothing to it.
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE state = 'ended';
-- token_seen_at: when squeue last listed a job with the token of this ended job. The tasks of
-- an array job share the sbatch token of the first one's row, and each later task is linked to
-- the datasets from it, so that row stays while Slurm still lists the token, however long ago
-- it ended.
ALTER TABLE jobs ADD COLUMN token_seen_at INTEGER;

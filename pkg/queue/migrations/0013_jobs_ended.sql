-- 0013_jobs_ended: ended jobs by the time they ended, for the pruning of the history
-- (PruneHistory, --history-retention). Partial: a submission or a job start adds nothing to it.
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE state = 'ended';

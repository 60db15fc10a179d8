-- 0004_jobs_expected_start: when Slurm expects a pending job to start (from
-- `squeue --json` start_time, mapped by the token job_submit.lua puts in the
-- job's admin comment); NULL when unknown.
ALTER TABLE jobs ADD COLUMN expected_start INTEGER;

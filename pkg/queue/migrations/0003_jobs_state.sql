-- 0003_jobs_state: listings count the submitted and started jobs per task;
-- ended jobs pile up over time, so find the live ones through an index.
CREATE INDEX jobs_state ON jobs (state, id);

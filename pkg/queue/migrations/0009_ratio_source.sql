-- 0009_ratio_source: how each dataset's cached ratio was obtained (api.RatioMethods):
-- walked (a full `juicefs warmup --check`), sampled (a random sample of the files in its
-- manifest, ratio_bound is the ± at 99 % confidence, ratio_sample the files checked) or
-- inferred (from an event, e.g. warmupd evicted it). checked_at says when.
ALTER TABLE datasets ADD COLUMN ratio_method TEXT NOT NULL DEFAULT 'walked'
  CHECK (ratio_method IN ('walked', 'sampled', 'inferred'));
ALTER TABLE datasets ADD COLUMN ratio_bound REAL NOT NULL DEFAULT 0;
ALTER TABLE datasets ADD COLUMN ratio_sample INTEGER NOT NULL DEFAULT 0;

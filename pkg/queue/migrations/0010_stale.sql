-- 0010_stale: events that say a dataset's cached ratio may be out of date (api.StaleReasons):
-- miss_report (an accel-agent report shows a job reading it from object storage while its
-- status says warm) or changelog (the JuiceFS metadata changelog shows files created,
-- removed or renamed under it). stale_at is the first such event since the last check,
-- stale_detail says what it was. A check (RecordCheck, a warm-up's verification) clears
-- them; the cache manager refreshes stale datasets first (internal/cachemgr).
ALTER TABLE datasets ADD COLUMN stale_at INTEGER;
ALTER TABLE datasets ADD COLUMN stale_reason TEXT
  CHECK (stale_reason IN ('miss_report', 'changelog'));
ALTER TABLE datasets ADD COLUMN stale_detail TEXT NOT NULL DEFAULT '';
CREATE INDEX datasets_stale ON datasets (stale_at) WHERE stale_at IS NOT NULL;

-- changelog_cursor: the last JuiceFS changelog version warmupd has read, per metadata URL
-- (with its password removed), so a restart resumes where it stopped.
CREATE TABLE changelog_cursor (
  volume     TEXT    PRIMARY KEY,
  version    INTEGER NOT NULL CHECK (version >= 0),
  updated_at INTEGER NOT NULL
) STRICT;

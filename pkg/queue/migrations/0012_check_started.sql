-- 0012_check_started: when the last check of a dataset began (checked_at is when it ended).
-- A change reported by the JuiceFS changelog after a check began may be missing from what
-- that check walked, so the changelog watcher compares entries with this time, and a check
-- clears only the stale events recorded before it began. NULL for checks recorded before
-- this migration: checked_at stands in.
ALTER TABLE datasets ADD COLUMN check_started_at INTEGER;

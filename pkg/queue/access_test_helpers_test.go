package queue_test

// dropAfter9 undoes the migrations after 0009 (0010 stale events, 0011 job
// arrays, 0012 check start times, 0013 the pruning of ended jobs, 0015 the
// checkable datasets, 0016 the largest datasets; 0014's rebuilt claims
// table can be migrated again), without touching schema_migrations.
const dropAfter9 = `DROP INDEX datasets_largest; DROP TRIGGER tasks_checkable_insert; DROP TRIGGER tasks_checkable_update; DROP TRIGGER tasks_checkable_delete;
	DROP INDEX datasets_checkable; ALTER TABLE datasets DROP COLUMN checkable; CREATE INDEX datasets_checked ON datasets (checked_at, id);
	DROP INDEX jobs_ended; ALTER TABLE jobs DROP COLUMN token_seen_at; ALTER TABLE datasets DROP COLUMN check_started_at;
	DROP INDEX datasets_stale; DROP TABLE changelog_cursor;
	ALTER TABLE datasets DROP COLUMN stale_at; ALTER TABLE datasets DROP COLUMN stale_reason; ALTER TABLE datasets DROP COLUMN stale_detail;
	DROP TABLE array_shards; DROP TABLE shard_arrays;
`

// dropAfter5 undoes the migrations after 0005 (for tests that take a store
// back to schema 4 or 5 and migrate it again).
const dropAfter5 = dropAfter9 + `DROP TABLE job_node_io; DROP TABLE job_path_io; DROP TABLE access_paths; DROP TABLE access_datasets;
	DROP TABLE node_mounts; ALTER TABLE tasks DROP COLUMN hot_ready_at;
	ALTER TABLE datasets DROP COLUMN ratio_method; ALTER TABLE datasets DROP COLUMN ratio_bound; ALTER TABLE datasets DROP COLUMN ratio_sample;
	DELETE FROM schema_migrations WHERE version > 5`

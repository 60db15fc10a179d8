package queue_test

// dropAfter5 undoes the migrations after 0005 (for tests that take a store
// back to schema 4 or 5 and migrate it again).
const dropAfter5 = `DROP INDEX datasets_stale; DROP TABLE changelog_cursor;
	ALTER TABLE datasets DROP COLUMN stale_at; ALTER TABLE datasets DROP COLUMN stale_reason; ALTER TABLE datasets DROP COLUMN stale_detail;
	DROP TABLE job_node_io; DROP TABLE job_path_io; DROP TABLE access_paths; DROP TABLE access_datasets;
	DROP TABLE node_mounts; ALTER TABLE tasks DROP COLUMN hot_ready_at;
	ALTER TABLE datasets DROP COLUMN ratio_method; ALTER TABLE datasets DROP COLUMN ratio_bound; ALTER TABLE datasets DROP COLUMN ratio_sample;
	DROP TABLE array_shards; DROP TABLE shard_arrays;
	DELETE FROM schema_migrations WHERE version > 5`

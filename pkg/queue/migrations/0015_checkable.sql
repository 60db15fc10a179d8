-- 0015_checkable: the periodic re-check's list (CheckCandidates, every second) walks only the
-- datasets it may check. It walked index datasets_checked, every dataset in check order, skipping
-- those whose task is cancelled, evicted, failed, queued or warming; every dataset ever evicted
-- keeps the old time of its last check, so the walk grew with the history.
-- checkable: 1 when the dataset has no task or its task is warm or partial, else 0. The triggers
-- keep it so, whichever statement adds, changes or deletes a task.
ALTER TABLE datasets ADD COLUMN checkable INTEGER NOT NULL DEFAULT 1 CHECK (checkable IN (0, 1));
UPDATE datasets SET checkable = 0 WHERE id IN (SELECT dataset_id FROM tasks WHERE state NOT IN ('warm', 'partial'));
CREATE TRIGGER tasks_checkable_insert AFTER INSERT ON tasks
  WHEN (NEW.state IN ('warm', 'partial')) != (SELECT checkable FROM datasets WHERE id = NEW.dataset_id)
BEGIN
  UPDATE datasets SET checkable = NEW.state IN ('warm', 'partial') WHERE id = NEW.dataset_id;
END;
CREATE TRIGGER tasks_checkable_update AFTER UPDATE OF state ON tasks
  WHEN (NEW.state IN ('warm', 'partial')) != (OLD.state IN ('warm', 'partial'))
BEGIN
  UPDATE datasets SET checkable = NEW.state IN ('warm', 'partial') WHERE id = NEW.dataset_id;
END;
CREATE TRIGGER tasks_checkable_delete AFTER DELETE ON tasks
BEGIN
  UPDATE datasets SET checkable = 1 WHERE id = OLD.dataset_id;
END;
DROP INDEX datasets_checked;
CREATE INDEX datasets_checkable ON datasets (checked_at, id) WHERE checkable;

-- 0016_largest: the metrics' largest datasets (TopDatasets, every Prometheus scrape) are read off
-- an index instead of sorting every dataset ever asked for. Partial: a dataset gets a size at its
-- first check or warm-up, so a submission of a new path adds nothing to it.
CREATE INDEX datasets_largest ON datasets (bytes DESC, path) WHERE bytes > 0;

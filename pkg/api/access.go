package api

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// AccessReport is what accel-agent sends to POST /v1/access: what jobs on
// one node read from its JuiceFS mount since the agent's previous report
// (every figure is a delta; warmupd adds them up), and the mount's
// configuration. Only root or SlurmdUser may send it.
type AccessReport struct {
	Node   string       `json:"node"`
	Mount  string       `json:"mount"`
	Config *MountReport `json:"config,omitempty"`
	Jobs   []JobAccess  `json:"jobs,omitempty"`
	// Lines counts access-log lines read; Dropped the lines proven lost
	// (JuiceFS drops lines a reader does not take in time; a lower bound).
	Lines   int64 `json:"lines"`
	Dropped int64 `json:"dropped"`
	// UnattributedBytes were read by processes that were gone before the
	// agent could map them to a job, or that belong to no job.
	UnattributedBytes int64 `json:"unattributed_bytes"`
	// UnresolvedBytes were read from inodes whose path the agent never saw.
	UnresolvedBytes int64 `json:"unresolved_bytes"`
	// ReportsDropped counts reports the agent discarded (oldest first) while
	// warmupd was unreachable and its buffer was full.
	ReportsDropped int64     `json:"reports_dropped"`
	At             time.Time `json:"at"`
}

// MountReport is a node's mount configuration (from /proc/mounts and the
// mount's .config).
type MountReport struct {
	FSType            string  `json:"fstype"`
	Options           string  `json:"options,omitempty"`
	Volume            string  `json:"volume,omitempty"`
	CacheDir          string  `json:"cache_dir"`
	CacheSize         int64   `json:"cache_size"`
	CacheEviction     string  `json:"cache_eviction,omitempty"`
	CacheScanInterval float64 `json:"cache_scan_interval_s"` // seconds; -1 = never scan (shared cache works)
	FreeSpaceRatio    float64 `json:"free_space_ratio"`
	CacheFreeBytes    int64   `json:"cache_free_bytes"` // free space of the file system holding the cache dir
	Version           string  `json:"version,omitempty"`
}

// JobAccess is one job's reads on the node since the previous report.
type JobAccess struct {
	JobID uint64 `json:"job_id"`
	// Final: the job has no process left on the node (its last report here).
	Final bool `json:"final"`
	// HitBytes, MissBytes, GetBytes are the mount's .stats counters
	// (juicefs_blockcache_hit_bytes, _miss_bytes,
	// juicefs_object_request_data_bytes_GET) over the job's time on the
	// node: shared by every job that ran there at the same time.
	HitBytes  int64        `json:"hit_bytes"`
	MissBytes int64        `json:"miss_bytes"`
	GetBytes  int64        `json:"get_bytes"`
	Paths     []PathAccess `json:"paths,omitempty"`
}

// PathAccess is what one job read under one subpath of a dataset.
type PathAccess struct {
	Dataset string `json:"dataset"` // absolute path
	Subpath string `json:"subpath"` // relative to Dataset ("." for files directly in it)
	Bytes   int64  `json:"bytes"`   // bytes read (re-reads count again)
	// DistinctBytes is the bytes of distinct file ranges read, counted once
	// per file (min of the file's length and what was read from it).
	DistinctBytes int64     `json:"distinct_bytes"`
	Files         int64     `json:"files"` // distinct files newly read in this report
	First         time.Time `json:"first"`
	Last          time.Time `json:"last"`
}

// JobIO is GET /v1/jobs/{id}/io: a job's I/O report, per node and overall.
type JobIO struct {
	JobID uint64 `json:"job_id"`
	JobNodeIO
	// PrologWait is how long the job's prolog held it (0 when unknown).
	PrologWaitSeconds float64     `json:"prolog_wait_s"`
	Nodes             []JobNodeIO `json:"nodes"`
	Subpaths          []SubpathIO `json:"subpaths"` // busiest first
	Mounts            []NodeMount `json:"mounts,omitempty"`
}

// JobNodeIO is a job's totals on one node (Node empty: over all nodes).
type JobNodeIO struct {
	Node      string `json:"node,omitempty"`
	Bytes     int64  `json:"bytes"`
	Files     int64  `json:"files"`
	HitBytes  int64  `json:"hit_bytes"`
	MissBytes int64  `json:"miss_bytes"`
	GetBytes  int64  `json:"get_bytes"`
	// HitRatio is HitBytes ÷ (HitBytes + MissBytes); negative when neither was counted.
	HitRatio float64    `json:"hit_ratio"`
	Final    bool       `json:"final"`
	First    *time.Time `json:"first,omitempty"`
	Last     *time.Time `json:"last,omitempty"`
}

// SubpathIO is what a job read under one subpath of a dataset.
type SubpathIO struct {
	Dataset string `json:"dataset"`
	Subpath string `json:"subpath"`
	Bytes   int64  `json:"bytes"`
	Files   int64  `json:"files"`
}

// NodeMount is the last mount configuration a node's agent reported.
type NodeMount struct {
	Node string `json:"node"`
	MountReport
	Mount      string    `json:"mount"`
	ReportedAt time.Time `json:"reported_at"`
	// Totals over the agent's reports (see AccessReport).
	Lines             int64 `json:"lines"`
	Dropped           int64 `json:"dropped"`
	UnattributedBytes int64 `json:"unattributed_bytes"`
	UnresolvedBytes   int64 `json:"unresolved_bytes"`
	ReportsDropped    int64 `json:"reports_dropped"`
}

// AccessResponse answers POST /v1/access.
type AccessResponse struct {
	Jobs int `json:"jobs"` // job reports recorded
}

// ReportAccess sends an agent's report.
func (c *Client) ReportAccess(ctx context.Context, r AccessReport) (*AccessResponse, error) {
	var out AccessResponse
	return &out, c.Do(ctx, http.MethodPost, "/v1/access", r, &out)
}

// JobIO returns a job's I/O report.
func (c *Client) JobIO(ctx context.Context, jobID uint64) (*JobIO, error) {
	var out JobIO
	return &out, c.Do(ctx, http.MethodGet, "/v1/jobs/"+strconv.FormatUint(jobID, 10)+"/io", nil, &out)
}

// NodeMounts returns the mount configurations agents reported.
func (c *Client) NodeMounts(ctx context.Context) ([]NodeMount, error) {
	var out []NodeMount
	return out, c.Do(ctx, http.MethodGet, "/v1/access/mounts", nil, &out)
}

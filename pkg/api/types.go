// Package api holds the wire types of warmupd's v1 HTTP/JSON API and a typed
// client that speaks it over warmupd's unix socket. It must never import
// SQLite: the CLI, the prolog and the tests link it (see deps_test.go).
package api

import "time"

// DefaultSocket is where warmupd listens unless configured otherwise.
const DefaultSocket = "/run/warmupd/warmupd.sock"

// ServerEnv names warmupd's TCP door (HOST:PORT) for swarmup; the flag
// --server wins over it, and it over the Server= key.
const ServerEnv = "WARMUPD_SERVER"

// SocketEnv overrides the socket path for clients (swarmup, slurm-prolog).
const SocketEnv = "WARMUPD_SOCKET"

// SubmitRequest asks warmupd to warm one or more dataset paths.
// POST /v1/requests
type SubmitRequest struct {
	Paths  []string `json:"paths"`
	Token  string   `json:"token,omitempty"`  // random per-submission token set by the SPANK plugin
	JobID  uint64   `json:"job_id,omitempty"` // 0 when unknown (sbatch does not know it yet)
	Source Source   `json:"source,omitempty"` // default "manual"
	// UID is honoured only when the caller is root (the prolog acts for the job's user).
	UID *uint32 `json:"uid,omitempty"`
}

// SubmitItem reports what happened to one requested path.
type SubmitItem struct {
	Path string `json:"path"` // as canonicalised by the daemon
	// Dataset is the canonical path of the task that covers Path (Path itself,
	// or a queued or warming parent that covers it; a warm parent does not).
	Dataset string    `json:"dataset"`
	TaskID  int64     `json:"task_id"`
	State   TaskState `json:"state"`
	// Outcome is one of "new", "joined" (same path already queued/warm),
	// "covered" (a parent covers it), "absorbed" (it absorbed queued children).
	// State is TaskWarm only when Path's own last check is recent (warmupd's
	// VerifyMaxAge); else TaskVerifying, or TaskQueued when it was found short.
	Outcome string `json:"outcome"`
}

// SubmitResponse answers a SubmitRequest.
type SubmitResponse struct {
	RequestID int64        `json:"request_id"`
	Items     []SubmitItem `json:"items"`
}

// JobStartRequest is sent by slurm-prolog when a job reaches a node.
// POST /v1/jobs/{id}/start
type JobStartRequest struct {
	Token string   `json:"token,omitempty"`
	Paths []string `json:"paths,omitempty"`
	Node  string   `json:"node,omitempty"`
	UID   uint32   `json:"uid"`
}

// JobEndRequest is sent by slurm-prolog in epilog mode.
// POST /v1/jobs/{id}/end
type JobEndRequest struct {
	Node     string `json:"node,omitempty"`
	ExitCode int    `json:"exit_code"`
	// Reason is free text, e.g. "epilog", "prolog-timeout".
	Reason string `json:"reason,omitempty"`
}

// JobDataset is one dataset a job needs and how warm it is.
type JobDataset struct {
	Path        string    `json:"path"`
	Dataset     string    `json:"dataset"`
	State       TaskState `json:"state"`
	Bytes       int64     `json:"bytes"`
	CachedBytes int64     `json:"cached_bytes"`
	CachedRatio float64   `json:"cached_ratio"`
	// WarmRateBps is the measured warm-up speed (bytes/s) while the dataset
	// warms, 0 when unknown; with Bytes-CachedBytes it gives an ETA.
	WarmRateBps float64 `json:"warm_rate_bps,omitempty"`
	// Reason is the task's reason: why it waits, failed (e.g. larger than
	// MaxRequestBytes) or was cancelled.
	Reason string `json:"reason,omitempty"`
	// HotReady: the warm-up verified the part it warms first (HotPart)
	// warm; the rest of the dataset is still warming. The job may start.
	HotReady bool `json:"hot_ready,omitempty"`
	// HotPart is which part that is, when HotReady: the subdirectories jobs
	// read (narrowed) or the first ReleaseAt of the bytes (release-at).
	HotPart HotPart `json:"hot_part,omitempty"`
	// CheckedAt is when `juicefs warmup --check` of Path itself last
	// finished (nil: never; Path is under a dataset checked as a whole).
	// Bytes, CachedBytes and CachedRatio are from that check once Dataset is
	// warm, else from the last check of Dataset.
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	// Stale is the event since that check (a miss report, the changelog)
	// that says Path's ratio may be out of date ("" when none): warmupd
	// checks it again before calling it warm.
	Stale StaleReason `json:"stale,omitempty"`
}

// JobStatus answers job start and readiness queries.
// GET /v1/jobs/{id}
type JobStatus struct {
	JobID    uint64       `json:"job_id"`
	State    JobState     `json:"state"`
	Ready    bool         `json:"ready"` // every dataset is in a terminal state (warm, partial, failed, ...)
	Warm     bool         `json:"warm"`  // every dataset is warm
	Datasets []JobDataset `json:"datasets"`
	// Waiting is set while warmupd's last squeue poll listed the job as
	// waiting for its data (pending in its stage-in, or in its prolog).
	Waiting *SlurmWait `json:"waiting,omitempty"`
}

// SlurmWait is the jobs warmupd's last squeue poll listed as waiting for
// their data in one stage.
type SlurmWait struct {
	Stage  string    `json:"stage"`   // "stage-in" or "prolog"
	Reason string    `json:"reason"`  // Slurm's reason: BurstBufferStageIn or Prolog
	JobIDs []uint64  `json:"job_ids"` // ascending
	SeenAt time.Time `json:"seen_at"` // when squeue listed them
}

// Summarize sets Ready and Warm from the states of the datasets: ready when
// every one is terminal or warming with its hot part warm (HotReady), warm
// when every one is warm (a job naming none is both).
func (st *JobStatus) Summarize() {
	st.Ready, st.Warm = true, true
	for _, d := range st.Datasets {
		st.Ready = st.Ready && (d.State.Terminal() || d.HotReady && d.State == TaskWarming)
		st.Warm = st.Warm && d.State == TaskWarm
	}
}

// FillRates sets WarmRateBps of every warming dataset from rate (the
// measured speed of a dataset, bytes/s, 0 unknown).
func (st *JobStatus) FillRates(rate func(dataset string) float64) {
	for i := range st.Datasets {
		if st.Datasets[i].State == TaskWarming {
			st.Datasets[i].WarmRateBps = rate(st.Datasets[i].Dataset)
		}
	}
}

// QueueEntry is one warm-up task as shown by `swarmup`.
type QueueEntry struct {
	TaskID      int64     `json:"task_id"`
	Dataset     string    `json:"dataset"`
	State       TaskState `json:"state"`
	Priority    float64   `json:"priority"`
	Bytes       int64     `json:"bytes"`        // dataset size, 0 when not yet measured
	CachedBytes int64     `json:"cached_bytes"` // from the last check (progress while warming)
	CachedRatio float64   `json:"cached_ratio"`
	JobsWaiting int       `json:"jobs_waiting"` // jobs submitted or started that need it
	Attempts    int       `json:"attempts"`
	Source      Source    `json:"source"`
	Owner       uint32    `json:"owner"` // uid of the first requester
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// CheckedAt is when the last `juicefs warmup --check` of the dataset
	// itself finished (nil: never). A listing shows the stored state: a warm
	// entry is as fresh as this check (verifying while a re-check runs).
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	// Waiting are the jobs of this task that warmupd's last squeue poll
	// listed as waiting for their data, one entry per stage.
	Waiting []SlurmWait `json:"waiting,omitempty"`
}

// QueueResponse answers GET /v1/queue (?all=1 includes terminal tasks).
type QueueResponse struct {
	Entries []QueueEntry `json:"entries"`
}

// Dataset is one row of the cache status table.
type Dataset struct {
	Path        string     `json:"path"`
	Bytes       int64      `json:"bytes"`
	Files       int64      `json:"files"`
	CachedBytes int64      `json:"cached_bytes"`
	CachedRatio float64    `json:"cached_ratio"`
	CheckedAt   *time.Time `json:"checked_at,omitempty"`
	// RatioMethod says how CachedRatio was obtained at CheckedAt (walked,
	// sampled, inferred); RatioBound is a sampled ratio's ± at 99 %
	// confidence and RatioSample the files its sample checked.
	RatioMethod RatioMethod `json:"ratio_method,omitempty"`
	RatioBound  float64     `json:"ratio_bound,omitempty"`
	RatioSample int64       `json:"ratio_sample,omitempty"`
	// StaleAt is the first event since CheckedAt that says the ratio may be
	// out of date (StaleReason: a miss report, the changelog; StaleDetail
	// what it was); the cache manager re-checks such a dataset first. Absent
	// when none.
	StaleAt     *time.Time  `json:"stale_at,omitempty"`
	StaleReason StaleReason `json:"stale_reason,omitempty"`
	StaleDetail string      `json:"stale_detail,omitempty"`
	State       TaskState   `json:"state,omitempty"` // state of its latest task
	JobsRunning int         `json:"jobs_running"`
	JobsQueued  int         `json:"jobs_queued"`
	LastUsedAt  *time.Time  `json:"last_used_at,omitempty"`
	// ReadDensity is the distinct bytes jobs read ÷ Bytes, HitRatio the
	// byte hit ratio of the jobs that read it, from accel-agent reports
	// (decayed); absent when no agent reported reads of it.
	ReadDensity *float64 `json:"read_density,omitempty"`
	HitRatio    *float64 `json:"hit_ratio,omitempty"`
}

// DatasetsResponse answers GET /v1/datasets.
type DatasetsResponse struct {
	Datasets []Dataset `json:"datasets"`
}

// CancelRequest withdraws the caller's requests for queued or warming tasks,
// named by dataset path or task id. A task is cancelled only when no request
// or job of anyone else still wants it; root withdraws every request.
// POST /v1/cancel
type CancelRequest struct {
	Paths   []string `json:"paths,omitempty"`
	TaskIDs []int64  `json:"task_ids,omitempty"`
}

// CancelItem says what a cancel did to one task.
type CancelItem struct {
	TaskID  int64  `json:"task_id"`
	Dataset string `json:"dataset"`
	// Withdrawn counts the caller's requests and jobs withdrawn from the task.
	Withdrawn int `json:"withdrawn"`
	// Cancelled is true when the task itself was cancelled (nobody else wants all of it).
	Cancelled bool `json:"cancelled"`
	// StillWanted counts the other requests and jobs that keep the task going
	// (0 when it was cancelled).
	StillWanted int `json:"still_wanted"`
	// Restored are the paths below a cancelled task that other requests or
	// jobs still want: each got a task of its own back (queued again).
	Restored []SubmitItem `json:"restored,omitempty"`
}

// CancelResponse lists the tasks that were cancelled (their warm-ups stop)
// and, per task, what happened.
type CancelResponse struct {
	Cancelled []int64      `json:"cancelled"`
	Items     []CancelItem `json:"items"`
}

// Health answers GET /v1/health.
type Health struct {
	OK       bool   `json:"ok"`
	Version  string `json:"version"`
	Queued   int    `json:"queued"`
	Warming  int    `json:"warming"`
	Workers  int    `json:"workers"`
	JuiceFS  string `json:"juicefs"` // binary in use
	Database string `json:"database"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Error string `json:"error"`
	// Path names the offending input when there is one.
	Path string `json:"path,omitempty"`
}

package api

import (
	"context"
	"net/http"
)

// ShardReport is what a warm-up shard's runner (`slurm-prolog warm-shard`,
// an array task of a Slurm job warmupd submitted) tells warmupd when its
// shard is done. Only root, SlurmdUser or WarmupUser (the user the arrays
// run as) may send it.
// POST /v1/shards/report
type ShardReport struct {
	TaskID int64  `json:"task_id"`
	Run    string `json:"run"`   // the array's run name (its spool directory)
	Index  int    `json:"index"` // the shard (SLURM_ARRAY_TASK_ID)
	Node   string `json:"node"`
	JobID  string `json:"job_id,omitempty"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Files  int64  `json:"files"`
	Bytes  int64  `json:"bytes"`
}

// ShardState is the state of one shard of a warm-up run as a Slurm job
// array, as warmupd keeps it in its store (it survives a restart).
type ShardState string

// The shard states, in the order a shard goes through them.
const (
	ShardPending ShardState = "pending" // submitted, waiting for a node
	ShardRunning ShardState = "running" // squeue says its array task runs
	ShardFailed  ShardState = "failed"  // reported failed or left the queue unreported: retried next
	ShardLocal   ShardState = "local"   // being warmed on the service node instead
	ShardDone    ShardState = "done"    // warm (reported by its node, or warmed on the service node)
)

// ShardStates lists every ShardState once.
var ShardStates = []ShardState{ShardPending, ShardRunning, ShardFailed, ShardLocal, ShardDone}

// ShardArray is one warm-up running as a Slurm job array.
type ShardArray struct {
	TaskID  int64    `json:"task_id"`
	Dataset string   `json:"dataset"`
	JobID   string   `json:"job_id"` // the array's Slurm job id
	Total   int      `json:"total"`
	Done    int      `json:"done"`
	Failed  int      `json:"failed"`  // failed or lost, not yet retried
	Retried int      `json:"retried"` // shards submitted again or warmed on the service node
	Local   int      `json:"local"`   // shards warmed on the service node (fallback)
	Nodes   []string `json:"nodes"`   // the nodes that warmed a shard
}

// ShardsResponse lists the warm-ups running as Slurm job arrays.
// GET /v1/shards
type ShardsResponse struct {
	Arrays []ShardArray `json:"arrays"`
}

// ReportShard tells warmupd a shard is done (root, SlurmdUser or WarmupUser only).
func (c *Client) ReportShard(ctx context.Context, r ShardReport) error {
	return c.Do(ctx, http.MethodPost, "/v1/shards/report", r, nil)
}

// Shards lists the warm-ups running as Slurm job arrays.
func (c *Client) Shards(ctx context.Context) (*ShardsResponse, error) {
	var out ShardsResponse
	return &out, c.Do(ctx, http.MethodGet, "/v1/shards", nil, &out)
}

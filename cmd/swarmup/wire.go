package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// The types below are swarmup's PROPOSAL for the issue-4 endpoints
// (GET /v1/priority, GET /v1/cache). They belong in pkg/api; until warmupd
// serves them, `swarmup prio` and `swarmup cache` decode into these through
// api.Client.Do and say clearly when the daemon does not know the endpoint.

// PriorityFactor is one term of a task's priority, like a column of sprio.
type PriorityFactor struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"` // normalised, [0,1] except age
	Weight       float64 `json:"weight"`
	Contribution float64 `json:"contribution"` // Value * Weight
}

// PriorityEntry is one queued or warming task with its priority breakdown.
type PriorityEntry struct {
	TaskID   int64            `json:"task_id"`
	Dataset  string           `json:"dataset"`
	State    api.TaskState    `json:"state"`
	Priority float64          `json:"priority"` // the sum of the contributions
	Factors  []PriorityFactor `json:"factors"`  // in pkg/priority's order
}

// PriorityResponse answers GET /v1/priority.
type PriorityResponse struct {
	Entries []PriorityEntry `json:"entries"`
}

// CacheDataset is one dataset's share of the cache.
type CacheDataset struct {
	Path        string        `json:"path"`
	Bytes       int64         `json:"bytes"`
	CachedBytes int64         `json:"cached_bytes"`
	CachedRatio float64       `json:"cached_ratio"`
	State       api.TaskState `json:"state,omitempty"`
	JobsRunning int           `json:"jobs_running"`
	JobsQueued  int           `json:"jobs_queued"`
	// Pinned: a running or queued job needs it, so the cache manager will not evict it.
	Pinned     bool       `json:"pinned"`
	CheckedAt  *time.Time `json:"checked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// CacheResponse answers GET /v1/cache.
type CacheResponse struct {
	CacheDir      string `json:"cache_dir"`
	CapacityBytes int64  `json:"capacity_bytes"` // CacheCapacity; 0 means not limited by warmupd
	UsedBytes     int64  `json:"used_bytes"`     // cached bytes of the datasets warmupd knows
	FSBytes       int64  `json:"fs_bytes"`       // size of the file system that holds the cache dir
	FSFreeBytes   int64  `json:"fs_free_bytes"`  // free space on it (statfs)
	// FreeSpaceRatio is the share of the file system JuiceFS keeps free (--free-space-ratio).
	FreeSpaceRatio float64        `json:"free_space_ratio"`
	Datasets       []CacheDataset `json:"datasets"`
}

// getNew calls a GET endpoint that older warmupd versions may not serve.
func getNew(ctx context.Context, c *api.Client, path string, out any) error {
	err := c.Do(ctx, http.MethodGet, path, nil, out)
	var se *api.StatusError
	if errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusMethodNotAllowed) {
		return fmt.Errorf("warmupd at %s does not serve %s: it is older than this swarmup; upgrade warmupd", c.SocketPath(), path)
	}
	return err
}

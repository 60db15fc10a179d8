package api

import "time"

// PriorityFactor is one term of a task's priority: a normalised value times
// its configured weight (like a column of Slurm's sprio).
type PriorityFactor struct {
	Name         string  `json:"name"`
	Value        float64 `json:"value"`
	Weight       float64 `json:"weight"`
	Contribution float64 `json:"contribution"`
}

// PriorityEntry is the priority breakdown of one queued task.
type PriorityEntry struct {
	TaskID   int64            `json:"task_id"`
	Dataset  string           `json:"dataset"`
	State    TaskState        `json:"state"`
	Priority float64          `json:"priority"`
	Factors  []PriorityFactor `json:"factors"`
	// Reason says why the task waits, when it does (e.g. waiting for cache space).
	Reason string `json:"reason,omitempty"`
}

// PriorityResponse answers GET /v1/priority.
type PriorityResponse struct {
	Entries []PriorityEntry `json:"entries"`
	// Weights are the configured factor weights, by factor name.
	Weights map[string]float64 `json:"weights"`
	// PlannedAt is when the planner last ran.
	PlannedAt time.Time `json:"planned_at"`
}

// CacheEviction records one eviction the cache manager made.
type CacheEviction struct {
	Dataset string    `json:"dataset"`
	Bytes   int64     `json:"bytes"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// CacheResponse answers GET /v1/cache: the cache status table with the
// cache's capacity and the file system's free space.
type CacheResponse struct {
	CacheDir      string    `json:"cache_dir,omitempty"`
	CapacityBytes int64     `json:"capacity_bytes"` // configured CacheCapacity (0 = unlimited)
	UsedBytes     int64     `json:"used_bytes"`     // sum of cached bytes of known datasets
	FSTotalBytes  int64     `json:"fs_total_bytes"` // statfs of the cache directory
	FSFreeBytes   int64     `json:"fs_free_bytes"`
	Datasets      []Dataset `json:"datasets"`
	// ActiveWindows are the configured idle windows for active warm-up.
	ActiveWindows  []string `json:"active_windows,omitempty"`
	InActiveWindow bool     `json:"in_active_window"`
	// ActiveReason says why active warm-up is or is not running now.
	ActiveReason string          `json:"active_reason,omitempty"`
	Evictions    []CacheEviction `json:"recent_evictions,omitempty"`
}

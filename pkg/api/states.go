package api

import (
	"slices"
	"strings"
)

// TaskState is the state of a warm-up task (one per canonical dataset path).
// The same strings are enforced by SQL CHECK constraints in pkg/queue.
type TaskState string

const (
	// TaskQueued waits for a worker slot (and for cache space).
	TaskQueued TaskState = "queued"
	// TaskWarming is being warmed by a worker holding a lease.
	TaskWarming TaskState = "warming"
	// TaskWarm was verified by `juicefs warmup --check` at or above the target ratio.
	TaskWarm TaskState = "warm"
	// TaskPartial was verified below the target ratio after all retries.
	TaskPartial TaskState = "partial"
	// TaskFailed could not be warmed (the driver reported an error) after all retries.
	TaskFailed TaskState = "failed"
	// TaskCancelled is no longer wanted by any job or policy.
	TaskCancelled TaskState = "cancelled"
	// TaskEvicted was removed from the cache by the cache manager.
	TaskEvicted TaskState = "evicted"
)

// TaskVerifying is reported, never stored: the task is warm in the store, but
// its data was last verified longer ago than warmupd's VerifyMaxAge (or never,
// for a path under a warm parent), and a bounded `juicefs warmup --check` of
// it runs now. It is not terminal: ask again. The check either confirms it
// warm or queues it to be warmed again.
const TaskVerifying TaskState = "verifying"

// RetryReasonPrefix begins the reason of a task queued again to retry
// ("retry 2 of 3", internal/retry): the store keeps that reason until the
// task runs again, and a planner round's wait reasons do not replace it
// (pkg/queue ApplyPlan, pkg/planner Changes; compared ignoring case, as
// SQL's LIKE does).
const RetryReasonPrefix = "retry "

// TaskStates is the one list of the states a task can be stored in, in
// their order of life (TaskVerifying is only reported). Everything that
// lists states derives from it: Valid and Terminal, swarmup's --state, the
// store's counts; pkg/queue's test checks the schema's CHECK constraints
// against it.
var TaskStates = []TaskState{TaskQueued, TaskWarming, TaskWarm, TaskPartial, TaskFailed, TaskCancelled, TaskEvicted}

// activeStates are the states a worker may still act on; every other state
// of TaskStates is terminal.
var activeStates = []TaskState{TaskQueued, TaskWarming}

// Terminal reports whether no worker will touch a task in this state again
// unless a new request revives it.
func (s TaskState) Terminal() bool {
	return s.Valid() && !slices.Contains(activeStates, s)
}

// Valid reports whether s is one of the task states a task can be stored in
// (TaskVerifying is only reported).
func (s TaskState) Valid() bool {
	return slices.Contains(TaskStates, s)
}

// ActiveStates returns the states that are not terminal (queued, warming).
func ActiveStates() []TaskState { return slices.Clone(activeStates) }

// TerminalStates returns the terminal states of TaskStates, in order.
func TerminalStates() []TaskState {
	var out []TaskState
	for _, s := range TaskStates {
		if s.Terminal() {
			out = append(out, s)
		}
	}
	return out
}

// JoinStates writes states as text for help and messages: separated by sep,
// the last one by last ("partial, failed or evicted" with ", " and " or ").
func JoinStates(states []TaskState, sep, last string) string {
	var b strings.Builder
	for i, s := range states {
		switch {
		case i == 0:
		case i == len(states)-1:
			b.WriteString(last)
		default:
			b.WriteString(sep)
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// JobState is the state of a Slurm job's link to its datasets.
type JobState string

const (
	// JobSubmitted was named at sbatch time; the job is pending in Slurm.
	JobSubmitted JobState = "submitted"
	// JobStarted has reached its prolog on at least one node.
	JobStarted JobState = "started"
	// JobEnded ran its epilog (or was cancelled before starting).
	JobEnded JobState = "ended"
)

// JobStates is the one list of the states of a job's link to its datasets.
var JobStates = []JobState{JobSubmitted, JobStarted, JobEnded}

// Source says who asked for a warm-up.
type Source string

const (
	// SourceSubmit comes from the SPANK plugin at sbatch/salloc/srun time.
	SourceSubmit Source = "submit"
	// SourceProlog comes from slurm-prolog when a job starts on a node.
	SourceProlog Source = "prolog"
	// SourceManual comes from a person running `swarmup warm`.
	SourceManual Source = "manual"
	// SourceActive comes from the daemon's own active warm-up policy.
	SourceActive Source = "active"
)

// Sources is the one list of the sources a request can come from.
var Sources = []Source{SourceSubmit, SourceProlog, SourceManual, SourceActive}

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool { return slices.Contains(Sources, s) }

// RatioMethod says how a dataset's cached ratio was obtained.
type RatioMethod string

// The ways a cached ratio is obtained.
const (
	// RatioWalked: a full `juicefs warmup --check` of the dataset (every file).
	RatioWalked RatioMethod = "walked"
	// RatioSampled: a `--check` of a random sample of the dataset's files
	// (from its manifest); the ratio holds within ± RatioBound at 99 %
	// confidence.
	RatioSampled RatioMethod = "sampled"
	// RatioInferred: from an event, without a check (warmupd evicted it).
	RatioInferred RatioMethod = "inferred"
)

// RatioMethods is the one list of ratio methods; pkg/queue's test checks the
// schema's CHECK constraint against it.
var RatioMethods = []RatioMethod{RatioWalked, RatioSampled, RatioInferred}

// StaleReason says which event marked a dataset's cached ratio as possibly
// out of date since its last check.
type StaleReason string

// The events that mark a dataset stale.
const (
	// StaleMissReport: an accel-agent report shows a job reading the
	// dataset from object storage (cache misses) while its status says warm.
	StaleMissReport StaleReason = "miss_report"
	// StaleChangelog: the JuiceFS metadata changelog shows files created,
	// removed or renamed under the dataset.
	StaleChangelog StaleReason = "changelog"
)

// StaleReasons is the one list of stale reasons; pkg/queue's test checks the
// schema's CHECK constraint against it.
var StaleReasons = []StaleReason{StaleMissReport, StaleChangelog}

// Label is the reason for people ("miss report", "changelog").
func (r StaleReason) Label() string { return strings.ReplaceAll(string(r), "_", " ") }

// Package slurmwatch reads Slurm's view of the jobs that asked for data:
// it runs `squeue --json` periodically, finds jobs whose admin comment
// carries an accel-data token (put there by contrib's job_submit.lua), and
// hands their job id, state and expected start time to the store. That lets
// the planner rank a dataset needed in 10 minutes above one needed in 3 days,
// lets warmupd notice jobs cancelled while pending, and ends the jobs whose
// epilog could not reach warmupd once squeue no longer lists them as live
// (reconciliation).
package slurmwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/jobprogress"
	"github.com/accel-data/accel-data/pkg/queue"
)

// tokenRE finds the tag job_submit.lua writes: accel-data:<hex token>.
var tokenRE = regexp.MustCompile(`(?:^|\s)accel-data:([0-9a-fA-F]{8,128})(?:\s|$)`)

// squeueJSON is the part of `squeue --json` (Slurm 22.05+) we read.
type squeueJSON struct {
	Errors []json.RawMessage `json:"errors"`
	Jobs   []struct {
		JobID        uint64 `json:"job_id"`
		ArrayJobID   uint64 `json:"array_job_id"`
		HetJobID     uint64 `json:"het_job_id"`
		JobState     string `json:"job_state"`
		StartTime    int64  `json:"start_time"`
		AdminComment string `json:"admin_comment"`
		Comment      string `json:"comment"`
		StateReason  string `json:"state_reason"`
	} `json:"jobs"`
}

// Listing is what one `squeue --json` said.
type Listing struct {
	// Tagged are the jobs carrying an accel-data token.
	Tagged []queue.SlurmJob
	// States maps every job id squeue lists to its state; the ids of array
	// and heterogeneous job leaders count as listed while any member is.
	States map[uint64]string
	// Errors are squeue's own complaints; a listing with errors is not
	// trusted to be complete.
	Errors []string
	// Waiting are the jobs that may be waiting for their data
	// (jobprogress.Listed), whatever their tag.
	Waiting []jobprogress.Job
}

// Parse reads `squeue --json` output.
func Parse(data []byte) (Listing, error) {
	var sq squeueJSON
	if err := json.Unmarshal(data, &sq); err != nil {
		return Listing{}, fmt.Errorf("parse squeue --json: %w", err)
	}
	l := Listing{States: make(map[uint64]string, len(sq.Jobs))}
	for _, e := range sq.Errors {
		l.Errors = append(l.Errors, string(e))
	}
	for _, j := range sq.Jobs {
		l.States[j.JobID] = j.JobState
		for _, leader := range []uint64{j.ArrayJobID, j.HetJobID} {
			if _, ok := l.States[leader]; leader != 0 && !ok {
				l.States[leader] = "PENDING" // listed through a member; its own record may come later
			}
		}
		if jobprogress.Listed(j.JobState, j.StateReason) {
			l.Waiting = append(l.Waiting, jobprogress.Job{JobID: j.JobID, Reason: j.StateReason, Comment: j.Comment})
		}
		m := tokenRE.FindStringSubmatch(j.AdminComment)
		if m == nil {
			continue
		}
		sj := queue.SlurmJob{JobID: j.JobID, Token: m[1], State: j.JobState}
		if j.StartTime > 0 {
			sj.ExpectedStart = time.Unix(j.StartTime, 0)
		}
		l.Tagged = append(l.Tagged, sj)
	}
	return l, nil
}

// DefaultGrace is how long a job must have been started (or submitted)
// before reconciliation may end it.
const DefaultGrace = time.Minute

// Watcher polls squeue.
type Watcher struct {
	Squeue   string        // the squeue binary
	Interval time.Duration // poll period
	// Grace: a job started or submitted less than this before squeue ran is
	// never ended by reconciliation; 0 means DefaultGrace.
	Grace time.Duration
	Store *queue.Store
	// Progress, when set, writes the waiting jobs' warm-up progress into
	// their comments after each poll.
	Progress *jobprogress.Writer
	Log      zerolog.Logger
	Now      func() time.Time

	mu    sync.Mutex
	waits Waits
}

// Waits are the jobs one squeue poll listed as waiting for their data.
type Waits struct {
	At   time.Time         // when squeue ran (zero: never)
	Jobs map[uint64]string // job id -> Slurm's reason (a jobprogress.WaitStages reason)
}

// NextWaits is what a poll at time at that listed waiting says, after prev:
// a job with a wait reason waits; a pending job squeue shows with
// jobprogress.ReasonNone (right after warmupd rewrote its comment) still
// waits for the reason it had at the poll before, and is dropped if it had
// none.
func NextWaits(prev Waits, waiting []jobprogress.Job, at time.Time) Waits {
	next := Waits{At: at, Jobs: make(map[uint64]string, len(waiting))}
	for _, j := range waiting {
		switch {
		case jobprogress.Stage(j.Reason) != "":
			next.Jobs[j.JobID] = j.Reason
		case prev.Jobs[j.JobID] != "":
			next.Jobs[j.JobID] = prev.Jobs[j.JobID]
		}
	}
	return next
}

// Waits returns a copy of what the last poll said about waiting jobs.
func (w *Watcher) Waits() Waits {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Waits{At: w.waits.At, Jobs: maps.Clone(w.waits.Jobs)}
}

// Run polls until ctx is done. A failing squeue is logged (once per change
// of error) and tried again next period; it never stops the daemon.
func (w *Watcher) Run(ctx context.Context) {
	var lastErr string
	for {
		if err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr {
				w.Log.Warn().Err(err).Msg("squeue poll failed; expected start times are unknown and jobs are not reconciled until it works")
			}
			lastErr = err.Error()
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.Interval):
		}
	}
}

// Poll runs squeue once and records what it says.
func (w *Watcher) Poll(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	at := w.Now()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, w.Squeue, "--json", "--all")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s --json --all: %w: %s", w.Squeue, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return w.Apply(ctx, stdout.Bytes(), at)
}

// Apply records one squeue answer taken at time at: the jobs waiting for
// their data (Waits), the tagged jobs' expected starts and departures (queue.ObserveSlurmJobs), then, when squeue
// reported no error, reconciliation of the jobs it no longer lists as live
// (queue.ReconcileJobs) and, when it lists jobs with their tokens, of the
// submissions no job carries the token of (queue.EndUnboundTokens).
func (w *Watcher) Apply(ctx context.Context, data []byte, at time.Time) error {
	l, err := Parse(data)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.waits = NextWaits(w.waits, l.Waiting, at)
	w.mu.Unlock()
	ended, err := w.Store.ObserveSlurmJobs(ctx, l.Tagged, w.Now())
	if err != nil {
		return err
	}
	if ended > 0 {
		w.Log.Info().Int("jobs", ended).Msg("jobs left the Slurm queue without running; warm-ups only they wanted are cancelled")
	}
	if w.Progress != nil {
		w.Progress.Update(ctx, l.Waiting)
	}
	if len(l.Errors) > 0 {
		return fmt.Errorf("squeue --json reported errors %v; jobs are not reconciled with an answer that may be incomplete", l.Errors)
	}
	grace := w.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	gone, err := w.Store.ReconcileJobs(ctx, l.States, at.Add(-grace), w.Now())
	if err != nil {
		return err
	}
	if len(gone) > 0 {
		w.Log.Warn().Uints64("jobs", gone).Msg("ended jobs that squeue no longer lists as live (their epilog did not reach warmupd); their data is no longer pinned for them")
	}
	if len(l.Tagged) == 0 {
		return nil // no job shows its token: tokens are not listed here (no job_submit.lua), or no job has one now
	}
	n, err := w.Store.EndUnboundTokens(ctx, at.Add(-max(grace, UnboundGrace)), w.Now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.Log.Warn().Int("submissions", n).Dur("older_than", max(grace, UnboundGrace)).
			Msg("ended sbatch-time submissions whose token no Slurm job carries (sbatch refused the job?); their data is no longer pinned for them")
	}
	return nil
}

// UnboundGrace is how long a submission's token may go unlisted by squeue
// (when squeue lists other jobs' tokens) before it is taken for a job sbatch
// refused: sbatch retries a controller that does not answer for a while
// before the job gets through.
const UnboundGrace = 10 * time.Minute

// Package slurmwatch reads Slurm's view of the jobs that asked for data:
// it runs `squeue --json` periodically, finds jobs whose admin comment
// carries an accel-data token (put there by contrib's job_submit.lua), and
// hands their job id, state and expected start time to the store. That lets
// the planner rank a dataset needed in 10 minutes above one needed in 3 days,
// and lets warmupd notice jobs cancelled while pending.
package slurmwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/queue"
)

// tokenRE finds the tag job_submit.lua writes: accel-data:<hex token>.
var tokenRE = regexp.MustCompile(`(?:^|\s)accel-data:([0-9a-fA-F]{8,128})(?:\s|$)`)

// squeueJSON is the part of `squeue --json` (Slurm 22.05+) we read.
type squeueJSON struct {
	Jobs []struct {
		JobID        uint64 `json:"job_id"`
		JobState     string `json:"job_state"`
		StartTime    int64  `json:"start_time"`
		AdminComment string `json:"admin_comment"`
	} `json:"jobs"`
}

// Parse extracts the tagged jobs from `squeue --json` output.
func Parse(data []byte) ([]queue.SlurmJob, error) {
	var sq squeueJSON
	if err := json.Unmarshal(data, &sq); err != nil {
		return nil, fmt.Errorf("parse squeue --json: %w", err)
	}
	var out []queue.SlurmJob
	for _, j := range sq.Jobs {
		m := tokenRE.FindStringSubmatch(j.AdminComment)
		if m == nil {
			continue
		}
		sj := queue.SlurmJob{JobID: j.JobID, Token: m[1], State: j.JobState}
		if j.StartTime > 0 {
			sj.ExpectedStart = time.Unix(j.StartTime, 0)
		}
		out = append(out, sj)
	}
	return out, nil
}

// Watcher polls squeue.
type Watcher struct {
	Squeue   string        // the squeue binary
	Interval time.Duration // poll period
	Store    *queue.Store
	Log      zerolog.Logger
	Now      func() time.Time
}

// Run polls until ctx is done. A failing squeue is logged (once per change
// of error) and tried again next period; it never stops the daemon.
func (w *Watcher) Run(ctx context.Context) {
	var lastErr string
	for {
		if err := w.Poll(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr {
				w.Log.Warn().Err(err).Msg("squeue poll failed; expected start times are unknown until it works")
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
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, w.Squeue, "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s --json: %w: %s", w.Squeue, err, bytes.TrimSpace(stderr.Bytes()))
	}
	jobs, err := Parse(stdout.Bytes())
	if err != nil {
		return err
	}
	ended, err := w.Store.ObserveSlurmJobs(ctx, jobs, w.Now())
	if err != nil {
		return err
	}
	if ended > 0 {
		w.Log.Info().Int("jobs", ended).Msg("jobs left the Slurm queue without running; warm-ups only they wanted are cancelled")
	}
	return nil
}

// Package jobprogress shows a waiting job's warm-up where users already look:
// while a job waits for its data (pending in its burst-buffer stage-in, or
// running its prolog), warmupd writes "accel-data: 62% warm, ETA 4m" into the
// job's comment with `scontrol update JobId=N Comment=…`, so `squeue -o
// '%i %T %r %k'` shows it. Slurm 22.05's squeue cannot print the admin
// comment, which is why the comment is used; whatever the comment held before
// is kept in front of the progress text.
//
// Writer is the one owner of when to write: it is driven by the squeue watch
// after each poll, writes at most once per Every per job, only for jobs that
// wait, with at most Parallel scontrol processes at a time, and writes a
// final line once when a job stops waiting.
package jobprogress

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/api"
)

// Marker starts the progress text; everything from it on belongs to warmupd.
// (job_submit.lua's tag "accel-data:<token>" has no space after the colon.)
const Marker = "accel-data: "

// WaitStages are the Slurm reasons of a job that waits for its data, each
// with the stage it names: pending in its stage-in, or allocated and running
// its prolog.
var WaitStages = []struct{ Reason, Stage string }{
	{"BurstBufferStageIn", "stage-in"},
	{"Prolog", "prolog"},
}

// Stage names the stage a WaitStages reason waits in ("" for any other).
func Stage(reason string) string {
	for _, w := range WaitStages {
		if w.Reason == reason {
			return w.Stage
		}
	}
	return ""
}

// ReasonNone is the reason squeue shows for a pending job right after
// `scontrol update` (measured on 22.05: until the next scheduling pass,
// about a second later, it shows BurstBufferStageIn again). A job written
// to before still waits; any other job with it does not.
const ReasonNone = "None"

// Job is one job squeue lists as waiting for its data.
type Job struct {
	JobID   uint64
	Reason  string // a WaitStages reason, or ReasonNone
	Comment string // the job's comment as squeue printed it
}

// Listed says whether squeue's job state and reason make a job a candidate:
// one of WaitStages, or a pending job with ReasonNone.
func Listed(state, reason string) bool {
	return Stage(reason) != "" || (state == "PENDING" && reason == ReasonNone)
}

// Writer writes waiting jobs' progress into their comments.
type Writer struct {
	Scontrol string        // the scontrol binary
	Every    time.Duration // at most one write per job per Every
	Parallel int           // scontrol processes at a time (0: 4)
	// Status is the job's readiness with measured speeds (nil error and
	// datasets: an accel-data job).
	Status func(ctx context.Context, jobID uint64) (*api.JobStatus, error)
	Log    zerolog.Logger
	Now    func() time.Time

	mu   sync.Mutex
	last map[uint64]written // jobs written while waiting
}

type written struct {
	at      time.Time
	comment string
}

// update is one scontrol call to make.
type update struct {
	jobID   uint64
	comment string
}

// Update writes the progress of the jobs squeue lists as waiting (rate
// limited), and a final line for the jobs written before that no longer wait.
func (w *Writer) Update(ctx context.Context, waiting []Job) {
	now := w.Now()
	todo, seen := w.decide(ctx, waiting, now)
	w.record(todo, w.run(ctx, todo), seen, now)
}

// decide returns the writes of one round and the jobs that still wait.
func (w *Writer) decide(ctx context.Context, waiting []Job, now time.Time) ([]update, map[uint64]bool) {
	w.mu.Lock()
	last := make(map[uint64]written, len(w.last))
	for k, v := range w.last {
		last[k] = v
	}
	w.mu.Unlock()
	var todo []update
	seen := make(map[uint64]bool, len(waiting))
	for _, j := range waiting {
		if j.Reason == ReasonNone {
			if _, ok := last[j.JobID]; ok {
				seen[j.JobID] = true // just updated by us: still waiting, nothing to write
			}
			continue
		}
		seen[j.JobID] = true
		st, err := w.Status(ctx, j.JobID)
		if err != nil || st == nil || len(st.Datasets) == 0 {
			continue // not an accel-data job, or warmupd does not know it
		}
		c := Compose(j.Comment, Text(st))
		if Due(last[j.JobID].at, last[j.JobID].comment, j.Comment, c, now, w.Every) {
			todo = append(todo, update{j.JobID, c})
		}
	}
	for id, l := range last {
		if seen[id] {
			continue
		}
		st, err := w.Status(ctx, id)
		if err == nil && st != nil && len(st.Datasets) > 0 {
			if c := Compose(l.comment, Text(st)); c != l.comment {
				todo = append(todo, update{id, c}) // the final line, once
			}
		}
		w.Log.Debug().Err(err).Uint64("job", id).Msg("the job stopped waiting for its data")
	}
	return todo, seen
}

// record remembers the successful writes of jobs that still wait and
// forgets the jobs that stopped waiting.
func (w *Writer) record(todo []update, ok []bool, seen map[uint64]bool, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[uint64]written{}
	}
	for id := range w.last {
		if !seen[id] {
			delete(w.last, id)
		}
	}
	for i, u := range todo {
		if ok[i] && seen[u.jobID] {
			w.last[u.jobID] = written{at: now, comment: u.comment}
		}
	}
}

// Due says whether to write comment now: it differs from what the job shows,
// and the last write for the job was at least every ago (or never).
func Due(lastAt time.Time, lastComment, current, comment string, now time.Time, every time.Duration) bool {
	if comment == current {
		return false
	}
	if lastAt.IsZero() {
		return true
	}
	return comment != lastComment && now.Sub(lastAt) >= every
}

// run makes the scontrol calls, at most Parallel at a time, and says which
// succeeded.
func (w *Writer) run(ctx context.Context, todo []update) []bool {
	ok := make([]bool, len(todo))
	par := w.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, u := range todo {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok[i] = w.set(ctx, u)
		}()
	}
	wg.Wait()
	return ok
}

// set runs `scontrol update JobId=N Comment=…` (an argv, no shell).
func (w *Writer) set(ctx context.Context, u update) bool {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(cctx, w.Scontrol, "update", "JobId="+strconv.FormatUint(u.jobID, 10), "Comment="+u.comment)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		w.Log.Debug().Err(err).Uint64("job", u.jobID).Str("stderr", strings.TrimSpace(stderr.String())).
			Msg("could not write the job's warm-up progress into its comment (the job may have ended)")
		return false
	}
	w.Log.Debug().Uint64("job", u.jobID).Str("comment", u.comment).Msg("wrote the job's warm-up progress into its comment")
	return true
}

// Compose keeps what the comment held before warmupd's marker and puts text
// after it.
func Compose(comment, text string) string {
	if i := strings.Index(comment, Marker); i >= 0 {
		comment = comment[:i]
	}
	comment = strings.TrimSpace(comment)
	if comment == "" || comment == "(null)" {
		return text
	}
	return comment + " " + text
}

// Text is the progress line of a job: "accel-data: 62% warm, ETA 4m" while
// its data warms (ETA from the measured speeds, left out while unknown),
// "accel-data: warm" once every dataset is, and "accel-data: 80% warm,
// settled" when the warm-up ended short of it. Percentages are rounded down.
func Text(st *api.JobStatus) string {
	var bytes, cached int64
	var rate float64
	for _, d := range st.Datasets {
		bytes += d.Bytes
		cached += d.CachedBytes
		if d.State == api.TaskWarming {
			rate += d.WarmRateBps
		}
	}
	pct := 0.0
	if bytes > 0 {
		pct = math.Floor(100 * float64(cached) / float64(bytes))
	}
	switch {
	case st.Warm:
		return Marker + "warm"
	case st.Ready:
		return fmt.Sprintf("%s%.0f%% warm, settled", Marker, pct)
	case bytes == 0:
		return Marker + "warm-up queued"
	case rate > 0:
		eta := time.Duration(float64(bytes-cached) / rate * float64(time.Second))
		return fmt.Sprintf("%s%.0f%% warm, ETA %s", Marker, pct, ShortDuration(eta))
	}
	return fmt.Sprintf("%s%.0f%% warm", Marker, pct)
}

// ShortDuration prints d for people: "40s", "4m", "1h05m".
func ShortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(math.Ceil(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(math.Ceil(d.Minutes())))
	}
	m := int(math.Ceil(d.Minutes()))
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// ErrUnknownRun: a shard report names no warm-up running as a job array
// here (it ended, was cancelled, or warmupd restarted).
var ErrUnknownRun = errors.New("no warm-up of this name runs as a Slurm job array here")

// arrayRun is a warm-up whose shards run as a Slurm job array.
type arrayRun struct {
	st      api.ShardArray
	reports chan api.ShardReport
}

// Report hands a shard's report to the warm-up waiting for it.
func (s *Scheduler) Report(r api.ShardReport) error {
	s.mu.Lock()
	a, ok := s.arrays[r.Run]
	s.mu.Unlock()
	if !ok || a.st.TaskID != r.TaskID {
		return fmt.Errorf("shard %d of %s (task %d): %w", r.Index, r.Run, r.TaskID, ErrUnknownRun)
	}
	select {
	case a.reports <- r:
		return nil
	default:
		return fmt.Errorf("shard %d of %s: too many reports at once; try again", r.Index, r.Run)
	}
}

// Arrays lists the warm-ups running as Slurm job arrays.
func (s *Scheduler) Arrays() []api.ShardArray {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]api.ShardArray, 0, len(s.arrays))
	for _, a := range s.arrays {
		x := a.st
		x.Nodes = slices.Clone(x.Nodes)
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b api.ShardArray) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return out
}

func (s *Scheduler) update(a *arrayRun, f func(*api.ShardArray)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&a.st)
}

// lostAfter is how many squeue polls in a row must miss an unreported shard
// before it counts as lost (its report may be on its way).
const lostAfter = 2

// warmOnSlurm runs the plan's shards as a Slurm job array and waits for
// every shard's report. A shard that fails, or leaves squeue without a
// report (preempted, cancelled, its node died), is submitted again while
// the retry policy allows, then warmed on this node. Cancelling the task
// cancels the array.
func (s *Scheduler) warmOnSlurm(ctx context.Context, t *queue.Task, p *shard.Plan, log zerolog.Logger) error {
	sj := s.cfg.Slurm
	n := len(p.Shards)
	job := shardjob.Job{TaskID: t.ID, Dataset: t.Path, Run: fmt.Sprintf("task%d-a%d-%d", t.ID, t.Attempts, time.Now().UnixNano()),
		JuiceFS: sj.JuiceFS, Threads: sj.Threads}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	dir, err := sj.Prepare(job, p.Shards)
	var jobID string
	if err == nil {
		jobID, err = sj.Submit(ctx, job, dir, all)
	}
	if err != nil {
		log.Warn().Err(err).Msg("could not submit the shards as a Slurm job array; warming them on this node")
		return s.warmLocal(ctx, p.Shards, all, nil)
	}
	a := &arrayRun{reports: make(chan api.ShardReport, 2*n),
		st: api.ShardArray{TaskID: t.ID, Dataset: t.Path, JobID: jobID, Total: n}}
	s.mu.Lock()
	s.arrays[job.Run] = a
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.arrays, job.Run)
		s.mu.Unlock()
	}()
	log.Info().Str("job", jobID).Int("shards", n).Str("spool", dir).Msg("shards submitted as a Slurm job array")

	jobOf := make([]string, n) // the job id each shard runs in now
	tries := make([]int, n)
	missing := make([]int, n)
	pendingSince := make([]time.Time, n)
	done := make([]bool, n)
	for i := range jobOf {
		jobOf[i], tries[i] = jobID, 1
	}
	left := n
	var doneBytes int64
	record := func() {
		c := queue.Check{Files: int64(p.Files), Bytes: p.Bytes, CachedBytes: doneBytes, Method: api.RatioInferred} // from shards done
		if p.Bytes > 0 {
			c.Ratio = float64(doneBytes) / float64(p.Bytes)
		}
		s.progress(t, c, log)
	}
	finish := func(i int, node string) {
		if done[i] {
			return
		}
		done[i] = true
		left--
		doneBytes += p.Shards[i].Bytes
		s.update(a, func(st *api.ShardArray) {
			st.Done++
			if node != "" && !slices.Contains(st.Nodes, node) {
				st.Nodes = append(st.Nodes, node)
			}
		})
		record()
	}
	// again submits shard i once more, or warms it here when the retry
	// policy says no more.
	again := func(i int, why string) error {
		s.update(a, func(st *api.ShardArray) { st.Retried++ })
		if retry, _ := s.cfg.Retry.Decide(tries[i], s.now()); retry {
			tries[i]++
			id, err := sj.Submit(ctx, job, dir, []int{i})
			if err == nil {
				log.Warn().Int("shard", i).Str("why", why).Str("job", id).Int("try", tries[i]).Msg("shard submitted again")
				jobOf[i], missing[i] = id, 0
				return nil
			}
			log.Warn().Err(err).Int("shard", i).Msg("could not submit the shard again")
		}
		log.Warn().Int("shard", i).Str("why", why).Msg("shard warmed on this node instead")
		if err := s.warmLocal(ctx, p.Shards, []int{i}, a); err != nil {
			return err
		}
		finish(i, "")
		return nil
	}
	handle := func(r api.ShardReport) error {
		if r.Index < 0 || r.Index >= n || done[r.Index] {
			return nil
		}
		if r.OK {
			log.Info().Int("shard", r.Index).Str("node", r.Node).Int64("bytes", r.Bytes).Msg("shard warm")
			finish(r.Index, r.Node)
			return nil
		}
		s.update(a, func(st *api.ShardArray) { st.Failed++ })
		return again(r.Index, fmt.Sprintf("failed on %s: %s", r.Node, r.Error))
	}
	tk := time.NewTicker(s.cfg.CheckInterval)
	defer tk.Stop()
	defer func() {
		if left == 0 { // kept after a failure: the array tasks' output is in it
			_ = os.RemoveAll(dir)
		}
	}()
	for left > 0 {
		select {
		case <-ctx.Done():
			s.cancelJobs(jobOf, done, log)
			return ctx.Err()
		case r := <-a.reports:
			if err := handle(r); err != nil {
				s.cancelJobs(jobOf, done, log)
				return err
			}
		case <-tk.C:
			live, err := s.liveShards(ctx, jobOf, done)
			if err != nil {
				log.Debug().Err(err).Msg("squeue")
				continue
			}
		drain: // reports that came with the poll count first
			for {
				select {
				case r := <-a.reports:
					if err := handle(r); err != nil {
						s.cancelJobs(jobOf, done, log)
						return err
					}
				default:
					break drain
				}
			}
			for i := range n {
				key := jobOf[i] + "_" + strconv.Itoa(i)
				state, listed := live[key]
				if state != "PENDING" || done[i] {
					pendingSince[i] = time.Time{}
				} else if pendingSince[i].IsZero() {
					pendingSince[i] = s.now()
				} else if sj.PendingMax > 0 && s.now().Sub(pendingSince[i]) >= sj.PendingMax {
					// No node for it in time: this node warms it.
					if err := sj.Cancel(ctx, key); err != nil {
						log.Warn().Err(err).Str("job", key).Msg("scancel of a pending shard")
					}
					log.Info().Int("shard", i).Dur("pending", sj.PendingMax).Msg("shard waited too long for a node; warmed on this node instead")
					if err := s.warmLocal(ctx, p.Shards, []int{i}, a); err != nil {
						s.cancelJobs(jobOf, done, log)
						return err
					}
					finish(i, "")
					continue
				}
				if done[i] || listed {
					missing[i] = 0
					continue
				}
				if missing[i]++; missing[i] >= lostAfter {
					s.update(a, func(st *api.ShardArray) { st.Failed++ })
					if err := again(i, "left the Slurm queue without a report (preempted, cancelled or its node failed)"); err != nil {
						s.cancelJobs(jobOf, done, log)
						return err
					}
				}
			}
		}
	}
	return nil
}

// liveShards is the state of each array task (JOBID_INDEX) of the shards
// not done that squeue still lists (pending, running, …).
func (s *Scheduler) liveShards(ctx context.Context, jobOf []string, done []bool) (map[string]string, error) {
	var ids []string
	for i, id := range jobOf {
		if !done[i] && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return s.cfg.Slurm.Live(ctx, ids)
}

func (s *Scheduler) cancelJobs(jobOf []string, done []bool, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for i, id := range jobOf {
		if done[i] || seen[id] {
			continue
		}
		seen[id] = true
		if err := s.cfg.Slurm.Cancel(ctx, id); err != nil {
			log.Warn().Err(err).Str("job", id).Msg("scancel of the warm-up's job array")
		}
	}
}

// warmLocal warms shards idx of shards on this node's mount.
func (s *Scheduler) warmLocal(ctx context.Context, shards []shard.Shard, idx []int, a *arrayRun) error {
	for _, i := range idx {
		if _, err := s.driver.Warmup(ctx, shards[i].Files); err != nil {
			return err
		}
		if a != nil {
			s.update(a, func(st *api.ShardArray) { st.Local++ })
		}
	}
	return nil
}

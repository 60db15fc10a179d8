package scheduler

import (
	"cmp"
	"context"
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
// here (it ended, was cancelled, or never ran here).
var ErrUnknownRun = queue.ErrNoShardArray

// arrayRun is a warm-up whose shards run as a Slurm job array.
type arrayRun struct {
	st    api.ShardArray
	nudge chan struct{} // a report of one of its shards was recorded
}

// Report records a shard's report in the store, where the warm-up
// following the array reads it: a report sent while warmupd restarts is
// kept for the restarted warmupd (the runner retries while warmupd does not
// answer). Who may report is the API's (root or SlurmdUser, by the
// caller's uid: nothing of it lives in warmupd's memory).
func (s *Scheduler) Report(ctx context.Context, r api.ShardReport) error {
	if err := s.store.ReportShard(ctx, r, s.now()); err != nil {
		return err
	}
	s.mu.Lock()
	a := s.arrays[r.Run]
	s.mu.Unlock()
	if a != nil {
		select {
		case a.nudge <- struct{}{}:
		default:
		}
	}
	return nil
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

// warmOnSlurm runs the plan's shards as a Slurm job array and follows it
// (followArray). The array is recorded in the store before it is
// submitted, so that no report of it is refused and a restarted warmupd
// follows it. A submission that fails warms the shards on this node.
func (s *Scheduler) warmOnSlurm(ctx context.Context, t *queue.Task, p *shard.Plan, log zerolog.Logger) error {
	sj := s.cfg.Slurm
	n := len(p.Shards)
	job := shardjob.Job{TaskID: t.ID, Dataset: t.Path, Run: fmt.Sprintf("task%d-a%d-%d", t.ID, t.Attempts, time.Now().UnixNano()),
		JuiceFS: sj.JuiceFS, Threads: sj.Threads}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	a := &queue.ShardArray{Run: job.Run, TaskID: t.ID, Files: p.Files, Bytes: p.Bytes}
	for i, sh := range p.Shards {
		a.Shards = append(a.Shards, queue.ArrayShard{Index: i, Bytes: sh.Bytes, State: api.ShardPending, Attempts: 1})
	}
	var err error
	a.Spool, err = sj.Prepare(job, p.Shards)
	if err == nil {
		err = s.store.AddShardArray(ctx, *a, s.now())
		if err == nil {
			if a.JobID, err = sj.Submit(ctx, job, a.Spool, all, shardjob.Try{}); err != nil {
				s.endArray(a.Run, log)
			}
		}
	}
	if err != nil {
		log.Warn().Err(err).Msg("could not submit the shards as a Slurm job array; warming them on this node")
		return s.warmLocal(ctx, p.Shards, all, nil)
	}
	for i := range a.Shards {
		a.Shards[i].JobID = a.JobID
	}
	s.saveShards(a.Run, a.Shards, log)
	log.Info().Str("job", a.JobID).Int("shards", n).Str("spool", a.Spool).Msg("shards submitted as a Slurm job array")
	return s.followArray(ctx, t, p, a, log)
}

// followArray waits for every shard of the job array a (of plan p) to be
// done, from the reports the store records (Report) and squeue every
// CheckInterval, and writes each change of a shard's state through the
// store. A shard that fails, or leaves squeue without a report on two polls
// in a row (preempted, cancelled, its node died), is submitted again while
// the retry policy allows, then warmed on this node; one pending longer
// than WarmupPendingMax is cancelled and warmed on this node. Cancelling
// the task cancels the array; a shutdown of warmupd leaves it running for
// the next warmupd to follow.
func (s *Scheduler) followArray(ctx context.Context, t *queue.Task, p *shard.Plan, a *queue.ShardArray, log zerolog.Logger) error {
	sj := s.cfg.Slurm
	n := len(a.Shards)
	job := shardjob.Job{TaskID: t.ID, Dataset: t.Path, Run: a.Run, JuiceFS: sj.JuiceFS, Threads: sj.Threads}
	run := &arrayRun{nudge: make(chan struct{}, 1), st: api.ShardArray{TaskID: t.ID, Dataset: t.Path, JobID: a.JobID, Total: n}}
	s.mu.Lock()
	s.arrays[a.Run] = run
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.arrays, a.Run)
		s.mu.Unlock()
	}()

	sh := a.Shards // this worker's view; the store's may be ahead by reports
	missing := make([]int, n)
	pendingSince := make([]time.Time, n)
	left := n
	var doneBytes int64
	record := func() {
		c := queue.Check{Files: int64(p.Files), Bytes: p.Bytes, CachedBytes: doneBytes, Method: api.RatioInferred} // from shards done
		if p.Bytes > 0 {
			c.Ratio = float64(doneBytes) / float64(p.Bytes)
		}
		s.progress(t, c, log)
	}
	counted := func(i int) {
		left--
		doneBytes += sh[i].Bytes
		s.update(run, func(st *api.ShardArray) {
			st.Done++
			if sh[i].Node != "" && !slices.Contains(st.Nodes, sh[i].Node) {
				st.Nodes = append(st.Nodes, sh[i].Node)
			}
		})
	}
	for i := range sh {
		if sh[i].State == api.ShardDone {
			counted(i)
		}
	}
	if left < n {
		record()
	}
	finish := func(i int, node string) {
		if sh[i].State == api.ShardDone {
			return
		}
		sh[i].State, sh[i].Node, sh[i].Error = api.ShardDone, node, ""
		s.saveShards(a.Run, sh[i:i+1], log)
		counted(i)
		record()
	}
	// here warms shard i on this node.
	here := func(i int, why string) error {
		log.Warn().Int("shard", i).Str("why", why).Msg("shard warmed on this node instead")
		sh[i].State, sh[i].Node = api.ShardLocal, ""
		s.saveShards(a.Run, sh[i:i+1], log)
		if err := s.warmLocal(ctx, p.Shards, []int{i}, run); err != nil {
			return err
		}
		finish(i, "")
		return nil
	}
	// again submits shard i once more, or warms it here when the retry
	// policy says no more. The try is recorded before sbatch runs, without
	// a job id: a warmupd that dies before saving the id sbatch printed
	// finds that submission by its comment when it comes back
	// (adoptUnrecorded), instead of submitting the shard a third time.
	again := func(i int, why string) error {
		s.update(run, func(st *api.ShardArray) { st.Retried++ })
		if retry, _ := s.cfg.Retry.Decide(sh[i].Attempts, s.now()); retry {
			sh[i].Attempts++
			sh[i].State, sh[i].JobID, sh[i].Node, missing[i], pendingSince[i] = api.ShardPending, "", "", 0, time.Time{}
			s.saveShards(a.Run, sh[i:i+1], log)
			id, err := sj.Submit(ctx, job, a.Spool, []int{i}, shardjob.Try{Shard: i, N: sh[i].Attempts})
			if err == nil {
				sh[i].JobID = id
				s.saveShards(a.Run, sh[i:i+1], log)
				log.Warn().Int("shard", i).Str("why", why).Str("job", id).Int("try", sh[i].Attempts).Msg("shard submitted again")
				return nil
			}
			log.Warn().Err(err).Int("shard", i).Msg("could not submit the shard again")
		}
		return here(i, why)
	}
	// sync takes in the reports the store recorded: shards done, and
	// failures of the submission each shard runs in now.
	sync := func() error {
		got, err := s.store.Shards(ctx, a.Run)
		if err != nil || len(got) != n {
			if ctx.Err() == nil {
				log.Debug().Err(err).Msg("read the shards' reports")
			}
			return nil
		}
		for i, g := range got {
			switch {
			case sh[i].State == api.ShardDone:
			case g.State == api.ShardDone:
				log.Info().Int("shard", i).Str("node", g.Node).Msg("shard warm")
				finish(i, g.Node)
			case g.State == api.ShardFailed && g.JobID == sh[i].JobID && sh[i].State != api.ShardLocal:
				s.update(run, func(st *api.ShardArray) { st.Failed++ })
				if err := again(i, fmt.Sprintf("failed on %s: %s", g.Node, g.Error)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	giveUp := func() {
		s.cancelJobs(sh, log)
		s.endArray(a.Run, log)
	}
	// Shards this node was warming when warmupd stopped: warm them again.
	for i := range sh {
		if sh[i].State == api.ShardLocal {
			if err := here(i, "was being warmed on this node when warmupd stopped"); err != nil {
				giveUp()
				return err
			}
		}
	}
	if err := sync(); err != nil {
		giveUp()
		return err
	}
	tk := time.NewTicker(s.cfg.CheckInterval)
	defer tk.Stop()
	for left > 0 {
		select {
		case <-ctx.Done():
			if taken(ctx) {
				giveUp()
			} else {
				log.Info().Int("left", left).Msg("warmupd stops: the job array runs on; the next warmupd follows it")
			}
			return ctx.Err()
		case <-run.nudge:
			if err := sync(); err != nil {
				giveUp()
				return err
			}
		case <-tk.C:
			live, err := s.liveShards(ctx, sh)
			if err != nil {
				log.Debug().Err(err).Msg("squeue")
				continue
			}
			if err := sync(); err != nil { // reports that came with the poll count first
				giveUp()
				return err
			}
			var started []queue.ArrayShard
			for i := range n {
				if sh[i].State == api.ShardDone {
					continue
				}
				key := sh[i].JobID + "_" + strconv.Itoa(i)
				task, listed := live[key]
				if task.State == "RUNNING" && sh[i].State == api.ShardPending {
					sh[i].State, sh[i].Node = api.ShardRunning, task.Node
					started = append(started, sh[i])
				}
				if task.State != "PENDING" {
					pendingSince[i] = time.Time{}
				} else if pendingSince[i].IsZero() {
					pendingSince[i] = s.now()
				} else if sj.PendingMax > 0 && s.now().Sub(pendingSince[i]) >= sj.PendingMax {
					// No node for it in time: this node warms it.
					if err := sj.Cancel(ctx, key); err != nil {
						log.Warn().Err(err).Str("job", key).Msg("scancel of a pending shard")
					}
					if err := here(i, fmt.Sprintf("waited %s for a node", sj.PendingMax)); err != nil {
						giveUp()
						return err
					}
					continue
				}
				if listed {
					missing[i] = 0
					continue
				}
				if missing[i]++; missing[i] >= lostAfter {
					s.update(run, func(st *api.ShardArray) { st.Failed++ })
					if err := again(i, "left the Slurm queue without a report (preempted, cancelled or its node failed)"); err != nil {
						giveUp()
						return err
					}
				}
			}
			if len(started) > 0 {
				s.saveShards(a.Run, started, log)
			}
		}
	}
	s.endArray(a.Run, log)
	_ = os.RemoveAll(a.Spool) // kept after a failure: the array tasks' output is in it
	return nil
}

// liveShards is the array tasks (JOBID_INDEX) of the shards not done that
// squeue still lists (pending, running, …).
func (s *Scheduler) liveShards(ctx context.Context, sh []queue.ArrayShard) (map[string]shardjob.Task, error) {
	return s.slurm().Live(ctx, jobsOf(sh))
}

// jobsOf is the Slurm jobs the shards not done run in.
func jobsOf(sh []queue.ArrayShard) []string {
	var ids []string
	for _, x := range sh {
		if x.State != api.ShardDone && x.JobID != "" && !slices.Contains(ids, x.JobID) {
			ids = append(ids, x.JobID)
		}
	}
	return ids
}

// slurm is the Slurm configuration; a zero one (the tools in PATH) when
// arrays are off now but one was recorded before.
func (s *Scheduler) slurm() *shardjob.Config {
	if s.cfg.Slurm == nil {
		return &shardjob.Config{}
	}
	return s.cfg.Slurm
}

// cancelJobs cancels the Slurm jobs the shards not done run in.
func (s *Scheduler) cancelJobs(sh []queue.ArrayShard, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range jobsOf(sh) {
		if err := s.slurm().Cancel(ctx, id); err != nil {
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

package scheduler

import (
	"cmp"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/shardjob"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// A warm-up's job array lives in the store (pkg/queue shards.go) from
// before its submission until its shards are all done or it is given up:
// a restarted warmupd follows the arrays it had submitted (resumeArray)
// and cancels those of warm-ups that ended while it was down
// (cancelAbandoned).

// resumeArray follows the job array that t's shards run in when warmupd
// submitted one before it stopped or crashed (the store keeps it): no walk,
// no new submission; shards done stay done. It returns false when there is
// none (or it cannot be followed: it is then cancelled and forgotten, and
// the warm-up starts anew).
func (s *Scheduler) resumeArray(ctx context.Context, t *queue.Task, log zerolog.Logger) (bool, error) {
	a, err := s.store.ShardArrayOf(ctx, t.ID)
	if err != nil {
		log.Warn().Err(err).Msg("cannot read the job array warmupd followed before; warming anew")
		return false, nil
	}
	if a == nil {
		return false, nil
	}
	log = log.With().Str("job", a.JobID).Str("spool", a.Spool).Logger()
	p := &shard.Plan{Root: t.Path, Files: a.Files, Bytes: a.Bytes}
	for _, sh := range a.Shards {
		files, rerr := shard.ReadList(filepath.Join(a.Spool, shardjob.ListFile(sh.Index)))
		if rerr != nil {
			err = rerr
			break
		}
		p.Shards = append(p.Shards, shard.Shard{Files: files, Bytes: sh.Bytes})
	}
	if err == nil && s.cfg.Slurm == nil {
		err = errors.New("WarmupPartition and WarmupQOS are no longer set")
	}
	if err != nil || len(p.Shards) == 0 {
		log.Warn().Err(err).Msg("cannot follow the job array warmupd submitted before it restarted; cancelling it and warming anew")
		s.adoptUnrecorded(ctx, t.ID, a, log)
		s.cancelJobs(a.Shards, log)
		s.endArray(a.Run, log)
		return false, nil
	}
	s.adoptUnrecorded(ctx, t.ID, a, log)
	done := 0
	for _, sh := range a.Shards {
		if sh.State == api.ShardDone {
			done++
		}
	}
	log.Info().Int("shards", len(a.Shards)).Int("done", done).Msg("following the Slurm job array submitted before warmupd restarted")
	return true, s.followArray(ctx, t, p, a, log)
}

// adoptUnrecorded finds, by their comments, the submissions of a (task's
// array) that a previous warmupd made but died before recording (between
// sbatch and saving the job id it printed): the run's array, for the
// shards that were never submitted on their own, and each retried shard's
// own array (its try). It records their ids, so that those shards are
// followed, not submitted once more, and cancelled with the rest when the
// warm-up has ended. A shard whose submission squeue does not list (it
// never reached Slurm, or has ended) keeps no id: a followed one counts as
// lost and is submitted again as usual.
func (s *Scheduler) adoptUnrecorded(ctx context.Context, task int64, a *queue.ShardArray, log zerolog.Logger) {
	byTry := map[shardjob.Try][]int{}
	var tries []shardjob.Try
	for i, sh := range a.Shards {
		if sh.JobID != "" || sh.State != api.ShardPending {
			continue
		}
		try := shardjob.Try{}
		if sh.Attempts > 1 {
			try = shardjob.Try{Shard: i, N: sh.Attempts}
		}
		if _, ok := byTry[try]; !ok {
			tries = append(tries, try)
		}
		byTry[try] = append(byTry[try], i)
	}
	// The run's first array first: the store takes the first id it is
	// given as the array's.
	slices.SortStableFunc(tries, func(x, y shardjob.Try) int { return cmp.Compare(x.N, y.N) })
	var adopted []queue.ArrayShard
	for _, try := range tries {
		shards := byTry[try]
		log := log.With().Int("shards", len(shards)).Int("try", max(1, try.N)).Logger()
		if try.N > 1 {
			log = log.With().Int("shard", try.Shard).Logger()
		}
		id, err := s.slurm().Find(ctx, shardjob.Job{TaskID: task, Run: a.Run}, try)
		if err != nil || id == "" {
			log.Warn().Err(err).Msg("warmupd stopped before it recorded the job array of these shards, and squeue lists none by its comment (never submitted, or ended)")
			continue
		}
		if a.JobID == "" && try == (shardjob.Try{}) {
			a.JobID = id
		}
		for _, i := range shards {
			a.Shards[i].JobID = id
			adopted = append(adopted, a.Shards[i])
		}
		log.Info().Str("job", id).Msg("found the job array warmupd submitted but did not record before it stopped (by its comment)")
	}
	// Only the shards adopted: a report that came in while squeue ran is
	// not written over with what was read before it.
	if len(adopted) > 0 {
		s.saveShards(a.Run, adopted, log)
	}
}

// saveShards writes shards' states through the store (done is final
// there). A failed write is logged: this warm-up goes on from its own view.
func (s *Scheduler) saveShards(run string, shards []queue.ArrayShard, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.UpdateShards(ctx, run, shards, s.now()); err != nil {
		log.Warn().Err(err).Str("run", run).Msg("record the shards' states (a restarted warmupd may warm some again)")
	}
}

// endArray forgets a job array: no report of it is taken any more.
func (s *Scheduler) endArray(run string, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.EndShardArray(ctx, run); err != nil {
		log.Warn().Err(err).Str("run", run).Msg("forget the job array")
	}
}

// cancelAbandoned cancels the job arrays recorded in the store whose task
// ended while no warmupd followed them (cancelled while warmupd was down),
// and forgets them. Run calls it once at start.
func (s *Scheduler) cancelAbandoned(ctx context.Context) {
	arrays, err := s.store.AbandonedShardArrays(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("list the job arrays of ended warm-ups")
		return
	}
	for _, a := range arrays {
		log := s.log.With().Int64("task", a.TaskID).Str("job", a.JobID).Logger()
		shards, err := s.store.Shards(ctx, a.Run)
		if err != nil {
			log.Warn().Err(err).Msg("read the shards of an ended warm-up's job array")
			continue
		}
		log.Info().Msg("the warm-up of this job array ended while warmupd was down: cancelling the array")
		a.Shards = shards
		s.adoptUnrecorded(ctx, a.TaskID, &a, log) // what was submitted but not recorded is cancelled too
		s.cancelJobs(a.Shards, log)
		s.endArray(a.Run, log)
	}
}

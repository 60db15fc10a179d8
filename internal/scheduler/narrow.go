package scheduler

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
	"github.com/accel-data/accel-data/pkg/shard"
)

// hotWhat names each part a warm-up warms first in the scheduler's log
// lines ("narrowed warm-up: subdirectories jobs read are warm; …").
var hotWhat = map[api.HotPart]string{
	api.HotNarrowed:  "subdirectories jobs read are",
	api.HotReleaseAt: "first part of the dataset (directory order) is",
}

// warmHotFirst warms the part of t's dataset that jobs read first (hotPart:
// the subdirectories Config.Narrow names, else the first Config.ReleaseAt
// of its bytes) before the whole dataset, so that part is in the cache
// first; once it is verified warm (juicefs warmup --check of that part at
// the target ratio) the task is marked hot-ready, and jobs waiting for the
// dataset may start; it returns the part and true then. A failure here is
// only logged: the warm-up of the whole dataset follows and decides the
// task's state.
func (s *Scheduler) warmHotFirst(ctx context.Context, t *queue.Task, p *shard.Plan, log zerolog.Logger) (api.HotPart, bool) {
	part, hot, note := s.hotPart(ctx, t.Path, p)
	if len(hot) == 0 || ctx.Err() != nil {
		return part, false
	}
	what := hotWhat[part]
	log = log.With().Str("first_part", string(part)).Int("first_paths", len(hot)).Logger()
	log.Info().Str("first", hot[0]).Str("note", note).Msgf("%s warm-up: warming first what jobs read first", part)
	if err := s.store.NoteWarming(ctx, t.ID, s.owner, note); err != nil {
		log.Debug().Err(err).Msg("record the note of the part warmed first")
	}
	if _, err := s.driver.Warmup(ctx, hot); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msgf("%s warm-up of the part jobs read first failed; warming the whole dataset", part)
		return part, false
	}
	if ctx.Err() != nil {
		return part, false
	}
	// Verified warm, the jobs waiting for the dataset may start while the
	// rest warms (api.JobDataset.HotReady).
	chk, _, err := s.verify(ctx, hot)
	if ctx.Err() != nil {
		return part, false
	}
	if err != nil || chk.Ratio < s.cfg.TargetRatio {
		log.Info().Err(err).Msgf("%s warm-up: the part jobs read first is not verified warm; warming the rest", part)
		return part, false
	}
	if err := s.store.MarkHotReady(ctx, t.ID, s.owner, s.now()); err != nil {
		log.Warn().Err(err).Msgf("%s warm-up: cannot record that the part jobs read first is warm", part)
		return part, false
	}
	rest := "warming the rest"
	if s.restWaits(t, part) {
		rest = "the rest waits for room (NarrowRest=idle)"
	}
	log.Info().Float64("ratio", chk.Ratio).Msgf("%s warm-up: %s warm; jobs may start; %s", part, what, rest)
	return part, true
}

// restWaitsNote is the reason of a task whose rest waits (NarrowRest=idle).
var restWaitsNote = api.HotNarrowed.Note("the rest waits for room")

// restWaits says whether the rest of t's dataset, its narrowed part warm,
// is left to the active warm-up (Config.NarrowRestIdle): only for a
// narrowed part, and not when the active warm-up itself asked for the
// dataset (the planner chose it because the cache has room and nothing
// better waits), so that one warms it all.
func (s *Scheduler) restWaits(t *queue.Task, part api.HotPart) bool {
	return s.cfg.NarrowRestIdle && part == api.HotNarrowed && t.Source != api.SourceActive
}

// leaveRest ends t once its narrowed part is warm, the rest not warmed: one
// check of the whole dataset records what is cached, and the task is warm
// only if that check says so, else partial with reason restWaitsNote. A
// partial dataset with a use history is what the planner's active warm-up
// takes in an idle window with room (planner.Plan), warming the rest then.
func (s *Scheduler) leaveRest(ctx context.Context, t *queue.Task, log zerolog.Logger) {
	s.cfg.Metrics.Walked(metrics.WalkCheck)
	began := s.now()
	chk, err := s.driver.Check(ctx, []string{t.Path})
	if ctx.Err() != nil {
		log.Info().Err(context.Cause(ctx)).Msg("warm-up stopped before the rest was left to wait; result dropped")
		return
	}
	if err != nil {
		log.Warn().Err(err).Msg("check of the whole dataset failed; the rest waits for room, cached bytes not updated")
		s.finish(t, queue.Outcome{State: api.TaskPartial, Err: "check: " + err.Error(), Reason: restWaitsNote}, log)
		return
	}
	if chk.Ratio >= s.cfg.TargetRatio {
		log.Info().Float64("ratio", chk.Ratio).Msg("warm: the rest was already cached")
		s.finish(t, queue.Outcome{State: api.TaskWarm, Check: queue.CheckBegun(chk, began)}, log)
		return
	}
	log.Info().Float64("ratio", chk.Ratio).Msg("narrowed warm-up: the part jobs read is warm; the rest waits for room (partial)")
	s.finish(t, queue.Outcome{State: api.TaskPartial, Check: queue.CheckBegun(chk, began), Reason: restWaitsNote}, log)
}

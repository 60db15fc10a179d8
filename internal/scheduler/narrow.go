package scheduler

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
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
// dataset may start. A failure here is only logged: the warm-up of the
// whole dataset follows and decides the task's state.
func (s *Scheduler) warmHotFirst(ctx context.Context, t *queue.Task, log zerolog.Logger) {
	part, hot, note, err := s.hotPart(ctx, t.Path)
	if err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("cannot list the part of the dataset to warm first; warming the whole dataset")
	}
	if len(hot) == 0 || ctx.Err() != nil {
		return
	}
	what := hotWhat[part]
	log = log.With().Str("first_part", string(part)).Int("first_paths", len(hot)).Logger()
	log.Info().Str("first", hot[0]).Str("note", note).Msgf("%s warm-up: warming first what jobs read first", part)
	if err := s.store.NoteWarming(ctx, t.ID, s.owner, note); err != nil {
		log.Debug().Err(err).Msg("record the note of the part warmed first")
	}
	if _, err := s.driver.Warmup(ctx, hot); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msgf("%s warm-up of the part jobs read first failed; warming the whole dataset", part)
		return
	}
	if ctx.Err() != nil {
		return
	}
	// Verified warm, the jobs waiting for the dataset may start while the
	// rest warms (api.JobDataset.HotReady).
	chk, err := s.verify(ctx, hot)
	if ctx.Err() != nil {
		return
	}
	if err != nil || chk.Ratio < s.cfg.TargetRatio {
		log.Info().Err(err).Msgf("%s warm-up: the part jobs read first is not verified warm; warming the rest", part)
		return
	}
	if err := s.store.MarkHotReady(ctx, t.ID, s.owner, s.now()); err != nil {
		log.Warn().Err(err).Msgf("%s warm-up: cannot record that the part jobs read first is warm", part)
		return
	}
	log.Info().Float64("ratio", chk.Ratio).Msgf("%s warm-up: %s warm; jobs may start; warming the rest", part, what)
}

package scheduler

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/queue"
)

// warmHotFirst warms the subpaths Config.Narrow names for t's dataset
// before the whole dataset, so the data jobs read is in the cache first.
// A failure here is only logged: the warm-up of the whole dataset follows
// and decides the task's state.
func (s *Scheduler) warmHotFirst(ctx context.Context, t *queue.Task, log zerolog.Logger) {
	if s.cfg.Narrow == nil {
		return
	}
	hot := s.cfg.Narrow(ctx, t.Path)
	if len(hot) == 0 || ctx.Err() != nil {
		return
	}
	log.Info().Strs("first", hot).Msg("narrowed warm-up: warming the subdirectories jobs read first")
	if _, err := s.driver.Warmup(ctx, hot); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("narrowed warm-up of the subdirectories failed; warming the whole dataset")
		return
	}
	if ctx.Err() == nil {
		log.Info().Strs("first", hot).Msg("narrowed warm-up: subdirectories jobs read are warm; warming the rest")
	}
}

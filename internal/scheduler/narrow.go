package scheduler

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/queue"
)

// warmHotFirst warms the subpaths Config.Narrow names for t's dataset
// before the whole dataset, so the data jobs read is in the cache first;
// once they are verified warm (juicefs warmup --check at the target ratio)
// the task is marked hot-ready, and jobs waiting for the dataset may start.
// A failure here is only logged: the warm-up of the whole dataset follows
// and decides the task's state.
func (s *Scheduler) warmHotFirst(ctx context.Context, t *queue.Task, log zerolog.Logger) {
	if s.cfg.Narrow == nil {
		return
	}
	hot, note := s.cfg.Narrow(ctx, t.Path)
	if len(hot) == 0 || ctx.Err() != nil {
		return
	}
	log.Info().Strs("first", hot).Str("note", note).Msg("narrowed warm-up: warming the subdirectories jobs read first")
	if note != "" {
		if err := s.store.NoteWarming(ctx, t.ID, s.owner, note); err != nil {
			log.Debug().Err(err).Msg("record the narrowed warm-up's note")
		}
	}
	if _, err := s.driver.Warmup(ctx, hot); err != nil && ctx.Err() == nil {
		log.Warn().Err(err).Msg("narrowed warm-up of the subdirectories failed; warming the whole dataset")
		return
	}
	if ctx.Err() != nil {
		return
	}
	// Verified warm, the jobs waiting for the dataset may start while the
	// rest warms (api.JobDataset.HotReady).
	chk, err := s.driver.Check(ctx, hot)
	if err != nil || chk.Ratio < s.cfg.TargetRatio {
		log.Info().Err(err).Msg("narrowed warm-up: the subdirectories jobs read are not verified warm; warming the rest")
		return
	}
	if err := s.store.MarkHotReady(ctx, t.ID, s.owner, s.now()); err != nil {
		log.Warn().Err(err).Msg("narrowed warm-up: cannot record that the subdirectories jobs read are warm")
		return
	}
	log.Info().Strs("first", hot).Float64("ratio", chk.Ratio).Msg("narrowed warm-up: subdirectories jobs read are warm; jobs may start; warming the rest")
}

package main

import (
	"context"
	"time"

	"github.com/accel-data/accel-data/pkg/queue"
)

// minHistoryRetention is the shortest --history-retention (0 aside).
const minHistoryRetention = time.Second

// pruneHistory deletes the history older than --history-retention (ended
// jobs, finished attempts, the requests log: queue.Store.PruneHistory) at start and then once
// an hour, or ten times per retention when that is shorter, until ctx ends.
// A failure is logged and tried again at the next round.
func (d *daemon) pruneHistory(ctx context.Context) {
	keep := d.o.history
	every := min(time.Hour, keep/10) // at least 100 ms (minHistoryRetention)
	for {
		start := time.Now()
		got, err := d.store.PruneHistory(ctx, start.Add(-keep))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Warn().Err(err).Dur("next_in", every).Msg("cannot prune the history of ended jobs; trying again later")
		case got != queue.HistoryPruned{}:
			d.log.Info().Int64("jobs", got.Jobs).Int64("attempts", got.Attempts).Int64("requests", got.Requests).Dur("took", time.Since(start)).
				Stringer("retention", keep).Msg("deleted the ended jobs, finished attempts and requests older than --history-retention")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

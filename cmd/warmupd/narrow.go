package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/pkg/queue"
)

// narrowMaxShare: when the subdirectories jobs read hold this share of a
// dataset or more, narrowing would not help and the dataset is warmed at once.
const narrowMaxShare = 0.9

// narrower is the scheduler's Narrow hook (--narrow-warmups): the existing
// subdirectories of a dataset that jobs read, busiest first, and the note
// `swarmup queue` shows after "narrowed: " ("3 of 40 subdirectories, 38 % of bytes").
func narrower(store *queue.Store, log zerolog.Logger) func(context.Context, string) ([]string, string) {
	return func(ctx context.Context, dataset string) ([]string, string) {
		hot, share, err := store.HotSubpaths(ctx, dataset, narrowMaxShare)
		if err != nil {
			log.Warn().Err(err).Str("dataset", dataset).Msg("access history unavailable; warming the whole dataset")
			return nil, ""
		}
		out := hot[:0]
		for _, p := range hot {
			if st, err := os.Stat(p); err == nil && st.IsDir() { // juicefs warmup fails on a missing first path
				out = append(out, p)
			}
		}
		if len(out) == 0 {
			return nil, ""
		}
		dirs := 0
		if es, err := os.ReadDir(dataset); err == nil {
			for _, e := range es {
				if e.IsDir() {
					dirs++
				}
			}
		}
		note := fmt.Sprintf("%d of %d subdirectories, %.0f %% of bytes", len(out), max(dirs, len(out)), 100*share)
		log.Info().Str("dataset", dataset).Str("note", note).Msg("narrowed: warming first the subdirectories jobs read")
		return out, note
	}
}

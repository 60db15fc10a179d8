package scheduler

import (
	"context"
	"fmt"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/shard"
)

// hotPart is the one owner of "which part of a dataset warms first": the
// subdirectories jobs read when Config.Narrow names any (narrowing wins),
// else with Config.ReleaseAt the first share of the dataset's bytes in
// directory order, cut from the plan's one walk (firstPart: no walk of its
// own), else nothing (the whole dataset at once). The note is the task's
// reason while it warms (api.HotPart.Note).
func (s *Scheduler) hotPart(ctx context.Context, dataset string, p *shard.Plan) (part api.HotPart, paths []string, note string) {
	if s.cfg.Narrow != nil {
		if hot, detail := s.cfg.Narrow(ctx, dataset); len(hot) > 0 {
			return api.HotNarrowed, hot, api.HotNarrowed.Note(detail)
		}
	}
	if s.cfg.ReleaseAt <= 0 || ctx.Err() != nil {
		return "", nil, ""
	}
	first, detail := firstPart(p, s.cfg.ReleaseAt)
	if len(first) == 0 {
		return "", nil, ""
	}
	return api.HotReleaseAt, first, api.HotReleaseAt.Note(detail)
}

// firstPart is the plan's files in directory order up to the first one at
// which ratio of the dataset's bytes is reached, and a note ("first 25 % of
// bytes: 3 of 12 files, 12 MiB"). It is empty when the plan listed no file
// (the dataset is a file, its walk failed) or holds no bytes, or when the
// part would be all of it: a warm-up of the whole dataset does the same.
func firstPart(p *shard.Plan, ratio float64) ([]string, string) {
	first, got := p.First(ratio)
	if len(first) == 0 {
		return nil, ""
	}
	return first, fmt.Sprintf("first %.0f %% of bytes: %d of %d files, %s", 100*ratio, len(first), p.Files, bytesize.Format(got))
}

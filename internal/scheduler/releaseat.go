package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/pkg/api"
)

// hotPart is the one owner of "which part of a dataset warms first": the
// subdirectories jobs read when Config.Narrow names any (narrowing wins),
// else with Config.ReleaseAt the first share of the dataset's bytes in
// directory order (firstPart), else nothing (the whole dataset at once).
// The note is the task's reason while it warms (api.HotPart.Note).
func (s *Scheduler) hotPart(ctx context.Context, dataset string) (part api.HotPart, paths []string, note string, err error) {
	if s.cfg.Narrow != nil {
		if hot, detail := s.cfg.Narrow(ctx, dataset); len(hot) > 0 {
			return api.HotNarrowed, hot, api.HotNarrowed.Note(detail), nil
		}
	}
	if s.cfg.ReleaseAt <= 0 || ctx.Err() != nil {
		return "", nil, "", nil
	}
	first, detail, err := firstPart(ctx, dataset, s.cfg.ReleaseAt)
	if err != nil || len(first) == 0 {
		return "", nil, "", err
	}
	return api.HotReleaseAt, first, api.HotReleaseAt.Note(detail), nil
}

// firstPart lists the regular files of directory root in directory order
// (lexical, as filepath.WalkDir and ls -R go; the order a job that reads
// "in order" reads) up to the first one at which ratio of root's bytes is
// reached, and a note ("first 25 % of bytes: 3 of 12 files, 12 MiB"). It
// lists nothing when root is a file, holds no bytes, or when the part would
// be all of it: a warm-up of the whole dataset does the same.
func firstPart(ctx context.Context, root string, ratio float64) ([]string, string, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, "", err
	}
	var total int64
	var files int
	err := walkFiles(ctx, root, func(_ string, size int64) bool { total += size; files++; return true })
	if err != nil || total == 0 {
		return nil, "", err
	}
	need := int64(math.Ceil(ratio * float64(total)))
	var got int64
	var first []string
	err = walkFiles(ctx, root, func(p string, size int64) bool {
		first = append(first, p)
		got += size
		return got < need
	})
	if err != nil || len(first) >= files {
		return nil, "", err
	}
	return first, fmt.Sprintf("first %.0f %% of bytes: %d of %d files, %s", 100*ratio, len(first), files, bytesize.Format(got)), nil
}

// walkFiles calls each with every regular file under root in directory
// order and its size, until each returns false. Unreadable entries are
// skipped (the warm-up of the whole dataset reports them).
func walkFiles(ctx context.Context, root string, each func(path string, size int64) bool) error {
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if !each(p, info.Size()) {
			return fs.SkipAll
		}
		return nil
	})
	if errors.Is(err, fs.SkipAll) {
		return nil
	}
	return err
}

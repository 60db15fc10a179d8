package cachemgr

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/manifest"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/jfs"
	"github.com/accel-data/accel-data/pkg/queue"
)

// SampleConfidence is the confidence of a sampled ratio's bound.
const SampleConfidence = 0.99

// ManifestWalkTimeout bounds the walk that writes a dataset's manifest.
const ManifestWalkTimeout = 30 * time.Minute

// DefaultSampleError is the widest ± a sampled ratio may have.
const DefaultSampleError = 0.01

// Verdict is what a check says about a warm dataset.
type Verdict int

// The verdicts of Sampler.Check.
const (
	Warm  Verdict = iota // at least the target ratio (for a sample: its lower bound)
	Short                // below the target (for a sample: its upper bound)
)

// Sampler checks a dataset's cache status without walking it: from the
// dataset's manifest (its file list, internal/manifest) it draws a random
// sample of files, checks them with one `juicefs warmup --check -f LIST`, and
// estimates the dataset's cached byte ratio with a confidence bound at
// SampleConfidence (SampleBound). It is the one owner of "check a dataset": the
// Verifier's re-verifications and the periodic refresh both call Check.
//
// It walks (a full --check of the directory, and a new manifest) when there
// is no manifest, when the sample would be at least half the files, when the
// sample says the files changed (a file missing or of another size), and when
// the sample cannot tell warm from short; so "warm" is said only when the
// sample's lower bound reaches the target, or a full check found it.
type Sampler struct {
	// Dir is the manifest directory (manifest.Dir); "" never samples.
	Dir string
	// MaxError is the ± a sample is sized for (DefaultSampleError).
	MaxError float64
	// Target is the ratio that counts as warm.
	Target float64

	driver Checker
	log    zerolog.Logger

	mu  sync.Mutex
	rng *rand.Rand
}

// NewSampler builds a sampler; seed makes its samples repeatable in tests (0: random).
func NewSampler(dir string, target float64, driver Checker, log zerolog.Logger, seed uint64) *Sampler {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return &Sampler{Dir: dir, MaxError: DefaultSampleError, Target: target, driver: driver, log: log,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// sampleL is ln(2/α) of a two-sided bound at SampleConfidence.
var sampleL = math.Log(2 / (1 - SampleConfidence))

// spread is the largest file over the mean file of a manifest: how much one
// file can weigh in a sample (1 when all files are the same size).
func spread(info manifest.Info) float64 {
	return float64(info.MaxSize) / (float64(info.Bytes) / float64(info.Files))
}

// SampleSize is how many of a manifest's files (drawn without replacement)
// give a byte-ratio estimate within ±eps at SampleConfidence when the ratio
// is at target, the hardest case a warm-or-short decision meets: Bernstein's
// bound with the variance of a file's share bounded by spread·min(p, 1−p)
// (see SampleBound), or Hoeffding's, n = ln(2/α)·spread²/(2 ε²), if smaller.
// Equal-sized files need 2 879 files for ±0.9 % around a 99 % target
// whatever the dataset's size; a spread of sizes needs more.
func SampleSize(info manifest.Info, eps, target float64) int64 {
	if info.Files <= 0 || info.Bytes <= 0 || eps <= 0 {
		return info.Files
	}
	s := spread(info)
	q := min(max(1-target, 0), 0.5)
	n := min(sampleL*s*s/(2*eps*eps), sampleL*s*(2*q+8*eps/3)/(eps*eps))
	if n >= float64(info.Files) {
		return info.Files
	}
	return int64(math.Ceil(n))
}

// SampleBound is the ± at SampleConfidence of a byte ratio estimated as
// ratio from n files of a manifest. Each file's share X (scaled so that the
// mean is the ratio) lies in [0, spread], so Var X <= spread·min(p, 1−p):
// Bernstein's inequality n ε² <= ln(2/α)·(2 spread (m+ε) + 2 spread ε/3),
// m = min(ratio, 1−ratio), solved for ε. It is tight near 0 and 1 (a warm
// dataset); Hoeffding's spread·sqrt(ln(2/α)/(2n)) is used where smaller.
func SampleBound(info manifest.Info, n int64, ratio float64) float64 {
	if n <= 0 || info.Files <= 0 || info.Bytes <= 0 {
		return 1
	}
	s, fn := spread(info), float64(n)
	hoeffding := s * math.Sqrt(sampleL/(2*fn))
	m := min(max(ratio, 0), max(1-ratio, 0))
	a := 8.0 / 3 * s * sampleL
	bernstein := (a + math.Sqrt(a*a+8*fn*s*sampleL*m)) / (2 * fn)
	return min(hoeffding, bernstein)
}

// eps is the ± a sample is sized for: MaxError, and narrow enough that a
// sample that juicefs reports as "100.0%" (jfs.MaxRoundedRatio) can still be
// called warm at Target; 0 when Target leaves no room (then it walks).
func (s *Sampler) eps() float64 {
	room := (jfs.MaxRoundedRatio - s.Target) * 0.95
	return max(min(s.MaxError, room), 0)
}

// Check reports path's cache status and whether it is warm. A walked check
// is exact (up to juicefs's rounding); a sampled one has Method sampled and
// its Bound.
func (s *Sampler) Check(ctx context.Context, path string) (queue.Check, Verdict, error) {
	if s.Dir == "" {
		return s.walk(ctx, path, false)
	}
	info, err := manifest.ReadInfo(s.Dir, path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn().Err(err).Str("dataset", path).Msg("manifest unreadable; walking again")
		}
		return s.walk(ctx, path, true)
	}
	eps := s.eps()
	n := SampleSize(info, eps, s.Target)
	if eps <= 0 || 2*n >= info.Files {
		return s.walk(ctx, path, false) // as cheap as the sample, and exact
	}
	files, info, err := manifest.Pick(s.Dir, path, s.draw(info.Files, n))
	if err != nil || int64(len(files)) != n {
		s.log.Warn().Err(err).Str("dataset", path).Int("got", len(files)).Int64("want", n).Msg("manifest short; walking again")
		return s.walk(ctx, path, true)
	}
	paths := make([]string, len(files))
	var sampleBytes int64
	for i, f := range files {
		paths[i] = f.Path
		sampleBytes += f.Size
	}
	r, err := s.driver.Check(ctx, paths)
	var pe *jfs.PathError
	switch {
	case errors.As(err, &pe):
		s.log.Info().Str("dataset", path).Str("why", pe.Error()).Msg("a sampled file is gone; walking again")
		return s.walk(ctx, path, true)
	case err != nil:
		return queue.Check{}, Short, err
	case changed(r, n, sampleBytes):
		s.log.Info().Str("dataset", path).Int64("files", r.Files).Int64("want_files", n).
			Int64("bytes", r.TotalBytes).Int64("want_bytes", sampleBytes).Msg("the sample says the dataset changed; walking again")
		return s.walk(ctx, path, true)
	}
	// Σ cached of the sample, scaled to the dataset: p = (N/n)·Σc / B.
	p := r.Ratio * float64(sampleBytes) * float64(info.Files) / float64(n) / float64(info.Bytes)
	p = min(max(p, 0), 1)
	bound := SampleBound(info, n, p)
	c := queue.Check{Files: info.Files, Bytes: info.Bytes, CachedBytes: int64(math.Round(p * float64(info.Bytes))), Ratio: p,
		Method: api.RatioSampled, Bound: bound, Sample: n}
	switch {
	case p-bound >= s.Target:
		return c, Warm, nil
	case p+bound < s.Target:
		return c, Short, nil
	}
	s.log.Debug().Str("dataset", path).Float64("ratio", p).Float64("bound", bound).Msg("sample inconclusive; checking every file")
	return s.walk(ctx, path, false)
}

// CheckAfter is Check for a dataset an event marked stale (stale; "" for
// none). After a changelog event (files created, removed, renamed or
// written under it) it walks the dataset and writes its manifest afresh: a
// sample drawn from the manifest cannot see a file created after it was
// written, and would call the dataset warm.
func (s *Sampler) CheckAfter(ctx context.Context, path string, stale api.StaleReason) (queue.Check, Verdict, error) {
	if stale == api.StaleChangelog {
		s.log.Debug().Str("dataset", path).Msg("the changelog shows the dataset changed; walking it")
		return s.walk(ctx, path, true)
	}
	return s.Check(ctx, path)
}

// changed reports whether a sample's --check disagrees with the manifest:
// fewer files checked, or a total size off by more than juicefs's rounding.
func changed(r *jfs.CheckResult, n, sampleBytes int64) bool {
	if r.Files != n {
		return true
	}
	return math.Abs(float64(r.TotalBytes-sampleBytes)) > 0.05*float64(sampleBytes)+1024
}

// walk runs a full --check of path and, when remanifest (or there is no
// manifest yet), writes its manifest afresh from one walk.
func (s *Sampler) walk(ctx context.Context, path string, remanifest bool) (queue.Check, Verdict, error) {
	r, err := s.driver.Check(ctx, []string{path})
	if err != nil {
		return queue.Check{}, Short, err
	}
	c := *queue.CheckOf(r)
	c.Method = api.RatioWalked
	if s.Dir != "" {
		if !remanifest {
			_, err := manifest.ReadInfo(s.Dir, path)
			remanifest = err != nil
		}
		if remanifest {
			// Not cut by the check's own bound (VerifyTimeout): a walk cut
			// short would leave no manifest, and the next check walks again.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ManifestWalkTimeout)
			s.Remember(wctx, path)
			cancel()
		}
	}
	if c.Ratio >= s.Target {
		return c, Warm, nil
	}
	return c, Short, nil
}

// Remember walks path and writes its manifest (logging a failure: the next
// check walks again).
func (s *Sampler) Remember(ctx context.Context, path string) {
	files, info, err := manifest.Walk(ctx, path)
	if err == nil {
		err = manifest.Write(s.Dir, path, files, info)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("dataset", path).Msg("no manifest; the next check walks again")
		return
	}
	s.log.Debug().Str("dataset", path).Int64("files", info.Files).Msg("manifest written")
}

// draw picks n distinct line numbers of [0, total) uniformly (Floyd's algorithm).
func (s *Sampler) draw(total, n int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	picked := make(map[int64]bool, n)
	out := make([]int64, 0, n)
	for j := total - n; j < total; j++ {
		t := s.rng.Int64N(j + 1)
		if picked[t] {
			t = j
		}
		picked[t] = true
		out = append(out, t)
	}
	return out
}

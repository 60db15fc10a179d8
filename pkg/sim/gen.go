package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// GenConfig describes a synthetic workload.
type GenConfig struct {
	Seed     uint64
	Jobs     int
	Datasets int
	// ZipfS is the Zipf exponent of dataset popularity (rank r is used with weight 1/r^s).
	ZipfS float64
	// MinBytes..MaxBytes bound dataset sizes, drawn log-uniformly.
	MinBytes, MaxBytes int64
	// JobsPerDay is the mean submission rate; Diurnal in [0,1) is the amplitude
	// of the daily cycle (peak at 14:00, trough at 02:00).
	JobsPerDay, Diurnal float64
	// MeanQueueWait is the mean time from submit to start (exponential, seconds);
	// MeanDuration the median run time (lognormal, seconds).
	MeanQueueWait, MeanDuration float64
	// StartError is the relative error of the expected start squeue predicts (0.3 = ±30 % of the wait).
	StartError float64
	// MultiDataset is the probability that a job reads a second dataset.
	MultiDataset float64
	// FullRead is the probability a job reads its whole dataset; otherwise it reads 20-100 %.
	FullRead float64
}

// DefaultGen is the workload of the reference traces.
func DefaultGen() GenConfig {
	return GenConfig{Seed: 1, Jobs: 2000, Datasets: 200, ZipfS: 1.1, MinBytes: 1 << 30, MaxBytes: 10 << 40,
		JobsPerDay: 400, Diurnal: 0.6, MeanQueueWait: 3 * 3600, MeanDuration: 4 * 3600, StartError: 0.3,
		MultiDataset: 0.15, FullRead: 0.6}
}

// Generate returns a trace with Zipf dataset popularity, a diurnal submission
// pattern and log-uniform dataset sizes, deterministic for a given Seed.
func Generate(c GenConfig) ([]Job, error) {
	if c.Jobs <= 0 || c.Datasets <= 0 || c.MinBytes <= 0 || c.MaxBytes < c.MinBytes || c.JobsPerDay <= 0 || c.Diurnal < 0 || c.Diurnal >= 1 {
		return nil, fmt.Errorf("generator: need jobs > 0, datasets > 0, 0 < min-bytes <= max-bytes, jobs-per-day > 0, 0 <= diurnal < 1")
	}
	r := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	sizes := make([]int64, c.Datasets)
	lmin, lmax := math.Log(float64(c.MinBytes)), math.Log(float64(c.MaxBytes))
	for i := range sizes {
		sizes[i] = int64(math.Exp(lmin + r.Float64()*(lmax-lmin)))
	}
	// Popularity rank -> dataset, independent of size.
	rank := r.Perm(c.Datasets)
	cdf := make([]float64, c.Datasets)
	sum := 0.0
	for k := range cdf {
		sum += 1 / math.Pow(float64(k+1), c.ZipfS)
		cdf[k] = sum
	}
	pick := func() int {
		x := r.Float64() * sum
		return rank[sort.SearchFloat64s(cdf, x)]
	}
	rate := c.JobsPerDay / 86400 * (1 + c.Diurnal) // thinning bound
	jobs := make([]Job, 0, c.Jobs)
	t := 0.0
	for len(jobs) < c.Jobs {
		t += r.ExpFloat64() / rate
		phase := 2 * math.Pi * (math.Mod(t, 86400) - 8*3600) / 86400 // peak at 14:00
		if r.Float64()*(1+c.Diurnal) > 1+c.Diurnal*math.Sin(phase) {
			continue
		}
		wait := math.Max(60, r.ExpFloat64()*c.MeanQueueWait)
		exp := math.Max(0, wait*(1+c.StartError*(2*r.Float64()-1)))
		nodes := []int{1, 1, 1, 2, 2, 4, 8}[r.IntN(7)]
		j := Job{ID: int64(len(jobs) + 1), Submit: math.Round(t), Start: math.Round(t + wait), ExpectedStart: math.Round(t + exp),
			Duration: math.Round(c.MeanDuration * math.Exp(r.NormFloat64()*0.8)), Nodes: nodes, GPUs: 8 * nodes}
		if j.ExpectedStart == 0 {
			j.ExpectedStart = 1
		}
		seen := map[int]bool{}
		for n := 0; n == 0 || (n == 1 && r.Float64() < c.MultiDataset); n++ {
			d := pick()
			if seen[d] {
				break
			}
			seen[d] = true
			read := 1.0
			if r.Float64() >= c.FullRead {
				read = math.Round((0.2+0.8*r.Float64())*100) / 100
			}
			j.Datasets = append(j.Datasets, Use{Path: fmt.Sprintf("/jfs/datasets/d%04d", d), Bytes: sizes[d], Read: read})
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// TotalBytes is the sum of the sizes of the distinct datasets in jobs (the working set).
func TotalBytes(jobs []Job) int64 {
	seen := map[string]bool{}
	var n int64
	for _, j := range jobs {
		for _, u := range j.Datasets {
			if !seen[u.Path] {
				seen[u.Path] = true
				n += u.Bytes
			}
		}
	}
	return n
}

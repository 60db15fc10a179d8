package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/accel-data/accel-data/pkg/sim"
	"github.com/spf13/cobra"
)

func newCmdGen(out io.Writer) *cobra.Command {
	c := sim.DefaultGen()
	var outPath string
	var minGiB, maxGiB float64
	cmd := &cobra.Command{
		Use:   "gen [--jobs N] [--datasets N] [--seed S] [-o FILE]",
		Short: "write a synthetic trace (Zipf popularity, diurnal submissions, 1 GiB..10 TiB datasets)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c.MinBytes, c.MaxBytes = int64(minGiB*(1<<30)), int64(maxGiB*(1<<30))
			jobs, err := sim.Generate(c)
			if err != nil {
				return err
			}
			w := out
			if outPath != "" && outPath != "-" {
				f, err := os.Create(outPath)
				if err != nil {
					return fmt.Errorf("create trace: %w", err)
				}
				defer f.Close()
				w = f
			}
			if strings.HasSuffix(outPath, ".csv") {
				return sim.WriteCSV(w, jobs)
			}
			return sim.WriteJSONL(w, jobs)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&outPath, "output", "o", "-", "output file; .csv writes CSV, anything else JSON lines")
	f.Uint64Var(&c.Seed, "seed", c.Seed, "random seed (same seed, same trace)")
	f.IntVar(&c.Jobs, "jobs", c.Jobs, "number of jobs")
	f.IntVar(&c.Datasets, "datasets", c.Datasets, "number of distinct datasets")
	f.Float64Var(&c.ZipfS, "zipf", c.ZipfS, "Zipf exponent of dataset popularity")
	f.Float64Var(&minGiB, "min-gib", float64(c.MinBytes)/(1<<30), "smallest dataset, GiB")
	f.Float64Var(&maxGiB, "max-gib", float64(c.MaxBytes)/(1<<30), "largest dataset, GiB")
	f.Float64Var(&c.JobsPerDay, "jobs-per-day", c.JobsPerDay, "mean submissions per day")
	f.Float64Var(&c.Diurnal, "diurnal", c.Diurnal, "amplitude of the daily cycle, 0..1")
	f.Float64Var(&c.MeanQueueWait, "queue-wait", c.MeanQueueWait, "mean submit-to-start wait, seconds")
	f.Float64Var(&c.MeanDuration, "duration", c.MeanDuration, "median run time, seconds")
	f.Float64Var(&c.StartError, "start-error", c.StartError, "relative error of the expected start")
	f.Float64Var(&c.MultiDataset, "multi", c.MultiDataset, "probability a job reads a second dataset")
	f.Float64Var(&c.FullRead, "full-read", c.FullRead, "probability a job reads its whole dataset")
	return cmd
}

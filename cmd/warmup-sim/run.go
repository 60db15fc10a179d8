package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/accel-data/accel-data/pkg/sim"
	"github.com/spf13/cobra"
)

type runOptions struct {
	trace     string
	policy    string
	cacheFrac float64
	cacheGiB  float64
	phys      sim.Physics
	out       io.Writer
}

func newCmdRun(out io.Writer) *cobra.Command {
	o := &runOptions{phys: sim.DefaultPhysics(), out: out}
	var objGiB, warmGiB float64
	cmd := &cobra.Command{
		Use:   "run --trace FILE [--policy all|none|fifo|accel|oracle] [--cache-frac 0.3]",
		Short: "replay a trace and print the figures of each policy",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			o.phys.ObjectBW, o.phys.WarmBW = objGiB*(1<<30), warmGiB*(1<<30)
			return runRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.trace, "trace", "", "trace file (JSON lines or CSV; see docs/design/simulator.md)")
	f.StringVar(&o.policy, "policy", "all", "all, or a comma-separated list of none, fifo, accel, oracle")
	f.Float64Var(&o.cacheFrac, "cache-frac", 0.3, "cache capacity as a fraction of the total bytes of the trace's datasets")
	f.Float64Var(&o.cacheGiB, "cache-gib", 0, "cache capacity in GiB (overrides --cache-frac)")
	f.Float64Var(&objGiB, "object-bw", float64(o.phys.ObjectBW)/(1<<30), "object-storage bandwidth for warm-ups, GiB/s")
	f.Float64Var(&warmGiB, "warm-bw", float64(o.phys.WarmBW)/(1<<30), "bandwidth of one warm-up, GiB/s")
	f.IntVar(&o.phys.Workers, "workers", o.phys.Workers, "concurrent warm-ups")
	f.Float64Var(&o.phys.PrologWait, "prolog-wait", o.phys.PrologWait, "prolog wait bound, seconds")
	f.Float64Var(&o.phys.Tick, "tick", o.phys.Tick, "clock step (scheduler interval), seconds")
	_ = cmd.MarkFlagRequired("trace")
	return cmd
}

func runRun(o *runOptions) error {
	fh, err := os.Open(o.trace)
	if err != nil {
		return fmt.Errorf("open trace: %w (make one with `warmup-sim gen`)", err)
	}
	defer fh.Close()
	jobs, err := sim.ReadTrace(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", o.trace, err)
	}
	total := sim.TotalBytes(jobs)
	o.phys.CacheBytes = int64(o.cacheFrac * float64(total))
	if o.cacheGiB > 0 {
		o.phys.CacheBytes = int64(o.cacheGiB * (1 << 30))
	}
	pols := []string{"none", "fifo", "accel", "oracle"}
	if o.policy != "all" {
		pols = strings.Split(o.policy, ",")
	}
	fmt.Fprintf(o.out, "trace %s: %d jobs, working set %s TiB, cache %s TiB (%.0f %%), object storage %.1f GiB/s, %d workers x %.1f GiB/s, prolog bound %.0fs\n\n",
		o.trace, len(jobs), sim.TiB(total), sim.TiB(o.phys.CacheBytes), 100*float64(o.phys.CacheBytes)/float64(total),
		o.phys.ObjectBW/(1<<30), o.phys.Workers, o.phys.WarmBW/(1<<30), o.phys.PrologWait)
	var rs []sim.Result
	for _, p := range pols {
		r, err := sim.Run(jobs, o.phys, strings.TrimSpace(p), nil)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	return sim.WriteTable(o.out, rs)
}

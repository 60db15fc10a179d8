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
	var objGiB, warmGiB, clientGiB float64
	var releaseAt string
	cmd := &cobra.Command{
		Use:   "run --trace FILE [--policy all|none,fifo,accel,stagein,oracle,...] [--cache-frac 0.3] [--release-at off|first-epoch|RATIO]",
		Short: "replay a trace and print the figures of each policy",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			o.phys.ObjectBW, o.phys.WarmBW, o.phys.ClientBW = objGiB*(1<<30), warmGiB*(1<<30), clientGiB*(1<<30)
			var err error
			if o.phys.ReleaseAt, err = sim.ParseReleaseAt(releaseAt); err != nil {
				return err
			}
			return runRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.trace, "trace", "", "trace file (JSON lines or CSV; see docs/design/simulator.md)")
	f.StringVar(&o.policy, "policy", "all", "all (none, fifo, accel, stagein, oracle), or a comma-separated list of "+strings.Join(sim.Policies, ", "))
	f.Float64Var(&o.cacheFrac, "cache-frac", 0.3, "cache capacity as a fraction of the total bytes of the trace's datasets")
	f.Float64Var(&o.cacheGiB, "cache-gib", 0, "cache capacity in GiB (overrides --cache-frac)")
	f.Float64Var(&objGiB, "object-bw", float64(o.phys.ObjectBW)/(1<<30), "object-storage bandwidth for warm-ups, GiB/s")
	f.Float64Var(&warmGiB, "warm-bw", float64(o.phys.WarmBW)/(1<<30), "bandwidth of one warm-up, GiB/s")
	f.Float64Var(&clientGiB, "client-bw", float64(o.phys.ClientBW)/(1<<30), "one node's reads of cache misses, GiB/s")
	f.StringVar(&releaseAt, "release-at", "off", "release a job when this much of what it reads first is cached: off (the whole dataset), first-epoch, or a ratio")
	f.Float64Var(&o.phys.StageInWait, "stagein-wait", o.phys.StageInWait, "stage-in deadline: longest a stagein job stays pending for its data, seconds")
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
	pols := []string{"none", "fifo", "accel", "stagein", "oracle"}
	if o.policy != "all" {
		pols = strings.Split(o.policy, ",")
	}
	fmt.Fprintf(o.out, "trace %s: %d jobs, working set %s TiB, cache %s TiB (%.0f %%), object storage %.1f GiB/s, %d workers x %.1f GiB/s, misses %.1f GiB/s per node, prolog bound %.0fs, stage-in deadline %.0fs, release at %s\n\n",
		o.trace, len(jobs), sim.TiB(total), sim.TiB(o.phys.CacheBytes), 100*float64(o.phys.CacheBytes)/float64(total),
		o.phys.ObjectBW/(1<<30), o.phys.Workers, o.phys.WarmBW/(1<<30), o.phys.ClientBW/(1<<30), o.phys.PrologWait, o.phys.StageInWait, sim.FormatReleaseAt(o.phys.ReleaseAt))
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

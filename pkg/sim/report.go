package sim

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// TiB formats bytes in TiB.
func TiB(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<40)) }

// WriteTable prints results side by side as an aligned table: HELD is
// GPU-hours held by prologs waiting for data, SLOW-READ GPU-hours lost to
// reads of misses slower than the job consumes, WASTE their sum; DELAYED,
// MEAN DELAY (over all jobs) and DELAY GPU-H (delay × GPUs) are the starts a
// stage-in postponed.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "POLICY\tBYTE HIT %\tHELD GPU-H\tSLOW-READ GPU-H\tWASTE GPU-H\tBOUND HITS\tDELAYED\tMEAN DELAY s\tDELAY GPU-H\tFETCHED TiB\tWARMED TiB\tEVICTED TiB\tREAD TiB\tWALL\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", r.Policy, 100*r.HitRatio(),
			r.PrologGPUs/3600, r.SlowGPUs/3600, r.WasteGPUs()/3600, r.BoundHits, r.Delayed, r.MeanDelay(), r.DelayGPUs/3600,
			TiB(r.FetchBytes), TiB(r.WarmBytes), TiB(r.EvictBytes), TiB(r.ReadBytes), r.Wall.Round(1e6))
	}
	return tw.Flush()
}

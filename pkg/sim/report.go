package sim

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// TiB formats bytes in TiB.
func TiB(n int64) string { return fmt.Sprintf("%.1f", float64(n)/(1<<40)) }

// WriteTable prints results side by side as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "POLICY\tBYTE HIT %\tPROLOG GPU-H\tBOUND HITS\tFETCHED TiB\tWARMED TiB\tEVICTED TiB\tREAD TiB\tWALL\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Policy, 100*r.HitRatio(), r.PrologGPUs/3600, r.BoundHits,
			TiB(r.FetchBytes), TiB(r.WarmBytes), TiB(r.EvictBytes), TiB(r.ReadBytes), r.Wall.Round(1e6))
	}
	return tw.Flush()
}

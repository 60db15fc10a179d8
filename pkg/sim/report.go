package sim

import (
	"fmt"
	"io"
	"math"
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

// StageInRow compares accel and stagein on one trace at one ReleaseAt.
type StageInRow struct {
	Trace          string
	ReleaseAt      float64
	Accel, StageIn Result
}

// HeldRatio is stagein's GPU-hours held in prologs over accel's.
func (r StageInRow) HeldRatio() float64 { return ratio(r.StageIn.PrologGPUs, r.Accel.PrologGPUs) }

// WasteRatio is stagein's GPU time lost waiting for data (held + slow reads) over accel's.
func (r StageInRow) WasteRatio() float64 { return ratio(r.StageIn.WasteGPUs(), r.Accel.WasteGPUs()) }

// SavedPerJob is the GPU-seconds per job stagein saves over accel (held + slow reads).
func (r StageInRow) SavedPerJob() float64 {
	return (r.Accel.WasteGPUs() - r.StageIn.WasteGPUs()) / float64(max(r.Accel.Jobs, 1))
}

// Met reports the targets of issue 12: held ratio <= 0.2, byte hit ratio no
// lower, mean start delay (s) <= GPU-seconds saved per job.
func (r StageInRow) Met() bool {
	return r.HeldRatio() <= 0.2 && r.StageIn.HitRatio() >= r.Accel.HitRatio() && r.StageIn.MeanDelay() <= r.SavedPerJob()
}

func ratio(a, b float64) float64 {
	if b == 0 {
		if a == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return a / b
}

// CompareStageIn runs accel and stagein on jobs at each ReleaseAt.
func CompareStageIn(trace string, jobs []Job, ph Physics, releaseAt []float64) ([]StageInRow, error) {
	var rows []StageInRow
	for _, ra := range releaseAt {
		ph.ReleaseAt = ra
		row := StageInRow{Trace: trace, ReleaseAt: ra}
		var err error
		if row.Accel, err = Run(jobs, ph, "accel", nil); err != nil {
			return nil, err
		}
		if row.StageIn, err = Run(jobs, ph, "stagein", nil); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// WriteStageInTable prints accel and stagein side by side: byte hit %,
// GPU-hours held in prologs, lost to slow reads, the ratios, the mean start
// delay (s per job) against the GPU-seconds saved per job, and whether the
// targets are met.
func WriteStageInTable(w io.Writer, rows []StageInRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TRACE\tRELEASE-AT\tACCEL HIT %\tHELD GPU-H\tSLOW GPU-H\tSTAGEIN HIT %\tHELD GPU-H\tSLOW GPU-H\tHELD RATIO\tWASTE RATIO\tMEAN DELAY s\tSAVED GPU-s/JOB\tMET\t")
	for _, r := range rows {
		met := "no"
		if r.Met() {
			met = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%.2f\t%.0f\t%.0f\t%s\t\n", r.Trace, FormatReleaseAt(r.ReleaseAt),
			100*r.Accel.HitRatio(), r.Accel.PrologGPUs/3600, r.Accel.SlowGPUs/3600,
			100*r.StageIn.HitRatio(), r.StageIn.PrologGPUs/3600, r.StageIn.SlowGPUs/3600,
			r.HeldRatio(), r.WasteRatio(), r.StageIn.MeanDelay(), r.SavedPerJob(), met)
	}
	return tw.Flush()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/jobprogress"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
)

// JobOptions are the inputs of `swarmup job`.
type JobOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Output OutputOptions

	JobID uint64
	// Top bounds the subpaths listed (busiest first).
	Top int
}

// formatRatio prints a hit ratio; negative is unknown.
func formatRatio(c cellCtx, r float64) string {
	if r < 0 {
		return empty(c)
	}
	return formatPercent(r)
}

var jobNodeColumns = []column[api.JobNodeIO]{
	{name: "node", header: "NODE", value: func(_ cellCtx, n api.JobNodeIO) string { return n.Node }},
	{name: "read", header: "READ", value: func(_ cellCtx, n api.JobNodeIO) string { return bytesize.Short(n.Bytes) }},
	{name: "files", header: "FILES", value: func(_ cellCtx, n api.JobNodeIO) string { return strconv.FormatInt(n.Files, 10) }},
	{name: "hitratio", header: "HITRATIO", value: func(c cellCtx, n api.JobNodeIO) string { return formatRatio(c, n.HitRatio) }},
	{name: "hit", header: "HIT", value: func(_ cellCtx, n api.JobNodeIO) string { return bytesize.Short(n.HitBytes) }},
	{name: "miss", header: "MISS", value: func(_ cellCtx, n api.JobNodeIO) string { return bytesize.Short(n.MissBytes) }},
	{name: "objget", header: "OBJGET", value: func(_ cellCtx, n api.JobNodeIO) string { return bytesize.Short(n.GetBytes) }},
	{name: "first", header: "FIRST", value: func(c cellCtx, n api.JobNodeIO) string { return optTime(c, n.First) }},
	{name: "last", header: "LAST", value: func(c cellCtx, n api.JobNodeIO) string { return optTime(c, n.Last) }},
	{name: "ended", header: "ENDED", value: func(_ cellCtx, n api.JobNodeIO) string { return strconv.FormatBool(n.Final) }},
}

var jobNodeDefaults = []string{"node", "read", "files", "hitratio", "hit", "miss", "objget", "ended"}

var jobSubpathColumns = []column[api.SubpathIO]{
	{name: "dataset", header: "DATASET", value: func(_ cellCtx, s api.SubpathIO) string { return s.Dataset }, trunc: tableprinter.TruncateLeft},
	{name: "subpath", header: "SUBPATH", value: func(_ cellCtx, s api.SubpathIO) string { return s.Subpath }},
	{name: "read", header: "READ", value: func(_ cellCtx, s api.SubpathIO) string { return bytesize.Short(s.Bytes) }},
	{name: "files", header: "FILES", value: func(_ cellCtx, s api.SubpathIO) string { return strconv.FormatInt(s.Files, 10) }},
}

// NewCmdJob builds `swarmup job ID`. runF replaces jobRun in tests.
func NewCmdJob(f *Factory, runF func(*JobOptions) error) *cobra.Command {
	opts := &JobOptions{}
	cmd := &cobra.Command{
		Use:   "job JOBID",
		Short: "Show what a Slurm job read from JuiceFS (like sacct for I/O)",
		Long: `Show a job's I/O report, from the accel-agent of each node it ran on: bytes read,
distinct files, the byte hit ratio of the node's JuiceFS cache over the job's
time (HIT, MISS; shared with jobs running on the node at the same time), bytes
fetched from object storage (OBJGET), the prolog's wait (prolog start to the
job's first read) and the busiest subdirectories. A summary line comes first,
then one row per node, then the subdirectories. --json prints the API object.
A job that has read nothing yet and that Slurm lists as waiting for its data
(pending in its stage-in, or in its prolog) gets one line saying so, with its
warm-up's progress; --json then prints its status (GET /v1/jobs/ID, whose
waiting says the stage, Slurm's reason and when squeue listed it).` +
			fieldsHelp(jobNodeColumns, jobNodeDefaults) + " (the node table)",
		Example: `  swarmup job 4242
  swarmup job 4242 --json | jq .hit_ratio`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageErrorf("%s needs one Slurm job id", cmd.CommandPath())
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return cmdutil.UsageErrorf("bad job id %q: want a positive Slurm job id", args[0])
			}
			opts.JobID = id
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Output = f.IO, f.APIClient, f.Now, f.Output
			if runF != nil {
				return runF(opts)
			}
			return jobRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Top, "top", 10, "subdirectories listed, busiest first (0: all)")
	return cmd
}

func jobRun(ctx context.Context, opts *JobOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(jobNodeColumns, jobNodeDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	client := opts.Client()
	rep, err := client.JobIO(ctx, opts.JobID)
	if err != nil {
		var se *api.StatusError
		if errors.As(err, &se) && strings.Contains(se.Message, "no agent reported") {
			if st, serr := client.JobStatus(ctx, opts.JobID); serr == nil && st.Waiting != nil {
				return writeJobWaiting(opts, st)
			}
			return fmt.Errorf("no I/O report for job %d: no accel-agent reported reads of it (is accel-agent running on its nodes, and has the job read from JuiceFS?)", opts.JobID)
		}
		return newEndpointError(err, client, "/v1/jobs/ID/io")
	}
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, rep)
	}
	c := cellCtx{tty: opts.IO.IsTTY, now: opts.Now()}
	if !opts.Output.NoHeader {
		writeJobSummary(opts.IO.Out, c, rep)
	}
	if err := renderTable(opts.IO, opts.Output, c.now, cols, rep.Nodes); err != nil {
		return err
	}
	subs := rep.Subpaths
	if opts.Top > 0 && len(subs) > opts.Top {
		subs = subs[:opts.Top]
	}
	if len(subs) == 0 {
		return nil
	}
	fmt.Fprintln(opts.IO.Out)
	return renderTable(opts.IO, OutputOptions{NoHeader: opts.Output.NoHeader}, c.now, jobSubpathColumns, subs)
}

// writeJobSummary is the line above the tables (also what the epilog logs).
func writeJobSummary(w io.Writer, c cellCtx, r *api.JobIO) {
	fmt.Fprintln(w, JobSummary(c, r))
}

// JobSummary says in one line what a job read.
func JobSummary(c cellCtx, r *api.JobIO) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Job %d: read %s (%d files) on %d node(s), byte hit ratio %s, object storage %s",
		r.JobID, bytesize.Short(r.Bytes), r.Files, len(r.Nodes), formatRatio(c, r.HitRatio), bytesize.Short(r.GetBytes))
	if r.PrologWaitSeconds > 0 {
		fmt.Fprintf(&b, ", prolog wait %s", formatAge(time.Duration(r.PrologWaitSeconds*float64(time.Second))))
	}
	if len(r.Subpaths) > 0 {
		s := r.Subpaths[0]
		fmt.Fprintf(&b, ", busiest %s/%s", s.Dataset, s.Subpath)
	}
	if !r.Final {
		b.WriteString(" (still running)")
	}
	return b.String()
}

// writeJobWaiting shows a job that Slurm lists as waiting for its data.
func writeJobWaiting(opts *JobOptions, st *api.JobStatus) error {
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, st)
	}
	_, err := fmt.Fprintln(opts.IO.Out, JobWaiting(opts.Now(), st))
	return err
}

// JobWaiting says in one line why a job waits and how warm its data is:
// "Job 43: waiting in stage-in (BurstBufferStageIn) for its data, 40% warm,
// ETA 2m (squeue 20s ago); no I/O yet".
func JobWaiting(now time.Time, st *api.JobStatus) string {
	w := st.Waiting
	return fmt.Sprintf("Job %d: waiting in %s (%s) for its data, %s (squeue %s ago); no I/O yet", st.JobID, w.Stage, w.Reason,
		strings.TrimPrefix(jobprogress.Text(st), jobprogress.Marker), formatAge(now.Sub(w.SeenAt)))
}

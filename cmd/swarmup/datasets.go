package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
)

// DatasetsOptions are the inputs of `swarmup datasets`.
type DatasetsOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Output OutputOptions
}

func optTime(c cellCtx, t *time.Time) string {
	if t == nil {
		return empty(c)
	}
	return formatTime(c, *t)
}

// pinned reports whether a job that runs or waits needs the dataset, so
// the cache manager will not evict it.
func pinned(d api.Dataset) bool { return d.JobsRunning+d.JobsQueued > 0 }

// datasetColumns are the columns of a cache status table row (api.Dataset),
// for `swarmup datasets` and `swarmup cache`; each picks its defaults.
var datasetColumns = []column[api.Dataset]{
	{name: "path", header: "PATH", value: func(_ cellCtx, d api.Dataset) string { return d.Path }, trunc: tableprinter.TruncateLeft},
	{name: "size", header: "SIZE", value: func(_ cellCtx, d api.Dataset) string { return bytesize.Short(d.Bytes) }},
	{name: "files", header: "FILES", value: func(_ cellCtx, d api.Dataset) string { return strconv.FormatInt(d.Files, 10) }},
	{name: "cached", header: "CACHED", value: func(_ cellCtx, d api.Dataset) string { return bytesize.Short(d.CachedBytes) }},
	{name: "ratio", header: "RATIO", value: func(c cellCtx, d api.Dataset) string { return formatProgress(c, d.CachedRatio) }},
	{name: "checked", header: "CHECKED", value: func(c cellCtx, d api.Dataset) string { return optTime(c, d.CheckedAt) }},
	{name: "how", header: "HOW", value: func(c cellCtx, d api.Dataset) string { return ratioHow(c, d) }},
	{name: "state", header: "STATE", value: func(c cellCtx, d api.Dataset) string {
		if d.State == "" {
			return empty(c)
		}
		return string(d.State)
	}},
	{name: "running", header: "RUNNING", value: func(_ cellCtx, d api.Dataset) string { return strconv.Itoa(d.JobsRunning) }},
	{name: "queued", header: "QUEUED", value: func(_ cellCtx, d api.Dataset) string { return strconv.Itoa(d.JobsQueued) }},
	{name: "lastused", header: "LASTUSED", value: func(c cellCtx, d api.Dataset) string { return optTime(c, d.LastUsedAt) }},
	{name: "pinned", header: "PINNED", value: func(_ cellCtx, d api.Dataset) string {
		if pinned(d) {
			return "yes"
		}
		return "no"
	}},
	{name: "density", header: "DENSITY", value: func(c cellCtx, d api.Dataset) string { return optRatio(c, d.ReadDensity) }},
	{name: "hitratio", header: "HITRATIO", value: func(c cellCtx, d api.Dataset) string { return optRatio(c, d.HitRatio) }},
}

// optRatio prints a measured ratio, or the unknown mark.
func optRatio(c cellCtx, r *float64) string {
	if r == nil {
		return empty(c)
	}
	return formatPercent(*r)
}

var datasetDefaults = []string{"path", "size", "files", "cached", "ratio", "checked", "how", "state", "running", "queued", "density", "hitratio"}

// ratioHow says how a dataset's ratio was obtained: "walked" (every file
// checked), "sampled±0.9%" (a random sample of its files; the ratio holds
// within that at 99 % confidence) or "inferred" (from an event: warmupd
// evicted it), followed by "stale: miss report 2m ago" (or "stale: changelog
// …") when an event since says it may be out of date.
func ratioHow(c cellCtx, d api.Dataset) string {
	how := string(d.RatioMethod)
	switch {
	case d.RatioMethod == "":
		how = empty(c)
	case d.RatioMethod == api.RatioSampled:
		how = fmt.Sprintf("sampled±%.2g%%", 100*d.RatioBound)
	}
	if d.StaleAt == nil {
		return how
	}
	when := "at " + formatTime(c, *d.StaleAt)
	if c.tty {
		when = formatTime(c, *d.StaleAt) + " ago"
	}
	return fmt.Sprintf("%s stale: %s %s", how, d.StaleReason.Label(), when)
}

// NewCmdDatasets builds `swarmup datasets`. runF replaces datasetsRun in tests.
func NewCmdDatasets(f *Factory, runF func(*DatasetsOptions) error) *cobra.Command {
	opts := &DatasetsOptions{}
	cmd := &cobra.Command{
		Use:   "datasets",
		Short: "Show the cache status table: how much of each dataset is cached",
		Long: `Show warmupd's cache status table: one row per dataset it knows, with its size,
file count, how much of it the last check found in the cache (CACHED, RATIO),
when that check ran (CHECKED: an age on a terminal, RFC 3339 otherwise), HOW the
ratio was obtained (walked: every file checked; sampled±X%: a random sample of
its files, within ±X% at 99 % confidence; inferred: from an event such as an
eviction, without a check; "stale: miss report 2m ago" or "stale: changelog …"
when an event since says it may be out of date: a job read it from object
storage, or files were created, removed or renamed under it; warmupd checks it
again soon, and --json has stale_at, stale_reason and stale_detail), the
state of its latest warm-up task and how many Slurm jobs that need it are
RUNNING or QUEUED. DENSITY is the share of the dataset jobs read (distinct bytes
read ÷ size) and HITRATIO the byte hit ratio of those jobs, both from accel-agent
reports, decayed over time; "-" when no agent reported reads of it.` + fieldsHelp(datasetColumns, datasetDefaults),
		Example: `  swarmup datasets
  swarmup datasets --format path,ratio,checked
  swarmup datasets --json | jq '.datasets[] | select(.cached_ratio < 1) | .path'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Output = f.IO, f.APIClient, f.Now, f.Output
			if runF != nil {
				return runF(opts)
			}
			return datasetsRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func datasetsRun(ctx context.Context, opts *DatasetsOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(datasetColumns, datasetDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	resp, err := opts.Client().Datasets(ctx)
	if err != nil {
		return err
	}
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, resp)
	}
	return renderTable(opts.IO, opts.Output, opts.Now(), cols, resp.Datasets)
}

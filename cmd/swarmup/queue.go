package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/pathrule"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
)

// QueueOptions are the inputs of `swarmup queue`.
type QueueOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Getwd  func() (string, error)
	Output OutputOptions

	All      bool
	States   []string
	Datasets []string
}

func (o *QueueOptions) init(f *Factory) {
	o.IO, o.Client, o.Now, o.Getwd, o.Output = f.IO, f.APIClient, f.Now, f.Getwd, f.Output
}

var queueColumns = []column[api.QueueEntry]{
	{name: "taskid", header: "TASKID", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.FormatInt(e.TaskID, 10) }},
	{name: "dataset", header: "DATASET", value: func(_ cellCtx, e api.QueueEntry) string { return e.Dataset }, trunc: tableprinter.TruncateLeft},
	{name: "state", header: "STATE", value: func(_ cellCtx, e api.QueueEntry) string { return string(e.State) }},
	{name: "progress", header: "PROGRESS", value: queueProgress},
	{name: "size", header: "SIZE", value: func(c cellCtx, e api.QueueEntry) string {
		if e.Bytes <= 0 {
			return empty(c)
		}
		return bytesize.Short(e.Bytes)
	}},
	{name: "cached", header: "CACHED", value: func(c cellCtx, e api.QueueEntry) string {
		if e.Bytes <= 0 && e.CachedBytes <= 0 {
			return empty(c)
		}
		return bytesize.Short(e.CachedBytes)
	}},
	{name: "priority", header: "PRIORITY", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.FormatFloat(e.Priority, 'f', 2, 64) }},
	{name: "jobs", header: "JOBS", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.Itoa(e.JobsWaiting) }},
	{name: "age", header: "AGE", value: func(c cellCtx, e api.QueueEntry) string { return formatTime(c, e.CreatedAt) }},
	{name: "reason", header: "REASON", value: func(c cellCtx, e api.QueueEntry) string {
		parts := []string{}
		if e.Reason != "" {
			parts = append(parts, e.Reason)
		}
		for _, w := range e.Waiting {
			parts = append(parts, WaitText(w))
		}
		if len(parts) == 0 {
			return empty(c)
		}
		return strings.Join(parts, "; ")
	}, trunc: tableprinter.TruncateRight},
	{name: "ratio", header: "RATIO", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.FormatFloat(e.CachedRatio, 'f', 4, 64) }},
	{name: "attempts", header: "ATTEMPTS", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.Itoa(e.Attempts) }},
	{name: "source", header: "SOURCE", value: func(_ cellCtx, e api.QueueEntry) string { return string(e.Source) }},
	{name: "owner", header: "OWNER", value: func(_ cellCtx, e api.QueueEntry) string { return strconv.FormatUint(uint64(e.Owner), 10) }},
	{name: "updated", header: "UPDATED", value: func(c cellCtx, e api.QueueEntry) string { return formatTime(c, e.UpdatedAt) }},
	{name: "checked", header: "CHECKED", value: func(c cellCtx, e api.QueueEntry) string { return optTime(c, e.CheckedAt) }},
}

var queueDefaults = []string{"taskid", "dataset", "state", "progress", "size", "cached", "priority", "jobs", "age", "reason"}

// queueProgress is "-" while nothing is known about a queued dataset.
func queueProgress(c cellCtx, e api.QueueEntry) string {
	if e.Bytes <= 0 && e.CachedRatio == 0 && !e.State.Terminal() {
		return empty(c)
	}
	return formatProgress(c, e.CachedRatio)
}

// NewCmdQueue builds `swarmup queue`. runF replaces queueRun in tests.
func NewCmdQueue(f *Factory, runF func(*QueueOptions) error) *cobra.Command {
	opts := &QueueOptions{}
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List warm-up tasks (the default command)",
		Long: `List warmupd's warm-up tasks, highest priority first, like squeue lists jobs.
Without --all only ` + api.JoinStates(api.ActiveStates(), ", ", " and ") + ` tasks are shown; a --state that names a
finished state (` + api.JoinStates(api.TerminalStates(), ", ", ", ") + `) implies --all.

PROGRESS is the share of the dataset found in the cache by the last check; SIZE
and CACHED are "-" until the dataset has been measured. JOBS counts the Slurm
jobs waiting for the dataset; AGE is the time since the task was created (RFC 3339
creation time when not on a terminal).

STATE is what warmupd recorded: "warm" in a listing is the last check of the
dataset, whose age the CHECKED field shows (--format ...,checked); a warm-up
asked for now (swarmup warm) or a job start re-checks data older than
warmupd's VerifyMaxAge, and the listing says "verifying" while that runs.` + fieldsHelp(queueColumns, queueDefaults),
		Example: `  swarmup queue
  swarmup queue --all --state failed,partial
  swarmup queue --dataset /jfs/imagenet --format taskid,state,progress,reason
  swarmup queue --noheader --format taskid | xargs swarmup cancel`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.init(f)
			if runF != nil {
				return runF(opts)
			}
			return queueRun(cmd.Context(), opts)
		},
	}
	addQueueFlags(cmd, opts)
	return cmd
}

func addQueueFlags(cmd *cobra.Command, opts *QueueOptions) {
	cmd.Flags().BoolVarP(&opts.All, "all", "a", false, "include finished tasks ("+api.JoinStates(api.TerminalStates(), ", ", ", ")+")")
	cmd.Flags().StringSliceVarP(&opts.States, "state", "t", nil, "show only tasks in these states, comma-separated: "+validStates())
	cmd.Flags().StringSliceVarP(&opts.Datasets, "dataset", "d", nil, "show only these dataset paths and paths under them (comma-separated)")
}

func queueRun(ctx context.Context, opts *QueueOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(queueColumns, queueDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	filter, err := newQueueFilter(opts)
	if err != nil {
		return err
	}
	resp, err := opts.Client().Queue(ctx, opts.All || filter.wantsTerminal)
	if err != nil {
		return err
	}
	entries := filter.apply(resp.Entries)
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, api.QueueResponse{Entries: entries})
	}
	return renderTable(opts.IO, opts.Output, opts.Now(), cols, entries)
}

// queueFilter selects entries by state and dataset path.
type queueFilter struct {
	states        map[api.TaskState]bool
	datasets      []string
	wantsTerminal bool
}

func newQueueFilter(opts *QueueOptions) (*queueFilter, error) {
	q := &queueFilter{}
	for _, s := range opts.States {
		st := api.TaskState(strings.ToLower(strings.TrimSpace(s)))
		if !st.Valid() {
			return nil, cmdutil.UsageErrorf("unknown state %q for --state; valid states: %s", s, validStates())
		}
		if q.states == nil {
			q.states = map[api.TaskState]bool{}
		}
		q.states[st] = true
		q.wantsTerminal = q.wantsTerminal || st.Terminal()
	}
	for _, d := range opts.Datasets {
		p, err := absPath(opts.Getwd, d)
		if err != nil {
			return nil, err
		}
		q.datasets = append(q.datasets, p)
	}
	return q, nil
}

func (q *queueFilter) apply(in []api.QueueEntry) []api.QueueEntry {
	if q.states == nil && q.datasets == nil {
		return in
	}
	out := in[:0:0]
	for _, e := range in {
		if q.states != nil && !q.states[e.State] {
			continue
		}
		if q.datasets != nil && !underAny(e.Dataset, q.datasets) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// underAny reports whether p is one of roots or lies under one of them.
func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, strings.TrimSuffix(r, "/")+"/") {
			return true
		}
	}
	return false
}

func validStates() string { return api.JoinStates(api.TaskStates, ",", ",") }

// absPath resolves p against the working directory and cleans it, so the
// daemon (whose cwd is not ours) gets the path the user meant.
func absPath(getwd func() (string, error), p string) (string, error) {
	if p == "" {
		return "", cmdutil.UsageErrorf("empty path")
	}
	abs := p
	if !filepath.IsAbs(p) {
		wd, err := getwd()
		if err != nil {
			return "", fmt.Errorf("resolve relative path %q: cannot read the current directory (%v); give an absolute path", p, err)
		}
		abs = filepath.Join(wd, p)
	}
	// The rule warmupd and the SPANK plugin apply; checked here because JSON
	// cannot carry bytes that are not UTF-8 (they would arrive as U+FFFD).
	clean, reason := pathrule.Clean(abs)
	if reason != "" {
		return "", cmdutil.UsageErrorf("%s: %s", pathrule.Show(p), reason)
	}
	return clean, nil
}

// WaitText says which jobs Slurm lists as waiting for the data and in which
// stage: "jobs 41,42 waiting in stage-in (BurstBufferStageIn)"; past three
// jobs, their count.
func WaitText(w api.SlurmWait) string {
	who := fmt.Sprintf("%d jobs", len(w.JobIDs))
	if len(w.JobIDs) <= 3 {
		ids := make([]string, len(w.JobIDs))
		for i, id := range w.JobIDs {
			ids[i] = strconv.FormatUint(id, 10)
		}
		who = "jobs " + strings.Join(ids, ",")
		if len(ids) == 1 {
			who = "job " + ids[0]
		}
	}
	return fmt.Sprintf("%s waiting in %s (%s)", who, w.Stage, w.Reason)
}

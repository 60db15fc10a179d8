package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/priority"
)

// PrioOptions are the inputs of `swarmup prio`.
type PrioOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Getwd  func() (string, error)
	Output OutputOptions

	Datasets []string
	Long     bool
}

var prioFixed = []column[api.PriorityEntry]{
	{name: "taskid", header: "TASKID", value: func(_ cellCtx, e api.PriorityEntry) string { return strconv.FormatInt(e.TaskID, 10) }},
	{name: "dataset", header: "DATASET", value: func(_ cellCtx, e api.PriorityEntry) string { return e.Dataset }, trunc: tableprinter.TruncateLeft},
	{name: "state", header: "STATE", value: func(_ cellCtx, e api.PriorityEntry) string { return string(e.State) }},
	{name: "priority", header: "PRIORITY", value: func(_ cellCtx, e api.PriorityEntry) string { return strconv.FormatFloat(e.Priority, 'f', 0, 64) }},
}

// prioReason is an optional column: why the task waits, when it does.
var prioReason = column[api.PriorityEntry]{name: "reason", header: "REASON", value: func(c cellCtx, e api.PriorityEntry) string {
	if e.Reason == "" {
		return empty(c)
	}
	return e.Reason
}, trunc: tableprinter.TruncateRight}

// prioColumns are the fixed columns plus one per factor named in entries,
// in the order the daemon lists them, then any other factor that has a
// weight (so --format works on an empty queue).
func prioColumns(entries []api.PriorityEntry, weights map[string]float64, long bool) ([]column[api.PriorityEntry], []string) {
	cols := append([]column[api.PriorityEntry](nil), prioFixed...)
	defaults := []string{"taskid", "dataset", "state", "priority"}
	var names []string
	seen := map[string]bool{}
	for _, e := range entries {
		for _, f := range e.Factors {
			if !seen[f.Name] {
				seen[f.Name] = true
				names = append(names, f.Name)
			}
		}
	}
	extra := make([]string, 0, len(weights))
	for n := range weights {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	sort.Slice(extra, func(i, j int) bool {
		a, b := factorRank(extra[i]), factorRank(extra[j])
		if a != b {
			return a < b
		}
		return extra[i] < extra[j]
	})
	for _, name := range append(names, extra...) {
		cols = append(cols, column[api.PriorityEntry]{
			name:   strings.ToLower(name),
			header: strings.ToUpper(name),
			value:  func(c cellCtx, e api.PriorityEntry) string { return factorCell(c, e, name, long) },
		})
		defaults = append(defaults, strings.ToLower(name))
	}
	return cols, defaults
}

// factorOrder is pkg/priority's order of the factors.
var factorOrder = priority.Factors()

// factorRank places known factors in pkg/priority's order, unknown ones after.
func factorRank(name string) int {
	if i := slices.Index(factorOrder, name); i >= 0 {
		return i
	}
	return len(factorOrder)
}

func factorCell(c cellCtx, e api.PriorityEntry, name string, long bool) string {
	for _, f := range e.Factors {
		if f.Name == name {
			if long {
				return fmt.Sprintf("%.0f (%.3f×%g)", f.Contribution, f.Value, f.Weight)
			}
			return strconv.FormatFloat(f.Contribution, 'f', 0, 64)
		}
	}
	return empty(c)
}

// NewCmdPrio builds `swarmup prio`. runF replaces prioRun in tests.
func NewCmdPrio(f *Factory, runF func(*PrioOptions) error) *cobra.Command {
	opts := &PrioOptions{}
	cmd := &cobra.Command{
		Use:   "prio",
		Short: "Show why each queued task has its priority (like sprio)",
		Long: `Show the priority of each queued or warming task and the factors it is the sum of,
like sprio: one column per factor with its weighted contribution. --long adds the
normalised value and the weight of each factor (contribution = value × weight).

Fields for --format: taskid,dataset,state,priority, one per factor named as in
the header (` + strings.Join(priority.Factors(), ",") + `), reason
(why the task waits; not shown by default), and density and hitratio (the
dataset's read density and byte hit ratio from accel-agent reports; shown with
--long). The hit_rate factor's value is the read density when one is known.`,
		Example: `  swarmup prio
  swarmup prio --long --dataset /jfs/imagenet
  swarmup prio --format dataset,priority,start_soon,age`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Getwd, opts.Output = f.IO, f.APIClient, f.Now, f.Getwd, f.Output
			if runF != nil {
				return runF(opts)
			}
			return prioRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringSliceVarP(&opts.Datasets, "dataset", "d", nil, "show only these dataset paths and paths under them (comma-separated)")
	cmd.Flags().BoolVarP(&opts.Long, "long", "l", false, "show each factor's normalised value and weight")
	return cmd
}

func prioRun(ctx context.Context, opts *PrioOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	var roots []string
	for _, d := range opts.Datasets {
		p, err := absPath(opts.Getwd, d)
		if err != nil {
			return err
		}
		roots = append(roots, p)
	}
	client := opts.Client()
	resp, err := client.Priority(ctx)
	if err != nil {
		return newEndpointError(err, client, "/v1/priority")
	}
	entries := resp.Entries
	if roots != nil {
		entries = entries[:0:0]
		for _, e := range resp.Entries {
			if underAny(e.Dataset, roots) {
				entries = append(entries, e)
			}
		}
	}
	if opts.Output.JSON {
		out := *resp
		out.Entries = entries
		return printJSON(opts.IO.Out, out)
	}
	all, defaults := prioColumns(resp.Entries, resp.Weights, opts.Long)
	access := accessColumns(ctx, client, opts.Long || strings.Contains(opts.Output.Format, "density") || strings.Contains(opts.Output.Format, "hitratio"))
	all = append(append(all, prioReason), access...)
	if opts.Long {
		defaults = append(defaults, "density", "hitratio")
	}
	cols, err := selectColumns(all, defaults, opts.Output.Format)
	if err != nil {
		return err
	}
	return renderTable(opts.IO, opts.Output, opts.Now(), cols, entries)
}

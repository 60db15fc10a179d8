package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
)

// ShardsOptions are the inputs of `swarmup shards`.
type ShardsOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Output OutputOptions
}

var shardColumns = []column[api.ShardArray]{
	{name: "task", header: "TASK", value: func(_ cellCtx, a api.ShardArray) string { return strconv.FormatInt(a.TaskID, 10) }},
	{name: "dataset", header: "DATASET", value: func(_ cellCtx, a api.ShardArray) string { return a.Dataset }, trunc: tableprinter.TruncateLeft},
	{name: "job", header: "JOB", value: func(_ cellCtx, a api.ShardArray) string { return a.JobID }},
	{name: "shards", header: "SHARDS", value: func(_ cellCtx, a api.ShardArray) string { return fmt.Sprintf("%d/%d", a.Done, a.Total) }},
	{name: "nodes", header: "NODES", value: func(c cellCtx, a api.ShardArray) string {
		if len(a.Nodes) == 0 {
			return empty(c)
		}
		return strings.Join(a.Nodes, ",")
	}},
	{name: "failed", header: "FAILED", value: func(_ cellCtx, a api.ShardArray) string { return strconv.Itoa(a.Failed) }},
	{name: "retried", header: "RETRIED", value: func(_ cellCtx, a api.ShardArray) string { return strconv.Itoa(a.Retried) }},
	{name: "local", header: "LOCAL", value: func(_ cellCtx, a api.ShardArray) string { return strconv.Itoa(a.Local) }},
}

var shardDefaults = []string{"task", "dataset", "job", "shards", "nodes", "failed", "retried", "local"}

// NewCmdShards builds `swarmup shards`. runF replaces shardsRun in tests.
func NewCmdShards(f *Factory, runF func(*ShardsOptions) error) *cobra.Command {
	opts := &ShardsOptions{}
	cmd := &cobra.Command{
		Use:   "shards",
		Short: "Show the warm-ups running as Slurm job arrays: shards done, nodes",
		Long: `Show the warm-ups whose shards run as a Slurm job array on compute nodes
(WarmupPartition/WarmupQOS): the array's job id (squeue lists its tasks), the shards
done of all, the nodes that warmed one, the shards that failed or left the queue
without a report (preempted), those submitted again, and those warmed on the
service node instead.` + fieldsHelp(shardColumns, shardDefaults),
		Example: `  swarmup shards
  swarmup shards --json | jq '.arrays[].nodes'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Output = f.IO, f.APIClient, f.Now, f.Output
			if runF != nil {
				return runF(opts)
			}
			return shardsRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func shardsRun(ctx context.Context, opts *ShardsOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(shardColumns, shardDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	client := opts.Client()
	resp, err := client.Shards(ctx)
	if err != nil {
		return newEndpointError(err, client, "/v1/shards")
	}
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, resp)
	}
	return renderTable(opts.IO, opts.Output, opts.Now(), cols, resp.Arrays)
}

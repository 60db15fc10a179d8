package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/pkg/api"
)

// CancelOptions are the inputs of `swarmup cancel`.
type CancelOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Getwd  func() (string, error)
	Output OutputOptions

	Args []string
}

// NewCmdCancel builds `swarmup cancel`. runF replaces cancelRun in tests.
func NewCmdCancel(f *Factory, runF func(*CancelOptions) error) *cobra.Command {
	opts := &CancelOptions{}
	cmd := &cobra.Command{
		Use:   "cancel TASKID|PATH...",
		Short: "Cancel queued or warming tasks",
		Long: `Cancel warm-up tasks by task id (a number, as shown by swarmup) or by dataset
path (relative paths are resolved against the current directory). Only queued
and warming tasks can be cancelled, and only by the user who first asked for
them, or by root. Blocks already in the cache stay there.

Prints one line per cancelled task; it is an error when nothing was cancelled.`,
		Example: `  swarmup cancel 12 13
  swarmup cancel /jfs/imagenet
  swarmup --noheader --format taskid --state queued | xargs swarmup cancel`,
		Args: minArgs(1, "TASKID or PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Getwd, opts.Output = f.IO, f.APIClient, f.Getwd, f.Output
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return cancelRun(cmd.Context(), opts)
		},
	}
	return cmd
}

// cancelRequest sorts arguments into task ids (all digits) and paths.
func cancelRequest(getwd func() (string, error), args []string) (api.CancelRequest, error) {
	var req api.CancelRequest
	for _, a := range args {
		if a != "" && strings.Trim(a, "0123456789") == "" {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil || id <= 0 {
				return req, usageErrorf("bad task id %q: task ids are positive numbers (a path named like a number: give it as ./%s)", a, a)
			}
			req.TaskIDs = append(req.TaskIDs, id)
			continue
		}
		p, err := absPath(getwd, a)
		if err != nil {
			return req, err
		}
		req.Paths = append(req.Paths, p)
	}
	return req, nil
}

func cancelRun(ctx context.Context, opts *CancelOptions) error {
	if opts.Output.Format != "" {
		return usageErrorf("cancel has no table: --format does not apply (use --json for the API answer)")
	}
	req, err := cancelRequest(opts.Getwd, opts.Args)
	if err != nil {
		return err
	}
	resp, err := opts.Client().Cancel(ctx, req)
	if err != nil {
		return err
	}
	if opts.Output.JSON {
		if err := printJSON(opts.IO.Out, resp); err != nil {
			return err
		}
	} else {
		for _, id := range resp.Cancelled {
			fmt.Fprintf(opts.IO.Out, "cancelled task %d\n", id)
		}
	}
	if len(resp.Cancelled) == 0 {
		return fmt.Errorf("nothing was cancelled: no queued or warming task you own matches %s (see `swarmup`; finished tasks cannot be cancelled)", strings.Join(opts.Args, " "))
	}
	if len(resp.Cancelled) < len(opts.Args) {
		fmt.Fprintf(opts.IO.ErrOut, "swarmup: cancelled %d task(s) for %d argument(s); the others match no queued or warming task you own\n", len(resp.Cancelled), len(opts.Args))
	}
	return nil
}

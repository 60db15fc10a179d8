package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
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
		Short: "Withdraw your requests for queued or warming tasks (cancelled when nobody else wants them)",
		Long: `Cancel warm-up tasks by task id (a number, as shown by swarmup) or by dataset
path (relative paths are resolved against the current directory). Only queued
and warming tasks can be cancelled. A cancel withdraws your own requests only
(root's withdraws everyone's): a task that other users' requests or jobs still
want goes on, and a parent task that others want only for paths below it is
cancelled while those paths get their own tasks back. Blocks already in the
cache stay there.

Prints one line per task: "cancelled task N (PATH)" or "withdrew your request
for task N (PATH); it goes on: still wanted by K other requests/jobs". It is an
error when nothing matched a request of yours.`,
		Example: `  swarmup cancel 12 13
  swarmup cancel /jfs/imagenet
  swarmup --noheader --format taskid --state queued | xargs swarmup cancel`,
		Args: cmdutil.MinArgs(1, "TASKID or PATH"),
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
				return req, cmdutil.UsageErrorf("bad task id %q: task ids are positive numbers (a path named like a number: give it as ./%s)", a, a)
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
		return cmdutil.UsageErrorf("cancel has no table: --format does not apply (use --json for the API answer)")
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
		for _, it := range resp.Items {
			fmt.Fprintln(opts.IO.Out, cancelLine(it))
		}
	}
	if len(resp.Items) == 0 {
		return fmt.Errorf("nothing was cancelled: no queued or warming task you asked for matches %s (see `swarmup`; finished tasks cannot be cancelled)", strings.Join(opts.Args, " "))
	}
	if len(resp.Items) < len(opts.Args) {
		fmt.Fprintf(opts.IO.ErrOut, "swarmup: %d task(s) for %d argument(s); the others match no queued or warming task you asked for\n", len(resp.Items), len(opts.Args))
	}
	return nil
}

// cancelLine says in one line what a cancel did to one task: cancelled (and
// which paths below it got their own task back), or only the caller's
// requests withdrawn while others keep it going.
func cancelLine(it api.CancelItem) string {
	if !it.Cancelled {
		return fmt.Sprintf("withdrew your request for task %d (%s); it goes on: still wanted by %s",
			it.TaskID, it.Dataset, countOf(it.StillWanted, "other request/job", "other requests/jobs"))
	}
	line := fmt.Sprintf("cancelled task %d (%s)", it.TaskID, it.Dataset)
	if len(it.Restored) > 0 {
		parts := make([]string, len(it.Restored))
		for i, r := range it.Restored {
			parts[i] = fmt.Sprintf("%s (task %d)", r.Dataset, r.TaskID)
		}
		line += "; paths below it that other requests/jobs still want are queued on their own: " + strings.Join(parts, ", ")
	}
	return line
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

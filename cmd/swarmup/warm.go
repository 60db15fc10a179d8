package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/tableprinter"
	"github.com/accel-data/accel-data/pkg/api"
)

// WarmOptions are the inputs of `swarmup warm`.
type WarmOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Getwd  func() (string, error)
	Output OutputOptions

	Paths    []string
	Wait     bool
	Interval time.Duration
	Timeout  time.Duration
}

// warmResult is what `warm --json` prints: the SubmitResponse, plus the
// final state of each task with --wait.
type warmResult struct {
	api.SubmitResponse
	Tasks []api.QueueEntry `json:"tasks,omitempty"`
}

var warmColumns = []column[api.SubmitItem]{
	{name: "path", header: "PATH", value: func(_ cellCtx, i api.SubmitItem) string { return i.Path }, trunc: tableprinter.TruncateLeft},
	{name: "outcome", header: "OUTCOME", value: func(_ cellCtx, i api.SubmitItem) string { return outcomeText(i) }, trunc: tableprinter.TruncateLeft},
	{name: "taskid", header: "TASKID", value: func(_ cellCtx, i api.SubmitItem) string { return strconv.FormatInt(i.TaskID, 10) }},
	{name: "state", header: "STATE", value: func(_ cellCtx, i api.SubmitItem) string { return string(i.State) }},
	{name: "dataset", header: "DATASET", value: func(_ cellCtx, i api.SubmitItem) string { return i.Dataset }, trunc: tableprinter.TruncateLeft},
}

var warmDefaults = []string{"path", "outcome", "taskid", "state"}

// outcomeText spells out what warmupd did with one path.
func outcomeText(i api.SubmitItem) string {
	switch i.Outcome {
	case "covered":
		return "covered by " + i.Dataset
	case "":
		return "?"
	}
	return i.Outcome
}

// NewCmdWarm builds `swarmup warm`. runF replaces warmRun in tests.
func NewCmdWarm(f *Factory, runF func(*WarmOptions) error) *cobra.Command {
	opts := &WarmOptions{}
	cmd := &cobra.Command{
		Use:   "warm PATH...",
		Short: "Ask warmupd to warm datasets into the JuiceFS cache",
		Long: `Queue each PATH (a directory or file on a JuiceFS mount) for warm-up. Relative
paths are resolved against the current directory. For each path the outcome is
one of:
  new             a new warm-up task was queued
  joined          the same path was already queued, warming or warm
  covered by X    a parent directory X is queued or warming and covers it
                  (a warm parent covers nothing: new data under it is checked
                  for itself)
  absorbed        it replaced queued tasks for paths under it

warmupd says "warm" only for data whose last 'juicefs warmup --check' finished
within its VerifyMaxAge (5s by default); older data shows "verifying" while it
is checked again, and is queued again if blocks are missing.

With --wait, swarmup then waits until every task is finished, drawing progress
on stderr, and exits 0 only if every path is known warm now: answered warm, or
its own task listed warm with a check that finished after swarmup asked. If
the tasks ended warm without that, it asks warmupd once more (once: it then
polls the listing, "verifying" while that re-check runs).` + fieldsHelp(warmColumns, warmDefaults),
		Example: `  swarmup warm /jfs/imagenet /jfs/coco
  cd /jfs && swarmup warm imagenet/train
  swarmup warm --wait --timeout 30m /jfs/imagenet && sbatch train.sh`,
		Args: cmdutil.MinArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Getwd, opts.Output = f.IO, f.APIClient, f.Now, f.Getwd, f.Output
			opts.Paths = args
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--interval must be positive, got %s", opts.Interval)
			}
			if opts.Timeout < 0 {
				return cmdutil.UsageErrorf("--timeout must not be negative, got %s", opts.Timeout)
			}
			if runF != nil {
				return runF(opts)
			}
			return warmRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Wait, "wait", "w", false, "wait until every dataset is "+api.JoinStates(api.TerminalStates(), ", ", " or "))
	cmd.Flags().DurationVar(&opts.Interval, "interval", 2*time.Second, "with --wait: how often to ask warmupd for progress")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "with --wait: give up after this long (0: never)")
	return cmd
}

func warmRun(ctx context.Context, opts *WarmOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(warmColumns, warmDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	paths := make([]string, len(opts.Paths))
	for i, p := range opts.Paths {
		if paths[i], err = absPath(opts.Getwd, p); err != nil {
			return err
		}
	}
	client := opts.Client()
	asked := opts.Now()
	// --wait polls the queue: over TCP, one session instead of a MUNGE
	// credential per poll.
	client.Sessions = client.Sessions || opts.Wait
	resp, err := client.Submit(ctx, api.SubmitRequest{Paths: paths, Source: api.SourceManual})
	if err != nil {
		return err
	}
	if !opts.Wait {
		if opts.Output.JSON {
			return printJSON(opts.IO.Out, warmResult{SubmitResponse: *resp})
		}
		return renderTable(opts.IO, opts.Output, opts.Now(), cols, resp.Items)
	}
	if !opts.Output.JSON {
		if err := renderTable(opts.IO, opts.Output, opts.Now(), cols, resp.Items); err != nil {
			return err
		}
	}
	tasks, waitErr := waitTasks(ctx, client, opts, paths, resp.Items, asked)
	if opts.Output.JSON {
		if err := printJSON(opts.IO.Out, warmResult{SubmitResponse: *resp, Tasks: tasks}); err != nil {
			return err
		}
	}
	return waitErr
}

// waitTasks polls the queue until every task named by items is terminal and
// returns their last entries. A task that vanished from the queue is looked
// up by the dataset that now covers its path. A wait ends well only when
// every path is known warm now: warmupd answered warm for it (its answers
// are verified: each path checked for itself within VerifyMaxAge), or the
// path's own task is listed warm with a check that finished after swarmup
// asked (asked: just before the submit that returned items). When the tasks
// ended warm without that, it submits paths once more; it never re-submits
// while a re-check that answer started runs (the listing says verifying
// meanwhile, and its result is recorded before that ends), so it re-submits
// once, or again only when warmupd lost that re-check (it restarted).
func waitTasks(ctx context.Context, client *api.Client, opts *WarmOptions, paths []string, items []api.SubmitItem, asked time.Time) ([]api.QueueEntry, error) {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	prog := newProgress(opts.IO)
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	var last []api.QueueEntry
	ok := answeredWarm(items)
	for {
		resp, err := client.Queue(ctx, true)
		if err != nil {
			return last, waitError(err, opts.Timeout)
		}
		tasks, err := trackTasks(items, resp.Entries)
		if err != nil {
			return last, err
		}
		last = tasks
		prog.show(opts.Now(), tasks)
		done, warm := true, true
		for _, t := range tasks {
			done = done && t.State.Terminal()
			warm = warm && t.State == api.TaskWarm
		}
		if done && !warm {
			return tasks, exitcode.With(exitNotWarm, notWarmError(tasks))
		}
		if done && !checkedSince(paths, ok, tasks, asked) {
			asked = opts.Now()
			r, err := client.Submit(ctx, api.SubmitRequest{Paths: paths, Source: api.SourceManual})
			if err != nil {
				return tasks, waitError(err, opts.Timeout)
			}
			items, ok = r.Items, answeredWarm(r.Items)
			done = checkedSince(paths, ok, nil, asked)
		}
		if done {
			return tasks, nil
		}
		select {
		case <-ctx.Done():
			return tasks, waitError(ctx.Err(), opts.Timeout)
		case <-ticker.C:
		}
	}
}

// answeredWarm is the set of paths warmupd answered warm.
func answeredWarm(items []api.SubmitItem) map[string]bool {
	ok := map[string]bool{}
	for _, it := range items {
		if it.State == api.TaskWarm {
			ok[it.Path] = true
		}
	}
	return ok
}

// checkedSince reports whether every path is known warm now: answered warm
// (ok), or its own task is listed warm with a check that finished at or
// after asked. It adds the paths it finds so to ok.
func checkedSince(paths []string, ok map[string]bool, tasks []api.QueueEntry, asked time.Time) bool {
	own := make(map[string]api.QueueEntry, len(tasks))
	for _, t := range tasks {
		own[t.Dataset] = t
	}
	all := true
	for _, p := range paths {
		if ok[p] {
			continue
		}
		if t, found := own[p]; found && t.State == api.TaskWarm && t.CheckedAt != nil && !t.CheckedAt.Before(asked) {
			ok[p] = true
			continue
		}
		all = false
	}
	return all
}

func waitError(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) && timeout > 0 {
		return exitcode.With(exitTimeout, fmt.Errorf("gave up waiting after --timeout %s; the warm-up goes on (see `swarmup`)", timeout))
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped waiting; the warm-up goes on (see `swarmup`)")
	}
	return err
}

func notWarmError(tasks []api.QueueEntry) error {
	n, first := 0, api.QueueEntry{}
	for _, t := range tasks {
		if t.State != api.TaskWarm {
			if n == 0 {
				first = t
			}
			n++
		}
	}
	msg := fmt.Sprintf("%d of %d datasets did not end warm: %s is %s", n, len(tasks), first.Dataset, first.State)
	if first.Reason != "" {
		msg += " (" + first.Reason + ")"
	}
	return fmt.Errorf("%s; see `swarmup --all --dataset %s`", msg, first.Dataset)
}

// trackTasks finds the current entry of each submitted task, once per task.
func trackTasks(items []api.SubmitItem, entries []api.QueueEntry) ([]api.QueueEntry, error) {
	byID := make(map[int64]int, len(entries))
	for i, e := range entries {
		byID[e.TaskID] = i
	}
	seen := map[int64]bool{}
	var out []api.QueueEntry
	for _, it := range items {
		i, ok := byID[it.TaskID]
		if !ok {
			i = coveringEntry(it.Path, entries)
			if i < 0 {
				return nil, fmt.Errorf("task %d for %s is no longer in warmupd's queue; run `swarmup warm %s` again", it.TaskID, it.Path, it.Path)
			}
		}
		if !seen[entries[i].TaskID] {
			seen[entries[i].TaskID] = true
			out = append(out, entries[i])
		}
	}
	return out, nil
}

// coveringEntry returns the index of a live or warm entry whose dataset is
// path or a parent of it, or -1.
func coveringEntry(path string, entries []api.QueueEntry) int {
	for i, e := range entries {
		if (e.State == api.TaskWarm || !e.State.Terminal()) && underAny(path, []string{e.Dataset}) {
			return i
		}
	}
	return -1
}

// notWarm are the terminal states `warm --wait` reports as not warm (exit 4).
func notWarm() []api.TaskState {
	return slices.DeleteFunc(api.TerminalStates(), func(s api.TaskState) bool { return s == api.TaskWarm })
}

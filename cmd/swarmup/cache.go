package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// CacheOptions are the inputs of `swarmup cache`.
type CacheOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Output OutputOptions
}

// cacheColumns are the cache status table's columns, as in `swarmup datasets`.
var cacheColumns = datasetColumns

var cacheDefaults = []string{"path", "cached", "size", "ratio", "state", "running", "queued", "pinned", "lastused"}

// NewCmdCache builds `swarmup cache`. runF replaces cacheRun in tests.
func NewCmdCache(f *Factory, runF func(*CacheOptions) error) *cobra.Command {
	opts := &CacheOptions{}
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show the shared cache: capacity, use, free space and what fills it",
		Long: `Show the JuiceFS cache directory warmupd manages: its capacity (CacheCapacity),
how much of it the datasets warmupd knows occupy, the free space of the file system
that holds it, the active warm-up windows, the latest evictions, and one row per
dataset with its cached bytes. PINNED datasets are needed by a running or queued
job: warmupd never evicts them.

The summary lines are left out with --noheader; scripts should use --json.` + fieldsHelp(cacheColumns, cacheDefaults),
		Example: `  swarmup cache
  swarmup cache --format path,cached,pinned --noheader
  swarmup cache --json | jq .fs_free_bytes`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Output = f.IO, f.APIClient, f.Now, f.Output
			if runF != nil {
				return runF(opts)
			}
			return cacheRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func cacheRun(ctx context.Context, opts *CacheOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	cols, err := selectColumns(cacheColumns, cacheDefaults, opts.Output.Format)
	if err != nil {
		return err
	}
	client := opts.Client()
	resp, err := client.Cache(ctx)
	if err != nil {
		return newEndpointError(err, client, "/v1/cache")
	}
	if opts.Output.JSON {
		return printJSON(opts.IO.Out, resp)
	}
	now := opts.Now()
	if !opts.Output.NoHeader {
		writeCacheSummary(opts.IO.Out, cellCtx{tty: opts.IO.IsTTY, now: now}, resp)
	}
	return renderTable(opts.IO, opts.Output, now, cols, resp.Datasets)
}

// maxEvictionLines bounds the evictions listed in the summary.
const maxEvictionLines = 5

// writeCacheSummary prints the capacity lines above the table.
func writeCacheSummary(w io.Writer, c cellCtx, r *api.CacheResponse) {
	if r.CacheDir != "" {
		fmt.Fprintf(w, "Cache dir:   %s\n", r.CacheDir)
	}
	if r.CapacityBytes > 0 {
		fmt.Fprintf(w, "Capacity:    %s, used %s (%s)\n", bytesize.Short(r.CapacityBytes), bytesize.Short(r.UsedBytes),
			formatPercent(float64(r.UsedBytes)/float64(r.CapacityBytes)))
	} else {
		fmt.Fprintf(w, "Capacity:    not limited by warmupd, used %s\n", bytesize.Short(r.UsedBytes))
	}
	if r.FSTotalBytes > 0 {
		fmt.Fprintf(w, "Free space:  %s of %s on the file system that holds the cache\n", bytesize.Short(r.FSFreeBytes), bytesize.Short(r.FSTotalBytes))
	}
	switch {
	case len(r.ActiveWindows) > 0:
		where := "outside"
		if r.InActiveWindow {
			where = "inside"
		}
		line := fmt.Sprintf("Active warm-up: %s its windows (%s)", where, strings.Join(r.ActiveWindows, ", "))
		if r.ActiveReason != "" {
			line += "; " + r.ActiveReason
		}
		fmt.Fprintln(w, line)
	case r.ActiveReason != "":
		fmt.Fprintf(w, "Active warm-up: off; %s\n", r.ActiveReason)
	}
	if n := len(r.Evictions); n > 0 {
		fmt.Fprintf(w, "Recent evictions (%d):\n", n)
		for _, e := range r.Evictions[:min(n, maxEvictionLines)] {
			fmt.Fprintf(w, "  %s  %s  %s  %s\n", formatTime(c, e.At), bytesize.Short(e.Bytes), e.Dataset, e.Reason)
		}
		if n > maxEvictionLines {
			fmt.Fprintf(w, "  … %d more (see --json)\n", n-maxEvictionLines)
		}
	}
	fmt.Fprintln(w)
}

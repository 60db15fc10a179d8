// Command warmup-sim replays a job trace against a simulated JuiceFS cache
// under several warm-up policies (none, fifo, accel, stagein, oracle) and
// prints byte hit ratio, GPU-hours held in prologs and lost to slow reads,
// start delays, fetched and evicted bytes side by side. The
// accel policy runs warmupd's own planner. `warmup-sim gen` writes synthetic
// traces. See docs/design/simulator.md.
package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/exitcode"
)

// NewCmdRoot builds the warmup-sim command tree, writing results to out.
func NewCmdRoot(out *cmdutil.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "warmup-sim",
		Short: "trace-driven simulator of accel-data's cache policies",
	}
	cmdutil.Setup(root, "warmup-sim", exitcode.Basic)
	root.AddCommand(newCmdRun(out.Out), newCmdGen(out.Out))
	return root
}

func main() {
	streams := cmdutil.System()
	os.Exit(int(cmdutil.Main(context.Background(), NewCmdRoot(streams), streams, os.Args[1:], nil)))
}

// Command warmup-sim replays a job trace against a simulated JuiceFS cache
// under several warm-up policies (none, fifo, accel, oracle) and prints byte
// hit ratio, prolog GPU-hours, fetched and evicted bytes side by side. The
// accel policy runs warmupd's own planner. `warmup-sim gen` writes synthetic
// traces. See docs/design/simulator.md.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/version"
)

func main() {
	root := &cobra.Command{
		Use:           "warmup-sim",
		Short:         "trace-driven simulator of accel-data's cache policies",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = version.String()
	root.SetVersionTemplate(version.Line("warmup-sim") + "\n")
	root.AddCommand(newCmdRun(os.Stdout), newCmdGen(os.Stdout))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "warmup-sim:", err)
		os.Exit(2)
	}
}

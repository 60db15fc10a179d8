package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/pkg/dedup"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// ApplyOptions are the inputs of `jfs-dedup apply`.
type ApplyOptions struct {
	IO  *IOStreams
	F   *Factory
	Now func() time.Time

	Report          string
	MinSize         bytesize.Positive
	AllowCrossOwner bool
	Journal         string
	JuiceFS         string
	JSON            bool
}

// NewCmdApply builds `jfs-dedup apply`; runF replaces applyRun in tests.
func NewCmdApply(f *Factory, runF func(context.Context, *ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IO, F: f, Now: f.Now, MinSize: 1 << 20}
	cmd := &cobra.Command{
		Use:   "apply [flags] REPORT",
		Short: "Replace the duplicates of a scan report with JuiceFS clones",
		Long: `For every duplicate group of REPORT (the output of "scan --json") whose files are at
least --min-size, replace each duplicate with a clone of the kept file:

  juicefs clone -p KEPT DIR/.NAME.accel-dedup.tmp, then rename it over DIR/NAME.

Before that, size, mtime, ctime and inode of both files are compared with the report
and their contents are compared byte for byte; a file that changed, vanished, is open
for writing, has other hard links or belongs to another owner (unless
--allow-cross-owner) is skipped and listed with the reason. The replacement keeps the
duplicate's owner, group, mode, times and extended attributes.

Every step goes to a journal (default REPORT.journal): run apply again after an
interruption and it removes leftover temporaries and carries on. Apply refuses to
run when a file is not on JuiceFS.`,
		Example: `  jfs-dedup apply report.json
  jfs-dedup apply --min-size 64M --allow-cross-owner report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.UsageErrorf("apply needs exactly one REPORT (the output of `jfs-dedup scan --json`)")
			}
			opts.Report = args[0]
			if opts.Journal == "" {
				opts.Journal = opts.Report + ".journal"
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return applyRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.Var(&opts.MinSize, "min-size", "leave duplicates smaller than this alone (bytes, or e.g. 64K, 1M, 1.5G: units are powers of 1024)")
	fl.BoolVar(&opts.AllowCrossOwner, "allow-cross-owner", false, "also replace a duplicate whose owner differs from the kept file's")
	fl.StringVar(&opts.Journal, "journal", "", "journal file (default REPORT.journal)")
	fl.StringVar(&opts.JuiceFS, "juicefs", "juicefs", "the juicefs `BINARY` that runs juicefs clone")
	fl.BoolVar(&opts.JSON, "json", false, "print the summary and every result as JSON at the end")
	return cmd
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	min := int64(opts.MinSize)
	log := opts.F.Logger().With().Str("component", "apply").Logger()
	r, err := dedup.ReadReport(opts.Report)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	ao := dedup.ApplyOptions{
		Cloner:          &jfs.Driver{Binary: opts.JuiceFS, Log: log},
		Journal:         opts.Journal,
		MinSize:         min,
		AllowCrossOwner: opts.AllowCrossOwner,
		Log:             log,
		Now:             opts.Now,
	}
	if !opts.JSON {
		ao.OnResult = func(res dedup.ApplyResult) {
			switch res.Outcome {
			case dedup.OutcomeReplaced, dedup.OutcomeDoneBefore:
				fmt.Fprintf(out, "%s\t%s\n", res.Outcome, res.Path.Quoted())
			default:
				fmt.Fprintf(out, "%s\t%s\t%s\n", res.Outcome, res.Path.Quoted(), res.Reason)
			}
		}
	}
	sum, err := dedup.Apply(ctx, r, ao)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "replaced %d duplicates (%s), %d already replaced, %d skipped, %d failed, %d under %s left alone, %d leftover temporaries removed\n",
			sum.Replaced, bytesize.Format(sum.ReplacedBytes), sum.DoneBefore, sum.Skipped, sum.Failed, sum.Small,
			bytesize.Format(min), sum.TempsRemoved)
	}
	if sum.Failed > 0 {
		return errPartial
	}
	return nil
}

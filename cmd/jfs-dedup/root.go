package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
)

// NewCmdRoot builds the jfs-dedup command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "jfs-dedup <command>",
		Short: "Find duplicate files; turn large duplicates on JuiceFS into clones",
		Long: `jfs-dedup finds files with identical content and, on JuiceFS, replaces large
duplicates with "juicefs clone" copies that share the data of the file kept.

"scan" only reads; write its --json report to a file, look at it, then "apply" it.`,
		Example: `  jfs-dedup scan /jfs/datasets                      # text report
  jfs-dedup scan --json /jfs/datasets > report.json
  juicefs dump META-URL | jfs-dedup scan --from-dump - --mount /jfs --json > report.json
  jfs-dedup apply report.json                       # duplicates of 1 MiB or more`,
	}
	cmdutil.Setup(root, "jfs-dedup", exitStatuses)
	root.PersistentFlags().BoolVarP(&f.Verbose, "verbose", "v", false, "log every skipped or unreadable file")
	root.AddCommand(NewCmdScan(f, nil), NewCmdApply(f, nil))
	return root
}

// Main runs jfs-dedup with args and returns its exit status.
func Main(ctx context.Context, f *Factory, args []string) exitCode {
	return cmdutil.Main(ctx, NewCmdRoot(f), f.IO, args, classify)
}

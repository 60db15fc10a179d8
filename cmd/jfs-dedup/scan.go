package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/bytesize"
	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/pkg/dedup"
	"github.com/accel-data/accel-data/pkg/jfs"
)

// ScanOptions are the inputs of `jfs-dedup scan`.
type ScanOptions struct {
	IO  *IOStreams
	F   *Factory
	Now func() time.Time

	Paths       []string
	FromDump    string
	Mount       string
	JSON        bool
	JuiceFS     string
	NoSlices    bool
	NoHash      bool
	Workers     int
	MemoryLimit bytesize.Positive
	SpillDir    string
	Dirs        int
	Progress    string
}

// NewCmdScan builds `jfs-dedup scan`; runF replaces scanRun in tests.
func NewCmdScan(f *Factory, runF func(context.Context, *ScanOptions) error) *cobra.Command {
	opts := &ScanOptions{IO: f.IO, F: f, Now: f.Now, MemoryLimit: 256 << 20}
	cmd := &cobra.Command{
		Use:   "scan [flags] PATH... | scan --from-dump FILE|- [--mount DIR]",
		Short: "Report duplicate files (changes nothing)",
		Long: `Walk PATHs in parallel (staying on each PATH's file system) and report groups of
regular files with identical content. Empty files, symlinks and special files are
skipped; hard links count once. Same-size files are compared on their first KiB,
then byte for byte; every group is proven equal byte for byte before it is reported.

On JuiceFS, same-size files whose "juicefs info --raw" slice lists are equal are
reported as already shared, without reading their data.

--from-dump reads "juicefs dump" JSON (a file, or - for stdin) instead of walking:
sizes and slice lists come from the metadata. With --mount, the remaining candidates
are read under that mount and compared; without it they are listed as unverified.

The text report lists groups (kept file first), the reclaimable bytes per directory
and the files that could not be read. --json writes the report that apply reads.
On a terminal, progress (files, bytes read, rate, ETA) is drawn on stderr.`,
		Example: `  jfs-dedup scan /jfs/users /jfs/public
  jfs-dedup scan --json /jfs/users > report.json
  juicefs dump redis://meta | jfs-dedup scan --from-dump - --mount /jfs --json > report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if opts.FromDump == "" && len(args) == 0 {
				return cmdutil.UsageErrorf("scan needs at least one PATH, or --from-dump FILE")
			}
			if opts.FromDump != "" && len(args) > 0 {
				return cmdutil.UsageErrorf("give PATHs or --from-dump, not both")
			}
			if opts.Mount != "" && opts.FromDump == "" {
				return cmdutil.UsageErrorf("--mount goes with --from-dump")
			}
			switch opts.Progress {
			case "auto", "always", "never":
			default:
				return cmdutil.UsageErrorf("--progress is auto, always or never, not %q", opts.Progress)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return scanRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.FromDump, "from-dump", "", "read a juicefs dump JSON stream from FILE (- for stdin) instead of walking")
	fl.StringVar(&opts.Mount, "mount", "", "with --from-dump: where the volume is mounted, to compare candidates' data")
	fl.BoolVar(&opts.JSON, "json", false, "write the JSON report (the input of apply)")
	fl.StringVar(&opts.JuiceFS, "juicefs", "juicefs", "the juicefs `BINARY` asked for slice lists (juicefs info --raw) on JuiceFS mounts")
	fl.BoolVar(&opts.NoSlices, "no-slices", false, "do not ask juicefs for slice lists; compare the data of every candidate")
	fl.BoolVar(&opts.NoHash, "no-hash", false, "leave out the groups' SHA-256 content IDs (about a third less CPU; files are still compared byte for byte)")
	fl.IntVar(&opts.Workers, "workers", 0, "parallel walkers and comparers (0: 4 per CPU)")
	fl.Var(&opts.MemoryLimit, "memory-limit", "memory for file entries (about 40 bytes + path each) before size partitions spill to --spill-dir")
	fl.StringVar(&opts.SpillDir, "spill-dir", "", "directory for spilled partitions (default: $TMPDIR)")
	fl.IntVar(&opts.Dirs, "dirs", 20, "directories listed in the text report's per-directory totals (0: all)")
	fl.StringVar(&opts.Progress, "progress", "auto", "progress on stderr: auto (when a terminal), always, never")
	return cmd
}

func scanRun(ctx context.Context, opts *ScanOptions) error {
	log := opts.F.Logger().With().Str("component", "scan").Logger()
	so := dedup.Options{NoHash: opts.NoHash, Workers: opts.Workers, MemoryLimit: int(opts.MemoryLimit), SpillDir: opts.SpillDir,
		Log: log, Now: opts.Now, Progress: &dedup.Progress{}}
	if !opts.NoSlices && opts.FromDump == "" {
		// slice lists are only asked for when every root is on JuiceFS
		onJFS := true
		for _, p := range opts.Paths {
			if _, err := jfs.FindMount(p); err != nil {
				onJFS = false
			}
		}
		if onJFS {
			so.Slices = dedup.JFSSlices{Driver: &jfs.Driver{Binary: opts.JuiceFS, Log: log}}
			log.Debug().Msg("on JuiceFS: files with equal slice lists are reported without reading them")
		}
	}
	if opts.Progress == "always" || (opts.Progress == "auto" && opts.IO.ErrIsTTY) {
		pp := dedup.StartProgress(opts.IO.ErrOut, so.Progress, 200*time.Millisecond, opts.Now)
		defer pp.Stop()
	}
	var r *dedup.Report
	var err error
	if opts.FromDump != "" {
		var in io.Reader = opts.IO.In
		if opts.FromDump != "-" {
			f, err := os.Open(opts.FromDump)
			if err != nil {
				return fmt.Errorf("open dump: %w", err)
			}
			defer f.Close()
			in = f
		}
		r, err = dedup.ScanDump(ctx, in, dedup.DumpOptions{Options: so, Mount: opts.Mount})
	} else {
		r, err = dedup.Scan(ctx, opts.Paths, so)
	}
	if err != nil {
		return err
	}
	if opts.JSON {
		err = r.WriteJSON(opts.IO.Out)
	} else {
		err = r.WriteText(opts.IO.Out, opts.Dirs)
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(r.Errors) > 0 {
		log.Warn().Int("files", len(r.Errors)).Msg("some files could not be read; they are listed in the report")
		return errPartial
	}
	return nil
}

package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/pkg/api"
)

// NewCmdRoot builds the swarmup command tree. Run without a subcommand it
// lists the queue, like `swarmup queue`.
func NewCmdRoot(f *Factory) *cobra.Command {
	qopts := &QueueOptions{}
	root := &cobra.Command{
		Use:   "swarmup [command]",
		Short: "Show and drive the JuiceFS warm-up queue of warmupd",
		Long: `swarmup shows warmupd's warm-up queue the way squeue shows Slurm's jobs, and asks
warmupd to warm or stop warming datasets. Without a command it runs "swarmup queue".

On a terminal, tables are aligned, sizes are IEC (KiB, MiB, GiB), progress has a
small bar and times are ages (3m12s). Piped or redirected, rows are tab-separated
and times are RFC 3339. --json prints the API objects instead.`,
		Example: `  swarmup                          # the queue: queued and warming tasks
  swarmup --all --state warm,failed
  swarmup --format taskid,dataset,state,progress --noheader
  swarmup warm --wait /jfs/imagenet
  swarmup cancel 12
  swarmup datasets --json
  swarmup prio --long
  swarmup cache
  swarmup job 4242
  swarmup doctor`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			qopts.init(f)
			return queueRun(cmd.Context(), qopts)
		},
	}
	addQueueFlags(root, qopts)
	pf := root.PersistentFlags()
	pf.StringVar(&f.Socket, "socket", api.DefaultSocket, "warmupd's unix socket (else $WARMUPD_SOCKET, else Socket= in the config file)")
	pf.StringVar(&f.Server, "server", "", "warmupd's TCP door HOST:PORT, reached with a MUNGE credential (else $WARMUPD_SERVER, else Server= in the config file; wins over the socket)")
	pf.StringVar(&f.MungeSocket, "munge-socket", "", "the local munged's socket (else MungeSocket= in the config file; empty: /run/munge/munge.socket.2, MUNGE's default)")
	pf.Uint32Var(&f.ServerUID, "server-uid", 0, "uid warmupd runs as: only it may decode the credentials (else ServerUID= in the config file)")
	pf.BoolVar(&f.Output.JSON, "json", false, "print the API objects as JSON")
	pf.BoolVar(&f.Output.NoHeader, "noheader", false, "do not print the header line")
	pf.StringVarP(&f.Output.Format, "format", "o", "", "comma-separated fields to show (see each command's help for the list)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		return f.resolveTarget(root.PersistentFlags())
	}
	cmdutil.Setup(root, "swarmup", exitStatuses)

	root.AddCommand(
		NewCmdQueue(f, nil),
		NewCmdWarm(f, nil),
		NewCmdCancel(f, nil),
		NewCmdDatasets(f, nil),
		NewCmdPrio(f, nil),
		NewCmdCache(f, nil),
		NewCmdJob(f, nil),
		NewCmdDoctor(f, nil),
		NewCmdShards(f, nil),
	)
	return root
}

// Main runs swarmup with args and returns its exit status; errors are
// printed on f.IO.ErrOut as one line that says what to do.
func Main(ctx context.Context, f *Factory, args []string) exitCode {
	return cmdutil.Main(ctx, NewCmdRoot(f), f.IO, args, classify)
}

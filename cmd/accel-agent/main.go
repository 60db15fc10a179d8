// Command accel-agent runs on every compute node: it follows the node's
// JuiceFS mount's .accesslog, attributes what processes read to their Slurm
// jobs, and reports per job × dataset × subdirectory bytes, files and the
// mount's cache counters to warmupd. See `accel-agent --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/pflag"

	"github.com/accel-data/accel-data/internal/agent"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/metrics/serve"
	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

const usage = `accel-agent — what Slurm jobs read from JuiceFS on this node.

accel-agent reads the JuiceFS mount's .accesslog (as root), maps each
operation's pid to its Slurm job (/proc/PID/cgroup job_NNN, else SLURM_JOB_ID
in /proc/PID/environ), maps inodes to paths from the lookups it sees (else, bounded, with juicefs
info --inode run in the mount), and
reports to warmupd every --agent-interval and when a job's last process ends:
bytes read, distinct files and first/last access per job, dataset and
subdirectory, and the mount's .stats cache counters over the job's time on the
node. JuiceFS drops access-log lines a reader does not take in time; the
agent counts the drops it can prove (a lower bound) and reports them.

Usage: accel-agent [flags]

Every flag is also a key of the configuration file, which is
%s: the flag --agent-interval is the line AgentInterval=30s.

Flags:
%s`

func main() { os.Exit(run(os.Args[1:])) }

// flags are accel-agent's options; each flag is also a config key.
type flags struct {
	cfg                  agent.Config
	client               api.Client
	logLevel, configPath string
	metrics              string
	help, version        bool
}

// newFlags defines accel-agent's flags on f; its man page is generated from
// them (internal/mangen).
func newFlags(f *flags) *pflag.FlagSet {
	cfg, client := &f.cfg, &f.client
	fs := pflag.NewFlagSet("accel-agent", pflag.ContinueOnError)
	fs.StringVar(&f.configPath, "config", "", "configuration file (Key=Value lines); see above for the default")
	fs.StringVar(&client.Socket, "socket", api.DefaultSocket, "warmupd's unix socket (when warmupd runs on this host)")
	fs.StringVar(&client.Server, "server", "", "warmupd's TCP door HOST:PORT, reached with a MUNGE credential (empty: the unix socket)")
	fs.StringVar(&client.MungeSocket, "munge-socket", "", "this host's munged socket (empty: /run/munge/munge.socket.2, MUNGE's default)")
	fs.Uint32Var(&client.ServerUID, "server-uid", 0, "uid warmupd runs as: only it may decode the credentials")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&cfg.Mount, "agent-mount", "/jfs", "the JuiceFS mount point to follow")
	fs.StringVar(&cfg.AccessLog, "agent-access-log", "", "the access log to read (default <mount>/.accesslog)")
	fs.StringVar(&cfg.Stats, "agent-stats", "", "the mount's counters (default <mount>/.stats)")
	fs.StringVar(&cfg.Node, "agent-node", "", "this node's name in reports (default the host name)")
	fs.DurationVar(&cfg.Interval, "agent-interval", 30*time.Second, "time between reports to warmupd (a job's last report goes at the first one after its last process ended)")
	fs.IntVar(&cfg.Buffer, "agent-buffer", 1000, "reports kept while warmupd is unreachable; beyond it the oldest are dropped and counted")
	fs.StringVar(&cfg.ProcRoot, "agent-proc-root", "/proc", "where processes' cgroup and environ are read")
	fs.IntVar(&cfg.PidCache, "agent-pid-cache", 65536, "pids whose job is remembered (least recently used forgotten)")
	fs.IntVar(&cfg.InodeCache, "agent-inode-cache", 1<<20, "inodes whose name is remembered (least recently used forgotten; a read of a forgotten inode is looked up with juicefs info --inode)")
	fs.IntVar(&cfg.MaxFiles, "agent-max-files", 1<<20, "files remembered per job for distinct-file counts")
	fs.IntVar(&cfg.DatasetDepth, "agent-dataset-depth", 1, "path components below the mount that name a dataset (1: /jfs/ds)")
	fs.IntVar(&cfg.SubpathDepth, "agent-subpath-depth", 1, "path components below a dataset that name a subdirectory in reports (1: /jfs/ds/train; 0: none)")
	fs.StringVar(&cfg.JuiceFS, "juicefs", "/usr/local/bin/juicefs", "the juicefs binary (juicefs info --inode finds inodes no lookup line named)")
	fs.Float64Var(&cfg.InfoRate, "agent-info-rate", 20, "juicefs info --inode look-ups per second at most (0: none; reads of inodes no lookup named count as unresolved)")
	fs.IntVar(&cfg.InfoConcurrency, "agent-info-concurrency", 4, "juicefs info --inode look-ups at once at most (over it, a read counts as unresolved)")
	fs.StringVar(&f.metrics, "agent-metrics", "", "serve Prometheus metrics at http://HOST:PORT/metrics (empty: off)")
	fs.BoolVarP(&f.help, "help", "h", false, "show this help")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.Usage = func() { fmt.Fprint(os.Stderr, helpText(fs.FlagUsages())) }
	return fs
}

// helpText is --help with the flags' usages: also the man page's text.
func helpText(flagUsages string) string { return fmt.Sprintf(usage, config.Rule, flagUsages) }

func run(args []string) int {
	var f flags
	fs := newFlags(&f)
	cfg, client := &f.cfg, &f.client
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "accel-agent: %v (see accel-agent --help)\n", err)
		return int(exitcode.Usage)
	}
	if f.help {
		fs.Usage()
		return 0
	}
	if f.version {
		fmt.Println(version.Line("accel-agent"))
		return 0
	}
	path, optional := config.Find(f.configPath, os.Getenv)
	if err := config.Load(fs, path, optional); err != nil {
		fmt.Fprintf(os.Stderr, "accel-agent: %v\n", err)
		return int(exitcode.Usage)
	}
	lvl, err := zerolog.ParseLevel(f.logLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "accel-agent: bad --log-level %q: want debug, info, warn or error\n", f.logLevel)
		return int(exitcode.Usage)
	}
	if cfg.DatasetDepth < 1 || cfg.SubpathDepth < 0 || cfg.Interval <= 0 || cfg.Buffer < 1 {
		fmt.Fprintf(os.Stderr, "accel-agent: --agent-dataset-depth %d (want ≥ 1), --agent-subpath-depth %d (≥ 0), --agent-interval %v (> 0), --agent-buffer %d (≥ 1)\n",
			cfg.DatasetDepth, cfg.SubpathDepth, cfg.Interval, cfg.Buffer)
		return int(exitcode.Usage)
	}
	cfg.Log = zerolog.New(os.Stderr).Level(lvl).With().Timestamp().Str("component", "accel-agent").Logger()
	// Over TCP, one MUNGE credential opens a session that authenticates
	// the periodic reports (an HMAC each).
	client.Sessions = client.Server != ""
	cfg.Client = client
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if f.metrics != "" {
		cfg.Metrics = agent.NewMetrics()
		srv, err := serve.Listen(f.metrics, "AgentMetrics", cfg.Metrics.Handler())
		if err != nil {
			fmt.Fprintf(os.Stderr, "accel-agent: %v\n", err)
			return int(exitcode.Usage)
		}
		defer srv.Close()
		cfg.Log.Info().Str("addr", srv.Addr()).Msg("serving metrics")
	}
	a := agent.New(*cfg)
	cfg.Log.Info().Str("mount", cfg.Mount).Str("server", client.SocketPath()).Dur("interval", cfg.Interval).Msg("accel-agent started")
	if err := a.Run(ctx); err != nil {
		cfg.Log.Error().Err(err).Msg("accel-agent stopped")
		return int(exitcode.Failure)
	}
	return int(exitcode.OK)
}

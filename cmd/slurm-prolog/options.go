package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

const usage = `slurm-prolog — accel-data's Slurm Prolog and Epilog (one binary).

Install it as both Prolog= and Epilog= in slurm.conf, with PrologFlags=Alloc.
The mode comes from SLURM_SCRIPT_CONTEXT (prolog_slurmd / epilog_slurmd).

Prolog: for a job submitted with --accel-data, tells warmupd the job started
(its datasets jump to the front of the queue) and waits until they are warm or
PrologWait passes, then logs one line saying what it waited for and why it
stopped. Epilog: tells warmupd the job ended.

Stage-in mode (burst_buffer/lua, see contrib's burst_buffer.lua): the Lua runs
"slurm-prolog stagein start JOBID UID SCRIPT" (queue the job's data) and
"slurm-prolog stagein wait JOBID SCRIPT" (wait, bounded by stagein-deadline,
while the job stays pending); each prints one line for the Lua's log.

It exits 0 on every path (daemon down, timeout, bad environment, internal
error): a non-zero exit would drain the node.

slurm-prolog warm-shard SCRIPT SPOOLDIR is not a prolog: it is the program of
the array tasks warmupd submits for a large warm-up (WarmupPartition). It warms
shard SLURM_ARRAY_TASK_ID of the run in SPOOLDIR with juicefs warmup -f on its
node's mount, reports it to warmupd (Server= below) and exits 0 when the shard
was warmed and reported, 1 otherwise (warmupd retries the shard).

Every flag is also a key of the configuration file, which is
%s.

Flags:
%s`

// options are slurm-prolog's flags (each also a config key).
type options struct {
	configPath   string
	socket       string
	server       string
	mungeSocket  string
	serverUID    uint32
	prologWait   time.Duration
	pollInterval time.Duration
	prologLog    string
	stopEarly    bool
	version      bool
	reconnect    time.Duration
	// stageInDeadline bounds `slurm-prolog stagein wait` (stage-in mode).
	stageInDeadline time.Duration
	// args are the positional arguments: "stagein …" in stage-in mode.
	args []string
}

func newFlags(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("slurm-prolog", pflag.ContinueOnError)
	fs.StringVar(&o.configPath, "config", "", "configuration file (Key=Value lines); see above for the default")
	fs.StringVar(&o.socket, "socket", api.DefaultSocket, "warmupd's unix socket")
	fs.StringVar(&o.server, "server", "", "warmupd's TCP door HOST:PORT, reached with a MUNGE credential (empty: the unix socket)")
	fs.StringVar(&o.mungeSocket, "munge-socket", "", "this host's munged socket (empty: /run/munge/munge.socket.2, MUNGE's default)")
	fs.Uint32Var(&o.serverUID, "server-uid", 0, "uid warmupd runs as: only it may decode the credentials")
	fs.DurationVar(&o.prologWait, "prolog-wait", 5*time.Minute, "longest wait for the data in the prolog; keep it below slurm.conf's PrologEpilogTimeout")
	fs.DurationVar(&o.pollInterval, "poll-interval", time.Second, "how often the prolog asks warmupd whether the data is warm when warmupd is older than the long poll (a current warmupd answers one waiting request when something changes)")
	fs.DurationVar(&o.reconnect, "prolog-reconnect", 30*time.Second, "how long the prolog keeps trying to reach a warmupd that does not answer (a restart takes seconds) before the job starts without waiting; never past prolog-wait (0: give up at once)")
	fs.BoolVar(&o.stopEarly, "prolog-stop-early", true, "stop waiting as soon as the measured warm-up speed says the data cannot be warm within prolog-wait (the job reads the rest through the cache)")
	fs.DurationVar(&o.stageInDeadline, "stagein-deadline", 30*time.Minute, "stage-in mode: longest a pending job waits for its data (slurm-prolog stagein wait); keep it below burst_buffer.conf's StageInTimeout")
	fs.StringVar(&o.prologLog, "prolog-log", "", "also append the one-line outcome to this file (slurmd does not keep prolog output)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fmt.Fprint(os.Stderr, helpText(fs.FlagUsages())) }
	return fs
}

// helpText is --help with the flags' usages: also the man page's text.
func helpText(flags string) string { return fmt.Sprintf(usage, config.Rule, flags) }

// parseOptions reads flags then the configuration file (flags win).
func parseOptions(args []string, getenv func(string) string) (options, error) {
	var o options
	fs := newFlags(&o)
	if err := fs.Parse(args); err != nil || o.version {
		return o, err
	}
	o.args = fs.Args()
	path, optional := config.Find(o.configPath, getenv)
	if err := config.Load(fs, path, optional); err != nil {
		return o, err
	}
	if o.prologWait < 0 {
		return o, fmt.Errorf("--prolog-wait=%v: must not be negative", o.prologWait)
	}
	if o.reconnect < 0 {
		return o, fmt.Errorf("--prolog-reconnect=%v: must not be negative", o.reconnect)
	}
	if o.stageInDeadline <= 0 {
		return o, fmt.Errorf("--stagein-deadline=%v: must be positive", o.stageInDeadline)
	}
	if o.pollInterval <= 0 {
		return o, fmt.Errorf("--poll-interval=%v: must be positive", o.pollInterval)
	}
	return o, nil
}

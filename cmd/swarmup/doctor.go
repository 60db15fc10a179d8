package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/doctor"
	"github.com/accel-data/accel-data/internal/exitcode"
	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/config"
)

// DoctorOptions are the inputs of `swarmup doctor`.
type DoctorOptions struct {
	IO     *IOStreams
	Client func() *api.Client
	Now    func() time.Time
	Getenv func(string) string
	Output OutputOptions
	// Socket, Server and MungeSocket are where swarmup reaches warmupd.
	Socket, Server, MungeSocket string
}

// defaultPrologWait is slurm-prolog's default PrologWait.
const defaultPrologWait = 5 * time.Minute

// NewCmdDoctor builds `swarmup doctor`. runF replaces doctorRun in tests.
func NewCmdDoctor(f *Factory, runF func(*DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the deployment: node mounts, prolog timeouts, plugin and daemon config, munged",
		Long: `Check what can be checked from here and from the accel-agent reports warmupd has:
each node's JuiceFS mount against the shared-cache rules (--cache-scan-interval=-1,
--cache-eviction none, one shared cache dir), agents that lost access-log lines or
stopped reporting, PrologWait (accel-data.conf) below PrologEpilogTimeout
(slurm.conf: $SLURM_CONF or /etc/slurm/slurm.conf), the SPANK plugin's socket=
(plugstack.conf) matching warmupd's socket, and, over TCP, that munged can make a
credential. Prints one line per problem with its fix; exits 1 when there is one.`,
		Example: `  swarmup doctor
  swarmup doctor --json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.IO, opts.Client, opts.Now, opts.Output = f.IO, f.APIClient, f.Now, f.Output
			opts.Getenv = f.Getenv
			if opts.Getenv == nil {
				opts.Getenv = func(string) string { return "" }
			}
			opts.Socket, opts.Server, opts.MungeSocket = f.APIClient().SocketPath(), f.Server, f.MungeSocket
			if runF != nil {
				return runF(opts)
			}
			return doctorRun(cmd.Context(), opts)
		},
	}
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	if err := checkOutputFlags(opts.Output); err != nil {
		return err
	}
	in := doctor.Input{Now: opts.Now(), Socket: opts.Socket, Server: opts.Server, PrologWait: defaultPrologWait}
	c := opts.Client()
	if _, err := c.Health(ctx); err != nil {
		in.HealthErr = err
	} else if ms, err := c.NodeMounts(ctx); err != nil {
		in.MountsErr = newEndpointError(err, c, "/v1/access/mounts")
	} else {
		in.Mounts = ms
	}
	if opts.Server != "" {
		if _, err := munge.Encode(nil, munge.EncodeOptions{Socket: opts.MungeSocket}); err != nil {
			in.MungeErr = err
		}
	}
	confPath := config.DefaultPath
	if p := opts.Getenv(config.PathEnv); p != "" {
		confPath = p
	}
	if v, ok := fileKey(confPath, "PrologWait"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			in.PrologWait = d
		}
	}
	slurmConf := opts.Getenv("SLURM_CONF")
	if slurmConf == "" {
		slurmConf = "/etc/slurm/slurm.conf"
	}
	in.SlurmConf = slurmConf
	if v, ok := fileKey(slurmConf, "PrologEpilogTimeout"); ok {
		if s, err := strconv.Atoi(v); err == nil && s > 0 && s < 65534 { // 65534: INFINITE
			in.PrologEpilogTimeout = time.Duration(s) * time.Second
		}
	}
	plug := filepath.Join(filepath.Dir(slurmConf), "plugstack.conf")
	if v, ok := fileKey(slurmConf, "PlugStackConfig"); ok {
		plug = v
	}
	in.Plugstack = plug
	in.PlugstackSocket = plugstackSocket(plug)

	ps := doctor.Check(in)
	if opts.Output.JSON {
		if ps == nil {
			ps = []doctor.Problem{}
		}
		if err := printJSON(opts.IO.Out, ps); err != nil {
			return err
		}
	} else {
		for _, p := range ps {
			fmt.Fprintln(opts.IO.Out, p.String())
		}
		if len(ps) == 0 {
			fmt.Fprintf(opts.IO.Out, "no problems found (%d node mounts reported by agents)\n", len(in.Mounts))
		}
	}
	if len(ps) > 0 {
		return exitcode.With(exitError, fmt.Errorf("%d problem(s) found", len(ps)))
	}
	return nil
}

// fileKey reads Key=Value from a slurm.conf-style file (keys
// case-insensitive, several pairs per line allowed, # comments).
func fileKey(path, key string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	val, found := "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, tok := range strings.Fields(line) {
			if k, v, ok := strings.Cut(tok, "="); ok && strings.EqualFold(k, key) {
				val, found = v, true // the last one wins, as in slurm.conf
			}
		}
	}
	return val, found
}

// plugstackSocket returns the socket= argument of the accel_data.so line.
func plugstackSocket(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if !strings.Contains(line, "accel_data.so") {
			continue
		}
		sock := api.DefaultSocket // the plugin's default
		for _, tok := range strings.Fields(line) {
			if strings.HasPrefix(tok, "server=") {
				return "" // it reaches warmupd over TCP
			}
			if v, ok := strings.CutPrefix(tok, "socket="); ok {
				sock = v
			}
		}
		return sock
	}
	return ""
}

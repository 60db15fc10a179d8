// Package doctor holds the rules `swarmup doctor` checks a deployment
// against: each node's JuiceFS mount (from accel-agent reports) against the
// shared-cache rules, the prolog's wait against Slurm's PrologEpilogTimeout,
// the SPANK plugin's socket against warmupd's, and whether agents report
// and keep up. Check is a pure function of what the command gathered, so
// the rules are tested without a cluster.
package doctor

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Problem is one thing wrong, where, and how to fix it.
type Problem struct {
	Where string // "node n1 /jfs", "slurm.conf", "warmupd", …
	What  string
	Fix   string
}

func (p Problem) String() string { return p.Where + ": " + p.What + " — fix: " + p.Fix }

// Input is what the command could learn. Zero values mean "not known" and
// skip the checks that need them.
type Input struct {
	Now time.Time
	// HealthErr is why warmupd could not be asked (nil: it answered).
	HealthErr error
	// Mounts are the agents' reports; MountsErr why they could not be read.
	Mounts    []api.NodeMount
	MountsErr error
	// AgentStale is how old an agent's last report may be (default 10m).
	AgentStale time.Duration

	// PrologWait from accel-data.conf (or slurm-prolog's default) and
	// PrologEpilogTimeout from slurm.conf (0: unset or unknown).
	PrologWait          time.Duration
	PrologEpilogTimeout time.Duration
	SlurmConf           string // the file it was read from, for messages

	// PlugstackSocket is the socket= argument of accel_data.so in
	// plugstack.conf ("" unknown); Socket is the one clients use.
	PlugstackSocket string
	Plugstack       string
	Socket          string
	// Server is set when clients reach warmupd over TCP; MungeErr is why
	// no MUNGE credential could be made on this host.
	Server   string
	MungeErr error
}

// Check returns the problems found, in a stable order.
func Check(in Input) []Problem {
	var out []Problem
	add := func(where, what, fix string) { out = append(out, Problem{where, what, fix}) }
	if in.HealthErr != nil {
		add("warmupd", in.HealthErr.Error(), "start warmupd (systemctl start warmupd) or point swarmup at it (--socket, --server)")
	}
	if in.Server != "" && in.MungeErr != nil {
		add("munge", in.MungeErr.Error(), "start munged on this host (systemctl start munge), or set MungeSocket to its socket")
	}
	if in.PrologEpilogTimeout > 0 && in.PrologWait >= in.PrologEpilogTimeout {
		add(orDefault(in.SlurmConf, "slurm.conf"), fmt.Sprintf("PrologWait %v is not below PrologEpilogTimeout %v: slurmd would kill the prolog and drain the node",
			in.PrologWait, in.PrologEpilogTimeout), fmt.Sprintf("set PrologWait below %v in accel-data.conf, or raise PrologEpilogTimeout", in.PrologEpilogTimeout))
	}
	if in.PlugstackSocket != "" && in.Server == "" && in.Socket != "" && filepath.Clean(in.PlugstackSocket) != filepath.Clean(in.Socket) {
		add(orDefault(in.Plugstack, "plugstack.conf"), fmt.Sprintf("the SPANK plugin submits to %s but warmupd's socket is %s", in.PlugstackSocket, in.Socket),
			fmt.Sprintf("set socket=%s on the accel_data.so line (or Socket= in accel-data.conf to match)", in.Socket))
	}
	if in.MountsErr != nil {
		add("agents", in.MountsErr.Error(), "upgrade warmupd, or check that it is reachable")
	}
	out = append(out, checkMounts(in)...)
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// checkMounts applies the shared-cache rules to every node's mount.
func checkMounts(in Input) []Problem {
	var out []Problem
	stale := in.AgentStale
	if stale <= 0 {
		stale = 10 * time.Minute
	}
	// The cache dir most nodes use is the shared one.
	dirs := map[string]int{}
	for _, m := range in.Mounts {
		if m.CacheDir != "" {
			dirs[m.CacheDir]++
		}
	}
	shared, best := "", 0
	for d, n := range dirs {
		if n > best || (n == best && d < shared) {
			shared, best = d, n
		}
	}
	ms := append([]api.NodeMount(nil), in.Mounts...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Node+ms[i].Mount < ms[j].Node+ms[j].Mount })
	for _, m := range ms {
		where := "node " + m.Node + " " + m.Mount
		add := func(what, fix string) { out = append(out, Problem{where, what, fix}) }
		if m.FSType != "" && !strings.HasPrefix(m.FSType, "fuse.juicefs") {
			add(fmt.Sprintf("file system type is %s, not fuse.juicefs", m.FSType), "mount the JuiceFS volume there (juicefs mount), or point AgentMount at it")
		}
		if m.CacheScanInterval != -1 && m.CacheDir != "memory" {
			add(fmt.Sprintf("--cache-scan-interval is %gs: blocks other nodes warmed stay invisible (downloaded again) until its next scan", m.CacheScanInterval),
				"remount with --cache-scan-interval=-1")
		}
		if m.CacheEviction != "" && m.CacheEviction != "none" {
			add(fmt.Sprintf("--cache-eviction %s: this client evicts blocks of the shared cache on its own, by its own --cache-size", m.CacheEviction),
				"remount with --cache-eviction none and let warmupd manage the capacity (CacheCapacity)")
		}
		if m.CacheDir == "memory" {
			add("caches blocks in memory only: warm-ups on other nodes cannot serve it", "remount with --cache-dir on the shared file system")
		} else if len(dirs) > 1 && m.CacheDir != shared {
			add(fmt.Sprintf("cache dir %s differs from the one most nodes share (%s)", m.CacheDir, shared), "remount with --cache-dir set to the shared directory")
		}
		if m.Dropped > 0 {
			add(fmt.Sprintf("accel-agent lost at least %d access-log lines (JuiceFS drops lines a slow reader does not take)", m.Dropped),
				"give accel-agent more CPU (its unit's Nice/CPU limits), or lower the node's load; its figures are low meanwhile")
		}
		if m.ReportsDropped > 0 {
			add(fmt.Sprintf("accel-agent dropped %d reports while warmupd was unreachable", m.ReportsDropped), "raise AgentBuffer, or keep warmupd reachable")
		}
		if !in.Now.IsZero() && in.Now.Sub(m.ReportedAt) > stale {
			add(fmt.Sprintf("accel-agent's last report is %v old", in.Now.Sub(m.ReportedAt).Round(time.Second)),
				"check that accel-agent runs on the node (systemctl status accel-agent)")
		}
	}
	return out
}

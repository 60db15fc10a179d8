// Package config reads accel-data's slurm.conf-style configuration file
// (`Key=Value` lines, `#` comments, keys case-insensitive) and binds it to a
// flag set so that every key is also a command-line flag: the key
// `PrologWait` is the flag `--prolog-wait`. Flags given on the command line
// win over the file.
package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// DefaultPath is where accel-data's tools look for their configuration.
const DefaultPath = "/etc/slurm/accel-data.conf"

// PathEnv names the configuration file, instead of DefaultPath.
const PathEnv = "ACCEL_DATA_CONF"

// SlurmConfEnv is the environment variable naming slurm.conf (slurmd passes
// it to the prolog); accel-data.conf next to it is the file of that cluster.
const SlurmConfEnv = "SLURM_CONF"

// Rule says, for --help, how Find picks the file.
const Rule = "--config, else $" + PathEnv + ", else accel-data.conf next to $" + SlurmConfEnv + ", else " + DefaultPath

// Find is the one rule every tool uses to pick its configuration file: the
// --config flag (flag, when not empty), else $ACCEL_DATA_CONF, else
// accel-data.conf in the directory of $SLURM_CONF when that file exists,
// else DefaultPath. optional is true only for DefaultPath: a file named by
// the flag or the environment must exist, the default need not (the
// defaults stand).
func Find(flag string, getenv func(string) string) (path string, optional bool) {
	if flag != "" {
		return flag, false
	}
	if p := getenv(PathEnv); p != "" {
		return p, false
	}
	if sc := getenv(SlurmConfEnv); sc != "" {
		p := filepath.Join(filepath.Dir(sc), "accel-data.conf")
		if _, err := os.Stat(p); err == nil {
			return p, false
		}
	}
	return DefaultPath, true
}

// NotKeys are flags every tool may have that are never keys of the file:
// Apply and Load skip them (a Config= line is an unknown key).
var NotKeys = []string{"config", "help", "version"}

// Entry is one `Key=Value` line.
type Entry struct {
	Key   string
	Value string
	Line  int
}

// Parse reads Key=Value lines. Blank lines and lines starting with # are
// ignored; a trailing `# comment` after a value is not stripped (values may
// contain #). A line without '=' is an error naming the line.
func Parse(r io.Reader, name string) ([]Entry, error) {
	var out []Entry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%s:%d: expected Key=Value, got %q", name, n, line)
		}
		out = append(out, Entry{Key: strings.TrimSpace(k), Value: strings.TrimSpace(v), Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// Normalize maps a key or flag name to its comparison form:
// lower case without '-' or '_' ("PrologWait", "prolog-wait" -> "prologwait").
func Normalize(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("-", "", "_", "").Replace(s)
}

// Keys lists every key any accel-data tool reads from the shared file. One
// file serves warmupd, slurm-prolog and swarmup: a tool skips the keys that
// belong to another tool, and a key in no tool's list is an error. Add a key
// here when a tool gains a flag that may be set from the file.
var Keys = []string{
	// shared
	"Socket", "LogLevel",
	// warmupd
	"Database", "JuiceFS", "Mounts", "Workers", "WarmThreads", "TargetRatio", "MaxPaths", "MinDepth", "MaxRequestBytes", "Lease",
	"Retries", "RetryBackoff", "CheckInterval", "SocketMode", "VerifyMaxAge", "VerifyTimeout", "VerifyParallel",
	// warmupd's cache manager
	"CacheDir", "CacheCapacity", "PlanInterval", "RefreshInterval", "WarmHorizon", "ReserveAfter",
	"ActiveWindows", "ActiveBudget", "ActiveMaxLoad", "ActiveMinHistory", "ObjectStoreBandwidth", "StatsMount", "Squeue", "SqueueInterval",
	"PriorityWeightPrologWait", "PriorityWeightStartSoon", "PriorityWeightPending", "PriorityWeightAge",
	"PriorityWeightHistory", "PriorityWeightSize", "PriorityWeightHitRate",
	"PriorityStartHorizon", "PriorityAgeUnit", "PriorityPendingRef", "PriorityHistoryRef", "PrioritySizeRef",
	// slurm-prolog
	"PrologWait", "PollInterval", "PrologLog", "PrologStopEarly",
	"PrologReconnect",
	// warmupd (reliability)
	"SqueueGrace", "AllowEmptyDatabase",
	// TCP door and MUNGE (issue 9): warmupd's Listen and SlurmdUser; the
	// clients' Server and ServerUID; MungeSocket for both sides
	"Listen", "SlurmdUser", "Server", "ServerUID", "MungeSocket",
	// warmupd's Prometheus endpoint (issue 13)
	"Metrics",
	// accel-agent (issue 10); it also reads Socket, Server, ServerUID, MungeSocket, LogLevel
	"AgentMount", "AgentAccessLog", "AgentStats", "AgentNode", "AgentInterval", "AgentBuffer", "AgentProcRoot",
	"AgentPidCache", "AgentInodeCache", "AgentMaxFiles", "AgentDatasetDepth", "AgentSubpathDepth", "AgentMetrics",
	"AgentInfoRate", "AgentInfoConcurrency",
	// warmupd: narrowed warm-ups from the access history (issue 10)
	"NarrowWarmups", "NarrowRest",
	// warmupd: release a job once the first part of its data is warm (issue 12)
	"ReleaseAt",
	// stage-in mode (issue 12): slurm-prolog's StageInDeadline; warmupd
	// writes waiting jobs' progress into their comment with Scontrol
	"StageInDeadline", "SqueueProgress", "Scontrol",
	// warm-up shards (issue 11)
	"ShardBytes", "WarmupPartition", "WarmupQOS", "WarmupMaxNodes", "WarmupMinBytes", "WarmupSpool", "WarmupUser", "WarmupRunner", "WarmupPendingMax",
	// stale events (issue 11): miss reports and the JuiceFS changelog
	"EventRefreshInterval", "ChangelogMeta", "ChangelogInterval",
	// warmupd: how long the history of ended jobs is kept
	"HistoryRetention",
}

// Apply sets every flag of fs named by an entry, unless the flag was already
// set on the command line. A key that is in Keys but not a flag of this tool
// is skipped (another tool reads it); a key in neither is an error that names
// the key, so a typo never passes silently. Flags listed in skip, and
// NotKeys, cannot be set from the file.
func Apply(fs *pflag.FlagSet, entries []Entry, name string, skip ...string) error {
	skip = append(slices.Clip(skip), NotKeys...)
	byKey := map[string]*pflag.Flag{}
	fs.VisitAll(func(f *pflag.Flag) { byKey[Normalize(f.Name)] = f })
	for _, s := range skip {
		delete(byKey, Normalize(s))
	}
	for _, e := range entries {
		f, ok := byKey[Normalize(e.Key)]
		if !ok && IsKey(e.Key) && !skipped(e.Key, skip) {
			continue
		}
		if !ok {
			return fmt.Errorf("%s:%d: unknown key %q (see --help for the keys; each flag --some-key is the key SomeKey)", name, e.Line, e.Key)
		}
		if f.Changed {
			continue
		}
		if err := f.Value.Set(e.Value); err != nil {
			return fmt.Errorf("%s:%d: bad value for %s: %v", name, e.Line, e.Key, err)
		}
	}
	return nil
}

// Load parses the file at path and applies it to fs. A missing file is not
// an error when optional is true (the defaults stand).
func Load(fs *pflag.FlagSet, path string, optional bool, skip ...string) error {
	f, err := os.Open(path)
	if err != nil {
		if optional && os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	entries, err := Parse(f, path)
	if err != nil {
		return err
	}
	return Apply(fs, entries, path, skip...)
}

// IsKey reports whether name (a key, or a flag: "prolog-wait") is one of Keys.
func IsKey(name string) bool {
	for _, k := range Keys {
		if Normalize(k) == Normalize(name) {
			return true
		}
	}
	return false
}

func skipped(key string, skip []string) bool {
	for _, s := range skip {
		if Normalize(s) == Normalize(key) {
			return true
		}
	}
	return false
}

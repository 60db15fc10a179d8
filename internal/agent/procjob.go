package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// Jobs maps a pid to its Slurm job: the `job_NNN` component of the
// process's cgroup (slurmd's cgroup plugins, v1 and v2), else SLURM_JOB_ID
// in its environment. Answers are cached per pid in a bounded LRU.
type Jobs struct {
	ProcRoot string // default /proc
	cache    *lru[uint32, uint64]
}

// NewJobs returns a resolver caching at most max pids.
func NewJobs(procRoot string, max int) *Jobs {
	if procRoot == "" {
		procRoot = "/proc"
	}
	return &Jobs{ProcRoot: procRoot, cache: newLRU[uint32, uint64](max)}
}

// Job returns the job of pid: (id, true) for a job's process, (0, true)
// for a live process outside any job, (0, false) when the process is gone
// and was never seen (its reads cannot be attributed).
func (j *Jobs) Job(pid uint32) (uint64, bool) {
	if pid == 0 {
		return 0, false
	}
	if id, ok := j.cache.get(pid); ok {
		return id, true
	}
	id, ok, final := j.lookup(pid)
	if ok && final {
		j.cache.put(pid, id)
	}
	return id, ok
}

// Forget drops a pid (its process ended; the pid may be reused).
func (j *Jobs) Forget(pid uint32) { j.cache.remove(pid) }

// Sweep forgets every cached pid whose process has ended, so a reused pid
// is looked up again (called once per report).
func (j *Jobs) Sweep() {
	var dead []uint32
	for pid := range j.cache.items {
		if !j.Alive(pid) {
			dead = append(dead, pid)
		}
	}
	for _, pid := range dead {
		j.cache.remove(pid)
	}
}

// Alive reports whether pid still runs.
func (j *Jobs) Alive(pid uint32) bool {
	_, err := os.Stat(filepath.Join(j.ProcRoot, strconv.FormatUint(uint64(pid), 10)))
	return err == nil
}

// lookup reads pid's job; final is false for an answer that may change: an
// empty environment is that of a process inside execve (the kernel shows
// none between the switch to the new program and the setting of its
// environment, and a program on the mount is read in that window), so it
// is read again at the pid's next line.
func (j *Jobs) lookup(pid uint32) (id uint64, ok, final bool) {
	dir := filepath.Join(j.ProcRoot, strconv.FormatUint(uint64(pid), 10))
	cg, err := os.ReadFile(filepath.Join(dir, "cgroup"))
	if err != nil {
		return 0, false, false
	}
	if id, ok := JobFromCgroup(cg); ok {
		return id, true, true
	}
	env, err := os.ReadFile(filepath.Join(dir, "environ"))
	if err != nil {
		// unreadable environ (not root) or gone: not in a job's cgroup
		return 0, j.Alive(pid), true
	}
	if id, ok := JobFromEnviron(env); ok {
		return id, true, true
	}
	return 0, true, len(env) > 0
}

// JobFromCgroup finds "job_NNN" in /proc/PID/cgroup's text
// ("0::/system.slice/…/job_42/step_0/user/task_0").
func JobFromCgroup(b []byte) (uint64, bool) {
	for {
		i := bytes.Index(b, []byte("/job_"))
		if i < 0 {
			return 0, false
		}
		b = b[i+5:]
		v, rest, ok := digitsPrefix(b)
		if ok && (len(rest) == 0 || rest[0] == '/' || rest[0] == '\n') {
			return v, true
		}
	}
}

// JobFromEnviron finds SLURM_JOB_ID in a NUL-separated environment.
func JobFromEnviron(b []byte) (uint64, bool) {
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("SLURM_JOB_ID=")); ok {
			id, rest, ok := digitsPrefix(v)
			if ok && len(rest) == 0 && id > 0 {
				return id, true
			}
		}
	}
	return 0, false
}

func digitsPrefix(b []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, b[i:], i > 0
}

package testutil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accel-data/accel-data/pkg/api"
)

// Daemon is a real warmupd process started for a test.
type Daemon struct {
	Socket   string
	Database string
	Args     []string
	Client   *api.Client

	t    testing.TB
	bin  string
	host *Host
	logs *syncBuffer
	proc
}

// StartWarmupd builds and starts warmupd on a socket and database in a temp
// directory, serving the volume's mount with its juicefs binary (the
// stand-in or a real client). Extra flags are appended. It waits until the
// daemon answers /v1/health and stops it (SIGTERM) when the test ends.
func StartWarmupd(t testing.TB, v *Volume, extra ...string) *Daemon {
	t.Helper()
	return startWarmupd(t, v, nil, extra)
}

// Host is another host of a multi-host test cluster (test/slurm-cluster/hosts-up.sh)
// for StartWarmupdOn.
type Host struct {
	// Enter is the command prefix that runs a program on the host
	// (nsenter --target HOLDER --mount --uts --net=/run/netns/NAME --).
	Enter []string
	// Socket is warmupd's unix socket as the host sees it, ClientSocket the
	// same socket as this process reaches it (/proc/HOLDER/root/…).
	Socket, ClientSocket string
	// Env is added to warmupd's environment.
	Env []string
}

// StartWarmupdOn is StartWarmupd on another host: warmupd runs there (its
// pid is warmupd's, nsenter execs it) and the test talks to it through
// ClientSocket as root, like an admin on that host.
func StartWarmupdOn(t testing.TB, v *Volume, h Host, extra ...string) *Daemon {
	t.Helper()
	return startWarmupd(t, v, &h, extra)
}

func startWarmupd(t testing.TB, v *Volume, host *Host, extra []string) *Daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "warmupd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Other uids must reach the socket (its own mode is set by warmupd).
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{
		Socket:   filepath.Join(dir, "warmupd.sock"),
		Database: filepath.Join(dir, "warmupd.db"),
		t:        t,
		bin:      Binary(t, "cmd/warmupd"),
		host:     host,
		logs:     &syncBuffer{},
	}
	if host != nil {
		d.Socket = host.Socket
	}
	d.Args = append([]string{
		"--config", "/dev/null",
		"--socket", d.Socket,
		"--database", d.Database,
		"--juicefs", v.Binary,
		"--mounts", v.Mount,
		"--log-level", "debug",
		"--check-interval", "300ms",
		"--lease", "3s",
		"--retry-backoff", "500ms",
	}, extra...)
	d.Client = &api.Client{Socket: d.Socket}
	if host != nil {
		d.Client = &api.Client{Socket: host.ClientSocket}
	}
	d.Start()
	t.Cleanup(func() {
		d.Stop()
		if strings.Contains(d.Logs(), "WARNING: DATA RACE") {
			t.Errorf("warmupd (built with -race) reported a data race")
		}
		if t.Failed() {
			t.Logf("warmupd log:\n%s", d.Logs())
		}
	})
	return d
}

// Start (re)starts the process with the same arguments and waits for health.
func (d *Daemon) Start() {
	d.t.Helper()
	d.cmd = exec.Command(d.bin, d.Args...)
	d.cmd.Env = append(os.Environ(), "ACCEL_DATA_CONF=/dev/null")
	if d.host != nil {
		d.cmd = exec.Command(d.host.Enter[0], slices.Concat(d.host.Enter[1:], []string{d.bin}, d.Args)...)
		d.cmd.Env = append(append(os.Environ(), "ACCEL_DATA_CONF=/dev/null"), d.host.Env...)
	}
	d.cmd.Stdout = d.logs
	d.cmd.Stderr = d.logs
	if err := d.cmd.Start(); err != nil {
		d.t.Fatalf("start warmupd: %v", err)
	}
	d.waitInBackground()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.Client.Health(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-d.done:
			d.t.Fatalf("warmupd exited during start-up: %v\n%s", d.cmd.ProcessState, d.Logs())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("warmupd did not answer within 20s: %v\n%s", err, d.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (d *Daemon) Kill() {
	d.t.Helper()
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

// Signal sends sig to the process (e.g. SIGSTOP to make it hang, SIGCONT to
// resume it).
func (d *Daemon) Signal(sig os.Signal) error {
	if d.cmd == nil || d.cmd.Process == nil {
		return fmt.Errorf("warmupd is not running")
	}
	return d.cmd.Process.Signal(sig)
}

// Stop sends SIGTERM and waits (at most 20s, then SIGKILL). It reports
// whether the process exited with status 0.
func (d *Daemon) Stop() bool { return d.stop(20 * time.Second) }

// Pid is the process id of the running daemon (0 before Start).
func (d *Daemon) Pid() int { return d.pid() }

// Logs returns everything the daemon printed so far.
func (d *Daemon) Logs() string { return d.logs.String() }

// CountLogs counts log lines containing every one of the given substrings.
func (d *Daemon) CountLogs(subs ...string) int {
	n := 0
	for _, line := range strings.Split(d.Logs(), "\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok && line != "" {
			n++
		}
	}
	return n
}

// WaitQueue polls the queue (all tasks) until cond holds or the timeout passes.
func (d *Daemon) WaitQueue(timeout time.Duration, cond func([]api.QueueEntry) bool) []api.QueueEntry {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	var last []api.QueueEntry
	for time.Now().Before(deadline) {
		q, err := d.Client.Queue(context.Background(), true)
		if err == nil {
			last = q.Entries
			if cond(last) {
				return last
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("queue did not reach the expected state within %v; last: %s\nlog:\n%s", timeout, fmtQueue(last), d.Logs())
	return nil
}

func fmtQueue(es []api.QueueEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n  %d %s %s attempts=%d ratio=%.3f reason=%q", e.TaskID, e.Dataset, e.State, e.Attempts, e.CachedRatio, e.Reason)
	}
	return b.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

package testutil

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// proc is a process a test started, with a channel closed when it has been
// waited for. Daemon and Munged are procs.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// waitInBackground reaps the started process and closes done when it exits.
func (p *proc) waitInBackground() {
	p.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(p.cmd, p.done)
}

// stop sends SIGTERM and waits (at most grace, then SIGKILL). It reports
// whether the process exited with status 0; false when it never started.
func (p *proc) stop(grace time.Duration) bool {
	if p.cmd == nil || p.cmd.Process == nil {
		return false
	}
	select {
	case <-p.done:
		return p.cmd.ProcessState.Success()
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.cmd.ProcessState.Success()
}

// pid is the process id (0 before it started).
func (p *proc) pid() int {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Process is a program a test started with StartProcess: its output is
// kept (Logs), and it is stopped when the test ends.
type Process struct {
	proc
	logs syncBuffer
}

// StartProcess starts cmd with its stdout and stderr kept, and stops it when
// the test ends (SIGTERM, then SIGKILL after 10 s), printing its output if
// the test failed. name is what the output is called in the test log.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{proc: proc{cmd: cmd}}
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("testutil: start %s: %v", name, err)
	}
	p.waitInBackground()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, p.Logs())
		}
	})
	return p
}

// Logs is what the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

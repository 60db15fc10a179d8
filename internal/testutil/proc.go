package testutil

import (
	"os/exec"
	"syscall"
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

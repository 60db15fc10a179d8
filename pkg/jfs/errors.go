package jfs

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoSummary means juicefs exited 0 but printed no summary line. This
// happens with -q, with a background (-b) warm-up, or with a client whose
// output format we do not know. Check again rather than trusting the run.
var ErrNoSummary = errors.New("jfs: juicefs exited 0 but printed no summary line (is -q set, or is the juicefs version unsupported?)")

// PathError means juicefs refused the request because of the path itself:
// the first path does not exist or is not inside a JuiceFS mount
// (juicefs prints "<FATAL>: open control file for …" and exits 1), or a
// clone source/destination is wrong. Retrying the same request will not help.
type PathError struct {
	Op     string // "warmup", "check", "evict", "clone", "info"
	Path   string // the path juicefs complained about (or the first one given)
	Detail string // the FATAL line's message, without timestamp and source
}

func (e *PathError) Error() string {
	return fmt.Sprintf("jfs: %s %s: %s (check that the path exists and is inside a mounted JuiceFS volume; retrying will not help)", e.Op, e.Path, e.Detail)
}

// ExecError means running juicefs failed in a way that may be transient:
// the binary is missing or not executable, the process was killed or the
// context was cancelled, or it exited non-zero without a path complaint.
type ExecError struct {
	Op       string   // "warmup", "check", …
	Argv     []string // the command that ran
	ExitCode int      // -1 when the process did not exit normally (killed, not started)
	Stderr   string   // the tail of stderr (bounded)
	Err      error    // the underlying error (exec, context, wait)
}

func (e *ExecError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "jfs: %s: running %q", e.Op, strings.Join(e.Argv, " "))
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.ExitCode >= 0 {
		fmt.Fprintf(&b, " (exit %d)", e.ExitCode)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "; stderr: %s", lastLines(s, 3))
	}
	b.WriteString("; check the juicefs binary path and that the mount is alive, then retry")
	return b.String()
}

func (e *ExecError) Unwrap() error { return e.Err }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

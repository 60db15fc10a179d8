package jfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// BatchMax is the most paths sent to one juicefs process (the CLI's own
// per-request limit).
const BatchMax = 10240

// DefaultBinary is used when Driver.Binary is empty (looked up in PATH).
const DefaultBinary = "juicefs"

const (
	stderrLimit = 64 << 10 // keep the last 64 KiB of stderr (summary is at the end)
	stdoutLimit = 8 << 20  // info --raw of a huge file stays well below this
	waitDelay   = 5 * time.Second
)

// Driver runs the juicefs command line. The zero value runs "juicefs" from
// PATH with juicefs's default thread count and logs nothing.
type Driver struct {
	Binary  string         // path of the juicefs binary; "" means "juicefs" from PATH
	Threads int            // -p for warmup/check/evict; 0 = juicefs default (50)
	Log     zerolog.Logger // per-run debug lines; the zero value is silent
	// Dir is the working directory of the runs ("": the caller's); InfoInode
	// needs one inside the mount.
	Dir string
	// Changelog reads `juicefs changelog` as a stream, which a 1.4.1 client
	// never ends (see Changelog): a read ends when no new line came for
	// ChangelogIdle (default DefaultChangelogIdle), when no first line came
	// for ChangelogFirst (default DefaultChangelogFirst: the client connects
	// to the metadata engine first; a read that finds nothing new costs this
	// long), or after ChangelogMax (default DefaultChangelogMax). 0: the
	// default.
	ChangelogIdle, ChangelogFirst, ChangelogMax time.Duration
}

// Warmup fetches every block of paths (files or directories) into the cache
// with `juicefs warmup -f LISTFILE`, in batches of at most BatchMax paths.
// juicefs exits 0 even when blocks failed: verify with Check.
func (d *Driver) Warmup(ctx context.Context, paths []string) (*Summary, error) {
	return d.filesBytes(ctx, "warmup", nil, paths, ParseWarmupSummary)
}

// Evict asks the mount to drop the blocks of paths from the cache
// (`warmup --evict`). A real client removes only the blocks its own mount
// process wrote since it was mounted: after a remount, or for blocks another
// client wrote, it prints the same summary and removes nothing. To evict for
// real use EvictBlocks (see docs/design/juicefs-contract.md).
func (d *Driver) Evict(ctx context.Context, paths []string) (*Summary, error) {
	return d.filesBytes(ctx, "evict", []string{"--evict"}, paths, ParseEvictSummary)
}

// Check reports how much of paths is in the cache (`warmup --check`). A
// dataset of 0 bytes reports Ratio 0, as juicefs does: look at TotalBytes.
func (d *Driver) Check(ctx context.Context, paths []string) (*CheckResult, error) {
	total := &CheckResult{}
	var batches int
	err := d.batches(ctx, "check", []string{"--check"}, paths, func(stderr string) error {
		r, err := ParseCheckSummary(stderr)
		if err != nil {
			return err
		}
		batches++
		if batches == 1 {
			*total = *r
			return nil
		}
		total.Files += r.Files
		total.TotalBytes += r.TotalBytes
		total.CachedBytes += r.CachedBytes
		if total.TotalBytes > 0 {
			total.Ratio = float64(total.CachedBytes) / float64(total.TotalBytes)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return total, nil
}

func (d *Driver) filesBytes(ctx context.Context, op string, flags, paths []string, parse func(string) (*Summary, error)) (*Summary, error) {
	total := &Summary{}
	err := d.batches(ctx, op, flags, paths, func(stderr string) error {
		s, err := parse(stderr)
		if err != nil {
			return err
		}
		total.Files += s.Files
		total.Bytes += s.Bytes
		return nil
	})
	if err != nil {
		return nil, err
	}
	return total, nil
}

// batches runs `juicefs warmup FLAGS [-p N] -f LIST` once per BatchMax paths
// and hands each run's stderr to each.
func (d *Driver) batches(ctx context.Context, op string, flags, paths []string, each func(stderr string) error) error {
	abs := make([]string, 0, len(paths))
	for _, p := range paths {
		if p == "" || strings.ContainsAny(p, "\n\r") || strings.TrimSpace(p) != p {
			return &PathError{Op: op, Path: strconv.Quote(p), Detail: "empty, or has a newline or leading/trailing blanks, which a juicefs list file cannot express; rename it"}
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return &PathError{Op: op, Path: p, Detail: err.Error()}
		}
		abs = append(abs, a)
	}
	for start := 0; start < len(abs); start += BatchMax {
		end := min(start+BatchMax, len(abs))
		stderr, err := d.warmupBatch(ctx, op, flags, abs[start:end])
		if err != nil {
			return err
		}
		if err := each(stderr); err != nil {
			return fmt.Errorf("jfs: %s of %d paths starting with %s: %w", op, end-start, abs[start], err)
		}
	}
	return nil
}

func (d *Driver) warmupBatch(ctx context.Context, op string, flags, batch []string) (string, error) {
	f, err := os.CreateTemp("", "jfs-"+op+"-*.list")
	if err != nil {
		return "", &ExecError{Op: op, ExitCode: -1, Err: fmt.Errorf("create list file (is TMPDIR writable?): %w", err)}
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(strings.Join(batch, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", &ExecError{Op: op, ExitCode: -1, Err: fmt.Errorf("write list file %s: %w", f.Name(), err)}
	}
	args := append([]string{"warmup"}, flags...)
	if d.Threads > 0 {
		args = append(args, "-p", strconv.Itoa(d.Threads))
	}
	args = append(args, "-f", f.Name())
	_, stderr, err := d.run(ctx, op, batch[0], args)
	return stderr, err
}

// Clone runs `juicefs clone [-p] SRC DST`: a metadata-only copy whose data
// shares SRC's slices (and so its cached blocks). DST must not exist and must
// be in the same mount as SRC; preserve keeps uid, gid and mode.
func (d *Driver) Clone(ctx context.Context, src, dst string, preserve bool) error {
	if strings.HasSuffix(dst, "/") { // juicefs's meaning: DST/<base of SRC>
		dst = filepath.Join(dst, filepath.Base(src))
	}
	// Absolute paths cannot be taken for flags.
	var err error
	if src, err = filepath.Abs(src); err != nil {
		return &PathError{Op: "clone", Path: src, Detail: err.Error()}
	}
	if dst, err = filepath.Abs(dst); err != nil {
		return &PathError{Op: "clone", Path: dst, Detail: err.Error()}
	}
	args := []string{"clone"}
	if preserve {
		args = append(args, "-p")
	}
	args = append(args, src, dst)
	_, _, err = d.run(ctx, "clone", src, args)
	return err
}

// InfoRaw returns the slice rows of `juicefs info --raw PATH`. Two files with
// equal rows share their data. A directory has no rows.
func (d *Driver) InfoRaw(ctx context.Context, path string) ([]SliceRow, error) {
	path, err := filepath.Abs(path) // an absolute path cannot be taken for a flag
	if err != nil {
		return nil, &PathError{Op: "info", Path: path, Detail: err.Error()}
	}
	stdout, stderr, err := d.run(ctx, "info", path, []string{"info", "--raw", path})
	if err != nil {
		return nil, err
	}
	// juicefs info logs an ERROR and exits 0 for a path it cannot look up.
	if !strings.Contains(stdout, path+" :") {
		msg := lastLogMessage(stderr, "ERROR")
		if msg == "" {
			msg = "juicefs info printed nothing for it"
		}
		return nil, &PathError{Op: "info", Path: path, Detail: msg}
	}
	return ParseInfoRaw(stdout), nil
}

// InfoInode returns the path (relative to the volume's root, without the
// leading slash) and length of inode ino with `juicefs info --inode INO`,
// run in Dir, which must be inside the mount.
func (d *Driver) InfoInode(ctx context.Context, ino uint64) (string, int64, error) {
	s := strconv.FormatUint(ino, 10)
	stdout, stderr, err := d.run(ctx, "info", s, []string{"info", "--inode", s})
	if err != nil {
		return "", 0, err
	}
	p, length, ok := ParseInfoPath(stdout)
	if !ok { // juicefs info logs an ERROR and exits 0 for an inode it cannot look up
		msg := lastLogMessage(stderr, "ERROR")
		if msg == "" {
			msg = "juicefs info printed no path for it"
		}
		return "", 0, &PathError{Op: "info", Path: "inode " + s, Detail: msg}
	}
	return p, length, nil
}

// pathProblem matches the FATAL messages juicefs prints for a bad path.
var pathProblem = regexp.MustCompile(`open control file|not inside JuiceFS|no such file or directory|already exists|not a directory|same mount point|should not be under|lookup inode for|get inode of|permission denied`)

// run executes the binary in its own process group; on ctx cancellation the
// whole group is killed. It returns stdout and (the tail of) stderr.
func (d *Driver) run(ctx context.Context, op, firstPath string, args []string) (string, string, error) {
	return d.runUntil(ctx, op, firstPath, args, nil)
}

// streamBounds end a run of a command that may never exit by itself (one
// that tails, like `juicefs changelog` of 1.4.1): its stdout is read as it
// comes, and the process group is killed when no output came for Idle
// (First before the first output), after Total, or once stdout reached its
// bound. A run ended so is a success: the output read so far is returned.
type streamBounds struct {
	First, Idle, Total time.Duration
}

// runUntil is run, ended by b when b is not nil.
func (d *Driver) runUntil(ctx context.Context, op, firstPath string, args []string, b *streamBounds) (string, string, error) {
	bin := d.Binary
	if bin == "" {
		bin = DefaultBinary
	}
	argv := append([]string{bin}, args...)
	runCtx, stop := context.WithCancel(ctx) // stop: kill the group (cmd.Cancel)
	defer stop()
	cmd := exec.CommandContext(runCtx, bin, args...)
	// Pdeathsig: if warmupd dies (even SIGKILL), its juicefs dies with it, so a
	// task taken up again after a crash never runs twice at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// Negative pid: the whole process group (juicefs and anything it forked).
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
	cmd.WaitDelay = waitDelay
	cmd.Dir = d.Dir
	stdout := &watchedBuffer{limitedBuffer: limitedBuffer{limit: stdoutLimit}, wrote: make(chan struct{}, 1)}
	stderr := &tailBuffer{limit: stderrLimit}
	cmd.Stdout = stdout
	cmd.Stderr = stderr

	start := time.Now()
	var err error
	cut := "" // why b ended the run ("": it exited by itself)
	if b == nil {
		err = cmd.Run()
	} else if err = cmd.Start(); err == nil {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		cut, err = b.watch(stdout, done)
		if cut != "" {
			stop()
			err = <-done
		}
	}
	elapsed := time.Since(start)
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	ev := d.Log.Debug().Strs("argv", argv).Int("exit", code).Dur("took", elapsed)
	if cut != "" {
		ev = ev.Str("ended", cut)
	}
	ev.Msg("juicefs ran")
	serr := stderr.String()
	if ctxErr := ctx.Err(); err != nil && ctxErr != nil {
		return "", serr, &ExecError{Op: op, Argv: argv, ExitCode: -1, Stderr: serr, Err: fmt.Errorf("%w (juicefs process group killed: %v)", ctxErr, err)}
	}
	// Ended by b: killed (-1), or it exited 0 by itself meanwhile. An exit
	// status of its own (≥ 1) is its failure, not ours.
	if err == nil || (cut != "" && code <= 0) {
		return stdout.String(), serr, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && code == 1 {
		// "Failed to open file" is about our own list file, not the dataset.
		if msg := ParseFatal(serr); msg != "" && pathProblem.MatchString(msg) && !strings.HasPrefix(msg, "Failed to open file") {
			return "", serr, &PathError{Op: op, Path: firstPath, Detail: msg}
		}
	}
	return "", serr, &ExecError{Op: op, Argv: argv, ExitCode: code, Stderr: serr, Err: err}
}

// watch waits until the process exits (its Wait error) or b ends it (why).
func (b *streamBounds) watch(out *watchedBuffer, done <-chan error) (string, error) {
	idle := time.NewTimer(b.First)
	defer idle.Stop()
	total := time.NewTimer(b.Total)
	defer total.Stop()
	for {
		select {
		case err := <-done:
			return "", err
		case <-out.wrote:
			if out.full() {
				return fmt.Sprintf("stdout reached %d bytes", out.limit), nil
			}
			idle.Reset(b.Idle)
		case <-idle.C:
			return "no output for the idle bound", nil
		case <-total.C:
			return fmt.Sprintf("ran for %s", b.Total), nil
		}
	}
}

// watchedBuffer is a limitedBuffer that tells wrote of each write.
type watchedBuffer struct {
	mu sync.Mutex
	limitedBuffer
	wrote chan struct{} // capacity 1
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	n, err := w.limitedBuffer.Write(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (w *watchedBuffer) full() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.Len() >= w.limit
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.limitedBuffer.String()
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// limitedBuffer keeps the first limit bytes written to it and drops the rest.
// It has no ReadFrom (an embedded bytes.Buffer would give it one, which
// io.Copy, and so exec.Cmd, would call instead of Write: no limit, and a
// stream read only once the process ends).
type limitedBuffer struct {
	limit int
	buf   bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.limit - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) Len() int { return l.buf.Len() }

func (l *limitedBuffer) String() string { return l.buf.String() }

package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/pkg/jfs"
)

// DefaultMinSize is apply's default threshold: smaller duplicates stay.
const DefaultMinSize = 1 << 20

// TmpSuffix ends the name of apply's temporaries: dir/.NAME.accel-dedup.tmp.
const TmpSuffix = ".accel-dedup.tmp"

// Cloner makes dst a JuiceFS clone of src (jfs.Driver implements it).
type Cloner interface {
	Clone(ctx context.Context, src, dst string, preserve bool) error
}

// ApplyOptions tune Apply.
type ApplyOptions struct {
	// Cloner runs `juicefs clone`; required.
	Cloner Cloner
	// Journal is the journal file; required. A later run with the same
	// journal resumes where this one stopped.
	Journal string
	// MinSize: duplicates smaller than this are left alone; 0 means DefaultMinSize.
	MinSize int64
	// AllowCrossOwner lets a duplicate be replaced by a clone of a file with
	// another owner (the replacement still gets the duplicate's owner).
	AllowCrossOwner bool
	// ProcDir is where open files are looked up; "" means /proc.
	ProcDir string
	// FindMount returns the JuiceFS mount of a path; nil means jfs.FindMount.
	FindMount func(path string) (string, error)
	// OnResult, when set, is called after each duplicate is handled.
	OnResult func(ApplyResult)
	Log      zerolog.Logger
	Now      func() time.Time
}

// Apply outcomes.
const (
	// OutcomeReplaced: the duplicate is now a clone of the original.
	OutcomeReplaced = "replaced"
	// OutcomeDoneBefore: the journal says an earlier run replaced it.
	OutcomeDoneBefore = "already-replaced"
	// OutcomeSkipped: left as it was; Reason says why.
	OutcomeSkipped = "skipped"
	// OutcomeFailed: an operation failed; the duplicate is unchanged.
	OutcomeFailed = "failed"
)

// ApplyResult is what happened to one duplicate.
type ApplyResult struct {
	Path     Path   `json:"path"`
	Original Path   `json:"original"`
	Size     int64  `json:"size"`
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason,omitempty"`
}

// ApplySummary totals an apply run.
type ApplySummary struct {
	Replaced      int   `json:"replaced"`
	ReplacedBytes int64 `json:"replaced_bytes"`
	DoneBefore    int   `json:"already_replaced"`
	Skipped       int   `json:"skipped"`
	// Small counts duplicates under the size threshold (not in Results).
	Small  int `json:"small"`
	Failed int `json:"failed"`
	// TempsRemoved counts temporaries of an interrupted run removed first.
	TempsRemoved int           `json:"temps_removed"`
	Results      []ApplyResult `json:"results"`
}

// NotJuiceFSError means apply was asked to work outside JuiceFS.
type NotJuiceFSError struct {
	Path string
	Err  error
}

func (e *NotJuiceFSError) Error() string {
	return fmt.Sprintf("refusing to apply: %s is not on JuiceFS (%v); only `juicefs clone` can share data safely, so apply works on JuiceFS mounts only (scan works anywhere)", e.Path, e.Err)
}

func (e *NotJuiceFSError) Unwrap() error { return e.Err }

// tmpName is the temporary apply clones into before renaming over path.
func tmpName(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+TmpSuffix)
}

// Apply replaces each duplicate of r at or above the size threshold with a
// JuiceFS clone of its group's first file, after re-verifying both files
// against the report. It refuses (NotJuiceFSError) before changing anything
// if a file to replace is not on JuiceFS. Per-file problems are results, not
// errors; the error return is for problems that stop the run.
func Apply(ctx context.Context, r *Report, opts ApplyOptions) (*ApplySummary, error) {
	if opts.Cloner == nil || opts.Journal == "" {
		return nil, errors.New("apply needs a cloner and a journal")
	}
	if opts.MinSize <= 0 {
		opts.MinSize = DefaultMinSize
	}
	if opts.ProcDir == "" {
		opts.ProcDir = "/proc"
	}
	if opts.FindMount == nil {
		opts.FindMount = jfs.FindMount
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sum := &ApplySummary{Results: []ApplyResult{}}
	var groups []Group
	for _, g := range r.Groups {
		if g.State != StateDuplicate || len(g.Files) < 2 {
			continue
		}
		if g.Size < opts.MinSize {
			sum.Small += len(g.Files) - 1
			continue
		}
		groups = append(groups, g)
	}
	// Refuse before touching anything if any file is outside JuiceFS.
	mounts := map[string]string{}
	mountOf := func(p string) (string, error) {
		d := filepath.Dir(p)
		if m, ok := mounts[d]; ok {
			return m, nil
		}
		m, err := opts.FindMount(d)
		if err != nil {
			return "", &NotJuiceFSError{Path: p, Err: err}
		}
		mounts[d] = m
		return m, nil
	}
	for _, g := range groups {
		for _, f := range g.Files {
			if _, err := mountOf(string(f.Path)); err != nil {
				return nil, err
			}
		}
	}
	j, err := openJournal(opts.Journal, opts.Now)
	if err != nil {
		return nil, err
	}
	defer j.close()
	// Leftover temporaries of an interrupted run: apply's own names only.
	for _, g := range groups {
		for _, f := range g.Files[1:] {
			tmp := tmpName(string(f.Path))
			if _, err := os.Lstat(tmp); err == nil {
				if err := os.Remove(tmp); err != nil {
					return nil, fmt.Errorf("remove leftover temporary %s: %w (remove it by hand, then run apply again)", tmp, err)
				}
				sum.TempsRemoved++
				opts.Log.Info().Str("tmp", tmp).Msg("removed leftover temporary of an interrupted run")
			}
		}
	}
	a := &applier{opts: opts, j: j, mountOf: mountOf}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		for _, res := range a.group(ctx, g) {
			switch res.Outcome {
			case OutcomeReplaced:
				sum.Replaced++
				sum.ReplacedBytes += res.Size
			case OutcomeDoneBefore:
				sum.DoneBefore++
			case OutcomeSkipped:
				sum.Skipped++
			default:
				sum.Failed++
			}
			sum.Results = append(sum.Results, res)
			if opts.OnResult != nil {
				opts.OnResult(res)
			}
		}
		if a.fatal != nil {
			return sum, a.fatal
		}
	}
	return sum, nil
}

type applier struct {
	opts    ApplyOptions
	j       *journal
	mountOf func(string) (string, error)
	fatal   error
}

const whyCtime = "changed since the scan (ctime changed)"

// checkAgainst compares a file on disk with the report.
func checkAgainst(f FileRef, size int64) (unix.Stat_t, string) {
	var st unix.Stat_t
	if err := unix.Lstat(string(f.Path), &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return st, "deleted since the scan"
		}
		return st, fmt.Sprintf("cannot stat: %v", err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return st, "no longer a regular file"
	case st.Ino != f.Ino || (f.Dev != 0 && uint64(st.Dev) != f.Dev):
		return st, "replaced by another file since the scan"
	case st.Size != size:
		return st, fmt.Sprintf("size changed since the scan (%d, was %d)", st.Size, size)
	case st.Mtim.Nano() != f.MtimeNs:
		return st, "modified since the scan (mtime changed)"
	case st.Ctim.Nano() != f.CtimeNs:
		return st, whyCtime
	}
	return st, ""
}

func (a *applier) group(ctx context.Context, g Group) []ApplyResult {
	orig := g.Files[0]
	var out []ApplyResult
	res := func(f FileRef, outcome, reason string) {
		out = append(out, ApplyResult{Path: f.Path, Original: orig.Path, Size: g.Size, Outcome: outcome, Reason: reason})
	}
	var todo []FileRef
	for _, f := range g.Files[1:] {
		if a.j.done[f.Path] {
			res(f, OutcomeDoneBefore, "")
			continue
		}
		if rec, ok := a.j.pending[f.Path]; ok && rec.Orig == orig.Path && a.finishedBefore(f, orig, g) {
			// the rename happened, the "done" record did not
			if err := a.j.write(journalRecord{Op: journalDone, Path: f.Path, Orig: orig.Path}); err != nil {
				a.fatal = err
				return out
			}
			res(f, OutcomeDoneBefore, "completed by an interrupted run")
			continue
		}
		todo = append(todo, f)
	}
	if len(todo) == 0 {
		return out
	}
	_, why := checkAgainst(orig, g.Size)
	if why == whyCtime && a.j.cloned[orig.Path] {
		why = "" // an earlier run cloned it; its content is checked below
	}
	if why != "" {
		for _, f := range todo {
			res(f, OutcomeSkipped, "original "+string(orig.Path.Quoted())+" "+why)
		}
		return out
	}
	inodes := map[[2]uint64]bool{}
	for _, f := range append([]FileRef{orig}, todo...) {
		var st unix.Stat_t
		if unix.Lstat(string(f.Path), &st) == nil {
			inodes[[2]uint64{uint64(st.Dev), st.Ino}] = true
		}
	}
	writing := openForWriting(a.opts.ProcDir, inodes)
	var ost unix.Stat_t
	_ = unix.Lstat(string(orig.Path), &ost)
	if writing[[2]uint64{uint64(ost.Dev), ost.Ino}] {
		for _, f := range todo {
			res(f, OutcomeSkipped, "original is open for writing")
		}
		return out
	}
	for _, f := range todo {
		if ctx.Err() != nil {
			return out
		}
		outcome, reason := a.one(ctx, g, orig, f, writing)
		res(f, outcome, reason)
		if a.fatal != nil {
			return out
		}
	}
	return out
}

// finishedBefore: the duplicate is no longer the scanned inode but holds
// exactly the original's content, as after our rename.
func (a *applier) finishedBefore(f, orig FileRef, g Group) bool {
	var st unix.Stat_t
	if unix.Lstat(string(f.Path), &st) != nil || st.Ino == f.Ino || st.Size != g.Size {
		return false
	}
	same, err := sameAndHash(string(orig.Path), string(f.Path), g.Size, g.SHA256)
	return err == nil && same
}

func (a *applier) one(ctx context.Context, g Group, orig, f FileRef, writing map[[2]uint64]bool) (string, string) {
	st, why := checkAgainst(f, g.Size)
	if why != "" {
		return OutcomeSkipped, why
	}
	if st.Uid != orig.UID && !a.opts.AllowCrossOwner {
		return OutcomeSkipped, fmt.Sprintf("owned by uid %d, the original by uid %d (use --allow-cross-owner)", st.Uid, orig.UID)
	}
	if st.Nlink > 1 {
		return OutcomeSkipped, fmt.Sprintf("has %d hard links; replacing one name would free nothing", st.Nlink)
	}
	if writing[[2]uint64{uint64(st.Dev), st.Ino}] {
		return OutcomeSkipped, "open for writing"
	}
	mo, _ := a.mountOf(string(orig.Path))
	md, _ := a.mountOf(string(f.Path))
	if mo != md {
		return OutcomeSkipped, fmt.Sprintf("on another JuiceFS mount (%s) than the original (%s)", md, mo)
	}
	tmp := tmpName(string(f.Path))
	if len(filepath.Base(tmp)) > 255 {
		return OutcomeSkipped, "name too long for a temporary next to it"
	}
	meta, err := readMeta(string(f.Path))
	if err != nil {
		return OutcomeFailed, err.Error()
	}
	same, err := sameAndHash(string(orig.Path), string(f.Path), g.Size, g.SHA256)
	if err != nil {
		return OutcomeSkipped, fmt.Sprintf("cannot re-read to verify: %v", err)
	}
	if !same {
		return OutcomeSkipped, "content differs from the report (changed since the scan)"
	}
	if err := a.j.write(journalRecord{Op: journalBegin, Path: f.Path, Orig: orig.Path, Tmp: Path(tmp)}); err != nil {
		a.fatal = err
		return OutcomeFailed, err.Error()
	}
	fail := func(format string, args ...any) (string, string) {
		os.Remove(tmp)
		return OutcomeFailed, fmt.Sprintf(format, args...)
	}
	if err := a.opts.Cloner.Clone(ctx, string(orig.Path), tmp, true); err != nil {
		return fail("juicefs clone: %v", err)
	}
	var tst unix.Stat_t
	if err := unix.Lstat(tmp, &tst); err != nil || tst.Size != g.Size || tst.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail("the clone %s is not a regular file of %d bytes", tmp, g.Size)
	}
	if err := meta.applyTo(tmp); err != nil {
		return fail("keep owner, mode, times, xattrs: %v", err)
	}
	// last look before the switch: still the file we verified?
	if st2, why := checkAgainst(f, g.Size); why != "" || st2.Ctim != st.Ctim {
		return fail("changed while being replaced: %s", why)
	}
	if err := os.Rename(tmp, string(f.Path)); err != nil {
		return fail("rename over the duplicate: %v", err)
	}
	if err := syncDir(filepath.Dir(string(f.Path))); err != nil {
		a.opts.Log.Warn().Err(err).Str("path", string(f.Path)).Msg("fsync of the directory failed")
	}
	if err := a.j.write(journalRecord{Op: journalDone, Path: f.Path, Orig: orig.Path}); err != nil {
		a.fatal = err
	}
	return OutcomeReplaced, ""
}

// sameAndHash reads both files once: equal byte for byte, and the original's
// SHA-256 is want (unless want is "": a report scanned with NoHash).
func sameAndHash(orig, dup string, size int64, want string) (bool, error) {
	fo, err := os.Open(orig)
	if err != nil {
		return false, err
	}
	defer fo.Close()
	fd, err := os.Open(dup)
	if err != nil {
		return false, err
	}
	defer fd.Close()
	if want == "" {
		return equalReaders(fo, fd, size, nil)
	}
	h := sha256.New()
	eq, err := equalReaders(io.TeeReader(fo, h), fd, size, nil)
	if err != nil || !eq {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
}

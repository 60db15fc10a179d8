package dedup

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// ReportVersion is the version of the JSON report format.
const ReportVersion = 1

// Group states.
const (
	// StateDuplicate: the files were compared byte for byte and are equal.
	StateDuplicate = "duplicate"
	// StateShared: the files already share all their JuiceFS slices; their
	// data was not read.
	StateShared = "shared"
	// StateUnverified: same size and a different slice list, from a dump
	// without a mount to read the data from; not counted as reclaimable.
	StateUnverified = "unverified"
)

// Path is a file name that survives JSON whatever bytes it holds: valid
// UTF-8 is written as a string, anything else as {"b64": "..."}.
type Path string

// MarshalJSON implements json.Marshaler.
func (p Path) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(p)) {
		return json.Marshal(string(p))
	}
	return json.Marshal(struct {
		B64 string `json:"b64"`
	}{base64.StdEncoding.EncodeToString([]byte(p))})
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Path) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = Path(s)
		return nil
	}
	var o struct {
		B64 string `json:"b64"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return fmt.Errorf("path is neither a string nor {\"b64\": ...}: %s", b)
	}
	raw, err := base64.StdEncoding.DecodeString(o.B64)
	if err != nil {
		return fmt.Errorf("path b64: %w", err)
	}
	*p = Path(raw)
	return nil
}

// Quoted returns p for a line of text output: as is when it is printable
// UTF-8 without spaces at the ends, else Go-quoted.
func (p Path) Quoted() string {
	s := string(p)
	if utf8.ValidString(s) && strconv.Quote(s) == `"`+s+`"` {
		return s
	}
	return strconv.Quote(s)
}

// FileRef is one file (one inode) of a group, as it was when scanned.
type FileRef struct {
	Path Path `json:"path"`
	// Links are the inode's other names found by the scan (hard links).
	Links []Path `json:"links,omitempty"`
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino"`
	Nlink uint64 `json:"nlink"`
	UID   uint32 `json:"uid"`
	GID   uint32 `json:"gid"`
	Mode  uint32 `json:"mode"`
	// MtimeNs and CtimeNs are nanoseconds since the Unix epoch.
	MtimeNs int64 `json:"mtime_ns"`
	CtimeNs int64 `json:"ctime_ns"`
}

// Group is a set of files with the same content. Files[0] is the one to keep
// (most hard links, then oldest, then first by name).
type Group struct {
	State string `json:"state"`
	Size  int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the content ("" unless State is
	// duplicate, or when scanned with NoHash).
	SHA256 string    `json:"sha256,omitempty"`
	Files  []FileRef `json:"files"`
}

// Reclaimable is what replacing every file but the first would free.
func (g Group) Reclaimable() int64 {
	if g.State != StateDuplicate {
		return 0
	}
	return int64(len(g.Files)-1) * g.Size
}

// DirTotal sums the duplicates (not the kept files) found directly in Dir.
type DirTotal struct {
	Dir   Path  `json:"dir"`
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

// ScanError is a file or directory that could not be read; the scan goes on.
type ScanError struct {
	Path  Path   `json:"path"`
	Error string `json:"error"`
}

// Report is the result of a scan, and the input of apply.
type Report struct {
	ReportHeader
	Groups []Group     `json:"groups"`
	Dirs   []DirTotal  `json:"dirs"`
	Errors []ScanError `json:"errors"`
}

// ReportHeader holds a report's totals.
type ReportHeader struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Source  string    `json:"source"` // "walk" or "dump"
	Roots   []Path    `json:"roots"`
	// Files and Bytes count the regular non-empty files considered, each
	// inode once.
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
	// HashedBytes is how much data was read to compare files.
	HashedBytes int64 `json:"hashed_bytes"`
	// Reclaimable sums Reclaimable() over the duplicate groups.
	Reclaimable int64 `json:"reclaimable_bytes"`
	// SharedBytes is the data that already-shared files do not occupy twice.
	SharedBytes int64 `json:"shared_bytes"`
	// SpilledBytes is how much of the size partitions went to disk.
	SpilledBytes int64 `json:"spilled_bytes"`
}

// finish sorts everything and computes the totals.
func (r *Report) finish() {
	for i := range r.Groups {
		g := &r.Groups[i]
		sort.Slice(g.Files, func(a, b int) bool { return keepBefore(g.Files[a], g.Files[b]) })
	}
	sort.Slice(r.Groups, func(a, b int) bool {
		x, y := r.Groups[a], r.Groups[b]
		if x.Size != y.Size {
			return x.Size > y.Size
		}
		return x.Files[0].Path < y.Files[0].Path
	})
	r.Reclaimable, r.SharedBytes = 0, 0
	dirs := map[Path]*DirTotal{}
	for _, g := range r.Groups {
		switch g.State {
		case StateDuplicate:
			r.Reclaimable += g.Reclaimable()
			for _, f := range g.Files[1:] {
				d := Path(filepath.Dir(string(f.Path)))
				t := dirs[d]
				if t == nil {
					t = &DirTotal{Dir: d}
					dirs[d] = t
				}
				t.Files++
				t.Bytes += g.Size
			}
		case StateShared:
			r.SharedBytes += int64(len(g.Files)-1) * g.Size
		}
	}
	r.Dirs = []DirTotal{}
	for _, t := range dirs {
		r.Dirs = append(r.Dirs, *t)
	}
	sort.Slice(r.Dirs, func(a, b int) bool {
		if r.Dirs[a].Bytes != r.Dirs[b].Bytes {
			return r.Dirs[a].Bytes > r.Dirs[b].Bytes
		}
		return r.Dirs[a].Dir < r.Dirs[b].Dir
	})
	sort.Slice(r.Errors, func(a, b int) bool { return r.Errors[a].Path < r.Errors[b].Path })
	if r.Groups == nil {
		r.Groups = []Group{}
	}
	if r.Errors == nil {
		r.Errors = []ScanError{}
	}
}

func keepBefore(a, b FileRef) bool {
	if a.Nlink != b.Nlink {
		return a.Nlink > b.Nlink
	}
	if a.MtimeNs != b.MtimeNs {
		return a.MtimeNs < b.MtimeNs
	}
	return a.Path < b.Path
}

// WriteJSON writes the report as JSON, streaming: one group, directory or
// error per line, so memory does not grow with the size of the output.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r.ReportHeader)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(b[:len(b)-1]) // without the closing brace
	list := func(name string, n int, item func(i int) any) error {
		fmt.Fprintf(bw, ",\n%q: [", name)
		for i := 0; i < n; i++ {
			b, err := json.Marshal(item(i))
			if err != nil {
				return err
			}
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString("\n  ")
			bw.Write(b)
		}
		bw.WriteString("\n]")
		return nil
	}
	if err := list("groups", len(r.Groups), func(i int) any { return r.Groups[i] }); err != nil {
		return err
	}
	if err := list("dirs", len(r.Dirs), func(i int) any { return r.Dirs[i] }); err != nil {
		return err
	}
	if err := list("errors", len(r.Errors), func(i int) any { return r.Errors[i] }); err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(name string) (*Report, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open report: %w (write one with `jfs-dedup scan --json PATH > REPORT`)", err)
	}
	defer f.Close()
	var r Report
	if err := json.NewDecoder(f).Decode(&r); err != nil {
		return nil, fmt.Errorf("read report %s: %w (is it the --json output of `jfs-dedup scan`?)", name, err)
	}
	if r.Version != ReportVersion {
		return nil, fmt.Errorf("report %s has version %d, this jfs-dedup reads version %d: scan again", name, r.Version, ReportVersion)
	}
	return &r, nil
}

// WriteText writes the human-readable report: groups, then per-directory
// totals, then errors, then the summary line. maxDirs limits the directory
// list (0 = all).
func (r *Report) WriteText(w io.Writer, maxDirs int) error {
	bw := &errWriter{w: w}
	dup, shared, unv := 0, 0, 0
	for _, g := range r.Groups {
		switch g.State {
		case StateDuplicate:
			dup++
			id := ""
			if g.SHA256 != "" {
				id = ", sha256 " + g.SHA256
			}
			bw.printf("duplicates: %d files of %s (%d bytes)%s, reclaimable %s\n",
				len(g.Files), bytesize.Format(g.Size), g.Size, id, bytesize.Format(g.Reclaimable()))
		case StateShared:
			shared++
			bw.printf("already shared (equal JuiceFS slices): %d files of %s (%d bytes)\n",
				len(g.Files), bytesize.Format(g.Size), g.Size)
		default:
			unv++
			bw.printf("unverified (same size, different slices, data not read): %d files of %s (%d bytes)\n",
				len(g.Files), bytesize.Format(g.Size), g.Size)
		}
		for i, f := range g.Files {
			mark := "  dup  "
			if i == 0 {
				mark = "  keep "
			}
			bw.printf("%s%s\n", mark, f.Path.Quoted())
			for _, l := range f.Links {
				bw.printf("    link %s\n", l.Quoted())
			}
		}
		bw.printf("\n")
	}
	if len(r.Dirs) > 0 {
		bw.printf("reclaimable by directory:\n")
		for i, d := range r.Dirs {
			if maxDirs > 0 && i == maxDirs {
				bw.printf("  ... %d more directories (see --json)\n", len(r.Dirs)-maxDirs)
				break
			}
			bw.printf("  %10s  %6d files  %s\n", bytesize.Format(d.Bytes), d.Files, d.Dir.Quoted())
		}
		bw.printf("\n")
	}
	for _, e := range r.Errors {
		bw.printf("error: %s: %s\n", e.Path.Quoted(), e.Error)
	}
	bw.printf("scanned %d files (%s), read %s; %d duplicate groups, reclaimable %s (%d bytes); %d already-shared groups (%s); %d unverified groups; %d errors\n",
		r.Files, bytesize.Format(r.Bytes), bytesize.Format(r.HashedBytes), dup, bytesize.Format(r.Reclaimable), r.Reclaimable,
		shared, bytesize.Format(r.SharedBytes), unv, len(r.Errors))
	return bw.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

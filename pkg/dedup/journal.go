package dedup

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Journal operations.
const (
	journalBegin = "begin" // about to clone Orig to Tmp and rename it over Path
	journalDone  = "done"  // Path is now a clone of Orig
)

// journalRecord is one line of the apply journal (JSON lines, fsynced).
type journalRecord struct {
	Op   string    `json:"op"`
	Path Path      `json:"path"`
	Orig Path      `json:"orig"`
	Tmp  Path      `json:"tmp,omitempty"`
	Time time.Time `json:"time"`
}

// journal appends records durably and remembers what an earlier run did.
type journal struct {
	f       *os.File
	done    map[Path]bool
	pending map[Path]journalRecord // begun, not done
	// cloned lists the originals an earlier run cloned from: a clone may
	// change the source's ctime on some clients.
	cloned map[Path]bool
	now    func() time.Time
}

func openJournal(name string, now func() time.Time) (*journal, error) {
	j := &journal{done: map[Path]bool{}, pending: map[Path]journalRecord{}, cloned: map[Path]bool{}, now: now}
	if f, err := os.Open(name); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var rec journalRecord
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue // a torn last line from a crash
			}
			switch rec.Op {
			case journalBegin:
				j.pending[rec.Path] = rec
				j.cloned[rec.Orig] = true
			case journalDone:
				j.done[rec.Path] = true
				delete(j.pending, rec.Path)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read journal %s: %w", name, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open journal %s: %w", name, err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal %s for writing: %w (choose another with --journal)", name, err)
	}
	// a torn line from a crash would glue onto the next record: start on a new line
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return nil, err
		}
	}
	j.f = f
	return j, nil
}

func (j *journal) write(rec journalRecord) error {
	rec.Time = j.now().UTC()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	switch rec.Op {
	case journalBegin:
		j.pending[rec.Path] = rec
	case journalDone:
		j.done[rec.Path] = true
		delete(j.pending, rec.Path)
	}
	return nil
}

func (j *journal) close() error { return j.f.Close() }

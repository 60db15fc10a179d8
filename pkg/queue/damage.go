package queue

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// damageLogEvery is how often a damaged database is logged again while
// calls keep failing (the first failure is logged at once).
const damageLogEvery = time.Minute

// DamagedError means SQLite found the database file damaged (SQLITE_CORRUPT,
// SQLITE_NOTADB: "database disk image is malformed"). It does not heal: the
// store keeps failing until the file is restored and warmupd restarted.
type DamagedError struct {
	Path string
	Err  error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("queue: %s is not a usable warmupd database: it is damaged (%v); %s", e.Path, e.Err, restoreHint(e.Path))
}

func (e *DamagedError) Unwrap() error { return e.Err }

// IsDamaged reports whether err says the database file is damaged; the
// store has logged it already (see Store.Damaged), so callers need not.
func IsDamaged(err error) bool {
	var d *DamagedError
	return errors.As(err, &d)
}

// restoreHint is the one piece of advice for a database that cannot be used.
func restoreHint(path string) string {
	return fmt.Sprintf("restore it from a backup (docs/admin/backup-restore.md), or move it aside, remove %s and restart warmupd to start with an empty queue", MarkerPath(path))
}

// sqliteDamaged reports whether err is SQLite saying the file is damaged.
func sqliteDamaged(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.Code == sqlite3.ErrCorrupt || se.Code == sqlite3.ErrNotADB)
}

// damage remembers the first sign of a damaged file and rate-limits the log.
type damage struct {
	mu       sync.Mutex
	err      *DamagedError
	loggedAt time.Time
	since    int // failures since the last log line
}

// noteDamage turns *errp into a DamagedError when SQLite says the file is
// damaged, remembers it for Damaged (and so /v1/health), and logs it: at
// once the first time, then at most once every damageLogEvery.
func (s *Store) noteDamage(errp *error) {
	if *errp == nil || IsDamaged(*errp) || !sqliteDamaged(*errp) {
		return
	}
	de := &DamagedError{Path: s.path, Err: *errp}
	*errp = de
	d := &s.damage
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = de
	}
	d.since++
	now := time.Now()
	if !d.loggedAt.IsZero() && now.Sub(d.loggedAt) < damageLogEvery {
		return
	}
	s.log.Error().Err(de.Err).Str("db", s.path).Int("failed_calls", d.since).
		Msgf("database is damaged: calls fail and /v1/health reports it; %s", restoreHint(s.path))
	d.loggedAt, d.since = now, 0
}

// Damaged returns the DamagedError of the first call that found the file
// damaged since Open, or nil.
func (s *Store) Damaged() error {
	s.damage.mu.Lock()
	defer s.damage.mu.Unlock()
	if s.damage.err == nil {
		return nil
	}
	return s.damage.err
}

package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/rs/zerolog"
)

// Store is warmupd's SQLite store. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB       // exactly one connection, wc, held for the store's life
	wc   *sql.Conn     // the writer connection; every write goes through it
	wsem chan struct{} // one slot: held by whoever uses wc, a transaction (wtx) or withWriter
	// heldSince is when wsem was last taken (read and written only by its
	// holder); busy adds up how long it was held (WriterBusy).
	heldSince time.Time
	busy      atomic.Int64
	r         *sql.DB // read-only pool
	log       zerolog.Logger

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on w; see stmtcache.go
	wanted map[string]bool

	damage   damage                   // see damage.go
	observer atomic.Pointer[Observer] // see observe.go

	group groupQueue // group commit of submissions; see group.go
}

// Options tune Open.
type Options struct {
	// AllowEmpty starts with an empty queue when the database file is
	// missing or empty although its marker says one existed (logged as an
	// error); false refuses to start (see MarkerPath).
	AllowEmpty bool
	// CheckTimeout bounds the integrity check at start; 0 means
	// DefaultCheckTimeout, negative skips the check.
	CheckTimeout time.Duration
}

// DefaultCheckTimeout bounds Open's integrity check (PRAGMA quick_check):
// far more than a 100 000-dataset store needs; a check that runs out is
// logged and skipped rather than keeping warmupd down.
const DefaultCheckTimeout = time.Minute

// readerDriver is mattn/go-sqlite3 with each connection set up by
// setUpReader: the store opens its read-only connections through it (the
// writer through plain "sqlite3").
const readerDriver = "sqlite3-accel-data-reader"

// mmapSize is how much of the database file each reader connection reads
// through a memory map (PRAGMA mmap_size): SQLite's most, 2 GiB less
// 64 KiB (SQLITE_MAX_MMAP_SIZE); the rest of a larger file is read as
// before. In WAL mode a reader empties its page cache at its first read
// after any commit, so under a stream of submissions the readers (the
// planner's read of every dataset above all) read the same pages again,
// one pread(2) each: 9 system calls per submission
// (docs/performance-submit.md). Mapped, a page already in the OS's file
// cache costs no system call and no copy. Pages still in the WAL are read
// as before. The writer keeps its own cache across its transactions and
// reads through it: not mapped, the integrity check at start (every page)
// does not map the whole file into warmupd. What the readers read counts
// in warmupd's resident size (the OS's file cache, shared and
// reclaimable). A file truncated under a running warmupd by anything but
// SQLite (cp over it truncates it first), or a disk that fails a read,
// ends it with SIGBUS where the read would have failed
// (docs/admin/backup-restore.md).
const mmapSize = 0x7fff0000

func init() {
	sql.Register(readerDriver, &sqlite3.SQLiteDriver{ConnectHook: setUpReader})
}

// setUpReader runs once on every new reader connection of the store.
func setUpReader(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", mmapSize), nil)
	return err
}

// Open is OpenWith with default Options.
func Open(path string, log zerolog.Logger) (*Store, error) { return OpenWith(path, log, Options{}) }

// OpenWith opens (creating it if needed) the database at path, checks its
// integrity and applies any pending migrations. A file that is not a SQLite
// database, is damaged, has a schema newer than this build knows, or is
// missing or empty where one existed (see MarkerPath) gives an error that
// says what to do.
func OpenWith(path string, log zerolog.Logger, opt Options) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("queue: database path %q: give a file path (warmupd needs a file shared by its writer and reader connections)", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("queue: database path %s is a directory; set the database to a file path inside it", path)
	}
	if err := checkNotLost(path, opt.AllowEmpty, log); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	q.Set("_synchronous", "NORMAL")
	q.Set("_txlock", "immediate")
	// 16 MiB of page cache: the hot indexes of a 100 000-dataset store stay
	// in memory (a miss is a pread from the OS's file cache). Not more: SQLite
	// walks the cache's whole hash table at the end of every write
	// transaction (pcache1TruncateUnsafe), so a 64 MiB cache cost each group
	// commit more than the misses it saved.
	q.Set("_cache_size", "-16384")
	w, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("queue: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	wc, err := w.Conn(context.Background())
	if err != nil {
		_ = w.Close()
		return nil, explainOpenError(path, err)
	}
	s := &Store{path: path, w: w, wc: wc, wsem: make(chan struct{}, 1), log: log, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
	if err := s.quickCheck(opt.CheckTimeout); err != nil {
		_ = s.closeWriter()
		return nil, explainOpenError(path, err)
	}
	if err := s.migrate(context.Background()); err != nil {
		_ = s.closeWriter()
		return nil, explainOpenError(path, err)
	}
	if err := writeMarker(path); err != nil {
		_ = s.closeWriter()
		return nil, err
	}
	rq := url.Values{}
	rq.Set("_busy_timeout", "10000")
	rq.Set("_foreign_keys", "on")
	rq.Set("_query_only", "true")
	rq.Set("_cache_size", "-16384")
	r, err := sql.Open(readerDriver, "file:"+url.PathEscape(path)+"?"+rq.Encode())
	if err != nil {
		_ = s.closeWriter()
		return nil, fmt.Errorf("queue: open %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r = r
	s.group.idle.L = &s.group.mu
	return s, nil
}

// explainOpenError turns SQLite's terse errors about a bad file into advice.
func explainOpenError(path string, err error) error {
	var se sqlite3.Error
	if IsDamaged(err) {
		return err
	}
	if sqliteDamaged(err) {
		return &DamagedError{Path: path, Err: err}
	}
	if errors.As(err, &se) && (se.Code == sqlite3.ErrCantOpen || se.Code == sqlite3.ErrReadonly || se.Code == sqlite3.ErrPerm) {
		return fmt.Errorf("queue: cannot open %s for writing (%v); create its directory and make it writable by warmupd's user, or set Database= to another file", path, err)
	}
	return fmt.Errorf("queue: open %s: %w", path, err)
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close waits for the submissions in flight, then closes both connection
// pools. Calls after Close fail.
func (s *Store) Close() error {
	s.closeGroups()
	var errR error
	if s.r != nil {
		errR = s.r.Close()
	}
	return errors.Join(s.closeWriter(), errR)
}

// closeWriter closes the cached statements, gives the writer connection
// back and closes its pool; later transactions fail with errClosed.
func (s *Store) closeWriter() error {
	if err := s.acquireWriter(context.Background()); err != nil {
		return nil // closed already (database/sql.DB.Close of a closed pool is nil too)
	}
	defer s.releaseWriter()
	s.closeStmts()
	errC := s.wc.Close()
	s.wc = nil
	return errors.Join(errC, s.w.Close())
}

// inTx runs fn in one BEGIN IMMEDIATE transaction on the writer connection,
// committing when fn returns nil and rolling back otherwise. ctx is checked
// before the transaction starts; fn's statements are not cancelled by it
// (see wtx).
func (s *Store) inTx(ctx context.Context, fn func(tx *wtx) error) (err error) {
	defer s.done(time.Now(), &err)
	if err := ctx.Err(); err != nil {
		return err
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	// fn failed or panicked (a bug): roll back, so that the writer
	// connection is not left inside a transaction with every later writer
	// waiting for it.
	defer func() {
		if !tx.done {
			_ = tx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err // rolled back by the deferred call
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("queue: commit: %w", err)
	}
	s.prepareWanted(ctx)
	return nil
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	_ "github.com/mattn/go-sqlite3" // the stand-in's metadata engine, as a real client's sqlite3:// one
)

// The stand-in keeps its metadata in an SQLite file (VOLUME/.fakejuicefs/
// meta.db), one row per file, as a real client with an sqlite3:// metadata
// engine does: a command reads and writes only the rows of the files and
// blocks it names, so checking 3 000 files of a 1 000 000-file volume costs
// 3 000 lookups, not a parse of the whole volume. WAL mode lets readers run
// beside a writer; writers (CLI commands, FUSE mount processes) take the
// write lock with BEGIN IMMEDIATE and wait for each other (busy_timeout).
const metaDBName = "meta.db"

// metaSchema: files by inode; the block files each mount process wrote since
// it was mounted ("" is the plain stand-in's mount); the volume's counters
// and, per FUSE mount point, the counters of the CLI's work through it; and
// the scalars (next slice id, mount generation).
const metaSchema = `
CREATE TABLE IF NOT EXISTS files (ino TEXT PRIMARY KEY, length INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sum TEXT NOT NULL, slices TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS written (mount TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (mount, path)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (mount TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scalars (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`

// busyTimeoutMs is how long a command waits for another's write
// transaction: as long as a flock would (a warm-up of a large tree records
// its files in one transaction).
const busyTimeoutMs = 30 * 60 * 1000

// fileMeta is what the stand-in remembers about one file (keyed by inode):
// its slices, one per 64 MiB chunk, shared by clones.
type fileMeta struct {
	Length  int64
	MtimeNs int64
	Sum     string // fingerprint of the content (see fingerprint)
	Slices  []uint64
}

// metaState is one transaction on the metadata. Its scalars are read when
// it starts and written back when changed; files, written blocks and
// per-mount counters are read and written row by row through its methods.
type metaState struct {
	ctx   context.Context
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
	err   error // the first failed statement: the transaction is not committed

	NextSlice uint64
	// Mount models the life of the mount process: `format` and `mount`
	// (a remount) start a new one, which has written no blocks yet: the
	// blocks a mount wrote (isWritten) are all that `warmup --evict`
	// through it removes, like a real client's in-memory index.
	Mount int
	// Counters are the volume's; perMount (loaded on demand) holds the
	// counters of work the CLI did through a FUSE mount, keyed by mount
	// point: each mount's .stats shows its own, as a real client's metrics
	// count what its process did.
	Counters cacheCounters
	perMount map[string]*cacheCounters

	was struct {
		nextSlice uint64
		mount     int
		counters  cacheCounters
		perMount  map[string]cacheCounters
	}
}

// withMeta runs fn in a write transaction on the stand-in's metadata and
// commits it if fn returns nil (errUnchanged: nothing to commit).
func (v *volume) withMeta(fn func(m *metaState) error) error { return v.metaTx(true, fn) }

// viewMeta runs fn in a read transaction and saves nothing.
func (v *volume) viewMeta(fn func(m *metaState) error) error { return v.metaTx(false, fn) }

// errUnchanged, returned by a withMeta function, ends the transaction
// without writing anything.
var errUnchanged = errors.New("metadata unchanged")

// metaDSN is the database URL: WAL, a long busy timeout; mode=rw so that a
// directory that is not a formatted volume is not silently given one.
func metaDSN(mount string, create bool) string {
	mode := "rw"
	if create {
		mode = "rwc"
	}
	q := url.Values{}
	q.Set("mode", mode)
	q.Set("_busy_timeout", strconv.Itoa(busyTimeoutMs))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "NORMAL")
	return "file:" + url.PathEscape(filepath.Join(mount, stateDir, metaDBName)) + "?" + q.Encode()
}

// createMeta makes a new volume's metadata database.
func createMeta(mount string) error {
	db, err := sql.Open("sqlite3", metaDSN(mount, true))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(metaSchema); err != nil {
		return fmt.Errorf("create stand-in metadata in %s: %w", filepath.Join(mount, stateDir), err)
	}
	_, err = db.Exec(`INSERT OR REPLACE INTO scalars (name, value) VALUES ('next_slice', 1), ('mount', 1)`)
	return err
}

// metaDB opens the volume's metadata database once per process (a FUSE
// mount process keeps it open).
func (v *volume) metaDB() (*sql.DB, error) {
	v.dbOnce.Do(func() {
		p := filepath.Join(v.mount, stateDir, metaDBName)
		if _, err := os.Stat(p); err != nil {
			v.dbErr = fmt.Errorf("stand-in metadata %s: %w (format the volume with this stand-in)", p, err)
			return
		}
		v.db, v.dbErr = sql.Open("sqlite3", metaDSN(v.mount, false))
	})
	return v.db, v.dbErr
}

func (v *volume) metaTx(write bool, fn func(m *metaState) error) (err error) {
	db, err := v.metaDB()
	if err != nil {
		return err
	}
	if write {
		// Writers of one process queue here rather than in SQLite's busy loop.
		v.wmu.Lock()
		defer v.wmu.Unlock()
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	begin := "BEGIN"
	if write {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("stand-in metadata: %s: %w", begin, err)
	}
	m := &metaState{ctx: ctx, conn: conn, stmts: map[string]*sql.Stmt{}, perMount: map[string]*cacheCounters{}}
	committed := false
	defer func() {
		for _, s := range m.stmts {
			_ = s.Close()
		}
		if !committed {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	if err := m.load(); err != nil {
		return err
	}
	err = fn(m)
	if m.err != nil {
		return m.err
	}
	if err != nil || !write {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	if err := m.save(); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("stand-in metadata: commit: %w", err)
	}
	committed = true
	return nil
}

// stmt prepares q once per transaction (a warm-up looks up every file).
func (m *metaState) stmt(q string) *sql.Stmt {
	if s := m.stmts[q]; s != nil {
		return s
	}
	s, err := m.conn.PrepareContext(m.ctx, q)
	if err != nil {
		m.fail(err)
		return nil
	}
	m.stmts[q] = s
	return s
}

func (m *metaState) fail(err error) {
	if m.err == nil && err != nil {
		m.err = fmt.Errorf("stand-in metadata: %w", err)
	}
}

func (m *metaState) exec(q string, args ...any) {
	if s := m.stmt(q); s != nil {
		_, err := s.ExecContext(m.ctx, args...)
		m.fail(err)
	}
}

func (m *metaState) load() error {
	rows, err := m.conn.QueryContext(m.ctx, `SELECT name, value FROM scalars`)
	if err != nil {
		return fmt.Errorf("stand-in metadata: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var val int64
		if err := rows.Scan(&name, &val); err != nil {
			return err
		}
		switch name {
		case "next_slice":
			m.NextSlice = uint64(val)
		case "mount":
			m.Mount = int(val)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	c, err := m.readCounters("")
	if err != nil {
		return err
	}
	m.Counters = c
	m.was.nextSlice, m.was.mount, m.was.counters = m.NextSlice, m.Mount, m.Counters
	m.was.perMount = map[string]cacheCounters{}
	return nil
}

func (m *metaState) readCounters(mount string) (cacheCounters, error) {
	var c cacheCounters
	var js string
	err := m.conn.QueryRowContext(m.ctx, `SELECT json FROM counters WHERE mount = ?`, mount).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err == nil {
		err = json.Unmarshal([]byte(js), &c)
	}
	if err != nil {
		return c, fmt.Errorf("stand-in metadata: counters of %q: %w", mount, err)
	}
	return c, nil
}

func (m *metaState) save() error {
	if m.NextSlice != m.was.nextSlice {
		m.exec(`INSERT OR REPLACE INTO scalars (name, value) VALUES ('next_slice', ?)`, int64(m.NextSlice))
	}
	if m.Mount != m.was.mount {
		m.exec(`INSERT OR REPLACE INTO scalars (name, value) VALUES ('mount', ?)`, m.Mount)
	}
	put := func(mount string, c cacheCounters) {
		js, err := json.Marshal(c)
		m.fail(err)
		m.exec(`INSERT OR REPLACE INTO counters (mount, json) VALUES (?, ?)`, mount, string(js))
	}
	if m.Counters != m.was.counters {
		put("", m.Counters)
	}
	for mp, c := range m.perMount {
		if was, ok := m.was.perMount[mp]; !ok || *c != was {
			put(mp, *c)
		}
	}
	return m.err
}

// mountCounters are the counters of the CLI's work through the FUSE mount
// at mountpoint (changes are saved with the transaction).
func (m *metaState) mountCounters(mountpoint string) *cacheCounters {
	if c := m.perMount[mountpoint]; c != nil {
		return c
	}
	c, err := m.readCounters(mountpoint)
	m.fail(err)
	m.was.perMount[mountpoint] = c
	m.perMount[mountpoint] = &c
	return &c
}

// forgetMount drops what the mount process at mountpoint ("" for the
// plain stand-in's) knew: the blocks it wrote and, for a FUSE mount, its
// counters. A new mount process starts with neither.
func (m *metaState) forgetMount(mountpoint string, counters bool) {
	m.exec(`DELETE FROM written WHERE mount = ?`, mountpoint)
	if counters && mountpoint != "" {
		m.exec(`DELETE FROM counters WHERE mount = ?`, mountpoint)
		delete(m.perMount, mountpoint)
		delete(m.was.perMount, mountpoint)
	}
}

// file is the metadata of the file with inode key, if known.
func (m *metaState) file(key string) (*fileMeta, bool) {
	s := m.stmt(`SELECT length, mtime_ns, sum, slices FROM files WHERE ino = ?`)
	if s == nil {
		return nil, false
	}
	var fm fileMeta
	var slices string
	err := s.QueryRowContext(m.ctx, key).Scan(&fm.Length, &fm.MtimeNs, &fm.Sum, &slices)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false
	}
	if err != nil {
		m.fail(err)
		return nil, false
	}
	if slices != "" {
		for _, f := range strings.Split(slices, ",") {
			id, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				m.fail(fmt.Errorf("slices of inode %s: %w", key, err))
				return nil, false
			}
			fm.Slices = append(fm.Slices, id)
		}
	}
	return &fm, true
}

// setFile records the metadata of the file with inode key.
func (m *metaState) setFile(key string, fm *fileMeta) {
	ids := make([]string, len(fm.Slices))
	for i, id := range fm.Slices {
		ids[i] = strconv.FormatUint(id, 10)
	}
	m.exec(`INSERT OR REPLACE INTO files (ino, length, mtime_ns, sum, slices) VALUES (?, ?, ?, ?, ?)`,
		key, fm.Length, fm.MtimeNs, fm.Sum, strings.Join(ids, ","))
}

// isWritten says whether the mount process of mountpoint ("" for the plain
// stand-in's mount) wrote the block file path since it was mounted.
func (m *metaState) isWritten(mountpoint, path string) bool {
	s := m.stmt(`SELECT 1 FROM written WHERE mount = ? AND path = ?`)
	if s == nil {
		return false
	}
	var one int
	err := s.QueryRowContext(m.ctx, mountpoint, path).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false
	}
	m.fail(err)
	return err == nil
}

// markWritten records that the mount process of mountpoint wrote path.
func (m *metaState) markWritten(mountpoint, path string) {
	m.exec(`INSERT OR IGNORE INTO written (mount, path) VALUES (?, ?)`, mountpoint, path)
}

// unmarkWritten forgets that the mount process of mountpoint wrote path.
func (m *metaState) unmarkWritten(mountpoint, path string) {
	m.exec(`DELETE FROM written WHERE mount = ? AND path = ?`, mountpoint, path)
}

func inodeKey(fi os.FileInfo) string {
	st := fi.Sys().(*syscall.Stat_t)
	return strconv.FormatUint(st.Ino, 10)
}

// metaHandle is the part of a volume that holds its open metadata database.
type metaHandle struct {
	dbOnce sync.Once
	db     *sql.DB
	dbErr  error
	wmu    sync.Mutex // one write transaction at a time in this process
}

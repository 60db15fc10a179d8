package main

import (
	"database/sql"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/require"
)

// With the C heap kept, SQLite refilling a page cache it has let go of
// (as a reader connection does after every commit) takes its pages from
// the process, not from the kernel: no page faults. Without keepMallocHeap
// the second scan below took about 960 minor faults (16 MiB of cache
// handed back by glibc and mapped again).
func TestKeepMallocHeap(t *testing.T) {
	require.NoError(t, keepMallocHeap())
	// One thread: SQLite's allocations and the fault count are this thread's.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "t.db")+"?_cache_size=-16384")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE t (x BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO t SELECT randomblob(4000) FROM n`)
	require.NoError(t, err)
	scan := func() {
		_, err := db.Exec(`PRAGMA shrink_memory`) // the cache let go, as after another connection's commit
		require.NoError(t, err)
		var n int64
		require.NoError(t, db.QueryRow(`SELECT sum(length(x)) FROM t`).Scan(&n))
		require.Equal(t, int64(3000*4000), n)
	}
	scan() // the heap grows to the cache's size once
	before := threadFaults(t)
	scan()
	require.Less(t, threadFaults(t)-before, int64(100), "refilling SQLite's page cache faulted pages in: freed C memory went back to the kernel")
}

// threadFaults is the calling thread's minor page faults so far.
func threadFaults(t *testing.T) int64 {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru))
	return ru.Minflt
}

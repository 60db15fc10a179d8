package queue

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readCalls is this process's count of read system calls (read, pread and
// the like; /proc/self/io syscr).
func readCalls(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "syscr: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no syscr line in /proc/self/io")
	return 0
}

// A reader that lost its page cache to a commit (WAL mode empties it at the
// next read) reads the database file's pages through its memory map, not
// one pread(2) each: scanning 8 MiB of rows again takes a handful of read
// system calls, not 2 000 (mmapSize).
func TestReadersMapTheDatabase(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	var mapped int64
	require.NoError(t, s.r.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&mapped))
	require.EqualValues(t, mmapSize, mapped, "a reader connection's mmap_size")
	require.NoError(t, s.withWriter(func(c *sql.Conn) error {
		require.NoError(t, c.QueryRowContext(ctx, `PRAGMA mmap_size`).Scan(&mapped))
		require.Zero(t, mapped, "the writer reads through its own cache: the integrity check at start does not map the whole file")
		for _, q := range []string{
			`CREATE TABLE filler (x BLOB)`,
			`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO filler SELECT randomblob(4000) FROM n`,
			`PRAGMA wal_checkpoint(TRUNCATE)`, // the rows now live in the database file, not the WAL
		} {
			if _, err := c.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}))
	s.r.SetMaxOpenConns(1) // one reader, so the second scan runs where the first filled the cache
	scan := func() int64 {
		var n int64
		require.NoError(t, s.r.QueryRowContext(ctx, `SELECT sum(length(x)) FROM filler`).Scan(&n))
		return n
	}
	require.EqualValues(t, 2000*4000, scan())
	require.NoError(t, s.withWriter(func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, `INSERT INTO datasets (path, created_at) VALUES ('/jfs/after', 1)`)
		return err
	}))
	before := readCalls(t)
	require.EqualValues(t, 2000*4000, scan())
	require.Less(t, readCalls(t)-before, int64(100), "read system calls to scan 2 000 pages again after a commit")
}

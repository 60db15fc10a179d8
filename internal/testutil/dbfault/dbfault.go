// Package dbfault damages real SQLite files for tests, the way a failing
// disk or a stray write does. It lives apart from testutil so that the tests
// of the tools that must not link SQLite do not link it either.
package dbfault

import (
	"database/sql"
	"math/rand"
	"os"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver warmupd uses
)

// CorruptRootPage overwrites the root page of table (a table or an index)
// in the database file at path with random bytes. A connection that reads
// the file through a memory map (warmupd's store's readers) sees the damage
// at its next read of the page, as a fresh connection does; one holding the
// page in its own cache (the store's writer) does not.
func CorruptRootPage(t testing.TB, path, table string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	err = db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, table).Scan(&root)
	if err == nil {
		err = db.QueryRow(`PRAGMA page_size`).Scan(&pageSize)
	}
	db.Close()
	if err != nil {
		t.Fatalf("dbfault: find the root page of %s in %s: %v", table, path, err)
	}
	page := make([]byte, pageSize)
	rand.New(rand.NewSource(root)).Read(page)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(page, (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
}

package queue_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

func strs[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	sort.Strings(out)
	return out
}

// checkList extracts the IN (...) list of the CHECK on column col of table.
func checkList(t *testing.T, schema, col string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)\b` + col + `\s+IN\s*\(([^)]*)\)`).FindStringSubmatch(schema)
	require.NotNil(t, m, "no CHECK (%s IN (...)) in:\n%s", col, schema)
	var out []string
	for _, v := range strings.Split(m[1], ",") {
		out = append(out, strings.Trim(strings.TrimSpace(v), "'"))
	}
	sort.Strings(out)
	return out
}

// apiConstants reads pkg/api's source and returns the values of every
// constant declared with the named type, so a constant added there without a
// migration here fails the test.
func apiConstants(t *testing.T, typ string) []string {
	t.Helper()
	names, err := filepath.Glob("../api/*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var out []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				id, ok := vs.Type.(*ast.Ident)
				if !ok || id.Name != typ {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					require.True(t, ok, "constant of %s is not a string literal", typ)
					str, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					out = append(out, str)
				}
			}
		}
	}
	require.NotEmpty(t, out, "no constants of type %s in pkg/api", typ)
	sort.Strings(out)
	return out
}

func TestCheckListsMatchAPIConstants(t *testing.T) {
	_, path := open(t)
	db := rawDB(t, path)
	schema := func(table string) string {
		var sql string
		require.NoError(t, db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&sql))
		return sql
	}
	for _, st := range api.TaskStates {
		require.True(t, st.Valid(), "test list has an invalid state %q", st)
	}
	for _, src := range api.Sources {
		require.True(t, src.Valid())
	}
	require.Equal(t, strs(api.TaskStates), checkList(t, schema("tasks"), "state"))
	require.Equal(t, strs(api.TaskStates), checkList(t, schema("attempts"), "outcome"))
	require.Equal(t, strs(api.JobStates), checkList(t, schema("jobs"), "state"))
	require.Equal(t, strs(api.Sources), checkList(t, schema("tasks"), "source"))
	require.Equal(t, strs(api.Sources), checkList(t, schema("requests"), "source"))
	require.Equal(t, strs(api.Sources), checkList(t, schema("claims"), "source"))
	require.Equal(t, strs(api.RatioMethods), checkList(t, schema("datasets"), "ratio_method"))
	require.Equal(t, strs(api.StaleReasons), checkList(t, schema("datasets"), "stale_reason"))
	require.Equal(t, strs(api.ShardStates), checkList(t, schema("array_shards"), "state"))
	require.Equal(t, apiConstants(t, "StaleReason"), strs(api.StaleReasons))
	require.Equal(t, apiConstants(t, "ShardState"), strs(api.ShardStates))
	// The lists are every constant pkg/api declares (catches a new state added there only).
	// (less TaskVerifying, which is reported and never stored).
	stored := slices.DeleteFunc(apiConstants(t, "TaskState"), func(s string) bool { return s == string(api.TaskVerifying) })
	require.Equal(t, stored, checkList(t, schema("tasks"), "state"))
	require.False(t, api.TaskVerifying.Valid(), "verifying is never stored")
	require.Equal(t, apiConstants(t, "JobState"), checkList(t, schema("jobs"), "state"))
	require.Equal(t, apiConstants(t, "Source"), checkList(t, schema("tasks"), "source"))
	// Every value in the schema is a known constant (catches a stale test list).
	for _, v := range checkList(t, schema("tasks"), "state") {
		require.True(t, api.TaskState(v).Valid(), v)
	}
	for _, v := range checkList(t, schema("tasks"), "source") {
		require.True(t, api.Source(v).Valid(), v)
	}
	// The tables are STRICT.
	for _, tbl := range []string{"datasets", "tasks", "attempts", "requests", "jobs", "job_tasks", "claims", "schema_migrations",
		"changelog_cursor", "shard_arrays", "array_shards"} {
		require.Contains(t, schema(tbl), "STRICT", tbl)
	}
}

func TestCheckConstraintsRejectBadValues(t *testing.T) {
	s, path := open(t)
	it := submit(t, s, 1000, t0, "/jfs/a")
	db := rawDB(t, path)
	for _, q := range []string{
		`UPDATE tasks SET state = 'bogus' WHERE id = ?`,
		`UPDATE tasks SET source = 'cron' WHERE id = ?`,
		`UPDATE tasks SET state = 'warming' WHERE id = ?`, // warming without a lease
		`INSERT INTO jobs (job_id, uid, state, submitted_at) VALUES (?, 0, 'pending', 0)`,
		`INSERT INTO requests (uid, gid, source, paths, created_at) VALUES (?, 0, 'manual', 'not json', 0)`,
		`INSERT INTO datasets (path, created_at) VALUES ('relative/' || ?, 0)`,
		`UPDATE tasks SET attempts = 'many' WHERE id = ?`, // STRICT: no text in an INTEGER column
	} {
		_, err := db.Exec(q, it[0].TaskID)
		require.Error(t, err, q)
		require.Regexp(t, `CHECK constraint failed|cannot store TEXT value`, err.Error(), q)
	}
	// Valid values pass.
	for _, st := range api.JobStates {
		_, err := db.Exec(`INSERT INTO jobs (uid, state, submitted_at) VALUES (0, ?, 0)`, string(st))
		require.NoError(t, err)
	}
}

func TestReopenAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warmupd.db")
	log := zerolog.New(zerolog.NewTestWriter(t))
	s, err := queue.Open(path, log)
	require.NoError(t, err)
	it := submit(t, s, 1000, t0, "/jfs/a")
	require.NoError(t, s.Close())

	for range 2 {
		s, err = queue.Open(path, log)
		require.NoError(t, err)
		es, err := s.Queue(ctx(), false)
		require.NoError(t, err)
		require.Len(t, es, 1)
		require.Equal(t, it[0].TaskID, es[0].TaskID)
		require.NoError(t, s.Close())
	}
	db := rawDB(t, path)
	var n, max int
	require.NoError(t, db.QueryRow(`SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &max))
	files, err := filepath.Glob("migrations/*.sql")
	require.NoError(t, err)
	require.Equal(t, len(files), n, "every migration applied once")
	require.Equal(t, queue.SchemaVersion(), max)
	var mode string
	require.NoError(t, db.QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	require.Equal(t, "wal", mode)
}

func TestNewerSchemaIsRefused(t *testing.T) {
	s, path := open(t)
	_ = s
	db := rawDB(t, path)
	_, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 0)`)
	require.NoError(t, err)
	_, err = queue.Open(path, zerolog.Nop())
	require.Error(t, err)
	require.Contains(t, err.Error(), "schema version 999")
	require.Contains(t, err.Error(), "restore a backup")
}

func TestCorruptFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warmupd.db")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("this is not sqlite\n", 300)), 0o600))
	_, err := queue.Open(path, zerolog.Nop())
	require.Error(t, err)
	require.Contains(t, err.Error(), "is not a usable warmupd database")
	require.Contains(t, err.Error(), "move it aside")

	_, err = queue.Open(t.TempDir(), zerolog.Nop())
	require.ErrorContains(t, err, "is a directory")
}

func TestBackupIsAUsableCopy(t *testing.T) {
	s, path := open(t)
	it := submit(t, s, 1000, t0, "/jfs/a")[0]
	dest := filepath.Join(filepath.Dir(path), "backup.db")
	require.NoError(t, s.Backup(ctx(), dest))
	require.ErrorContains(t, s.Backup(ctx(), dest), "already exists")

	b, err := queue.Open(dest, zerolog.Nop())
	require.NoError(t, err)
	defer b.Close()
	es, err := b.Queue(ctx(), false)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, it.TaskID, es[0].TaskID)
}

func TestUnopenablePathSaysWhatToDo(t *testing.T) {
	_, err := queue.Open(filepath.Join(t.TempDir(), "missing-dir", "warmupd.db"), zerolog.Nop())
	require.Error(t, err)
	require.Contains(t, err.Error(), "create its directory")
}

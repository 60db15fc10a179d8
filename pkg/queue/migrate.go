package queue

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one numbered file of migrations/.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names are
// NNNN_name.sql; numbers are unique and ascending (a gap is allowed: work
// merged from several branches reserves its numbers ahead).
func migrations() ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := strings.TrimPrefix(f, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("queue: migration file %s is not named NNNN_name.sql", base)
		}
		b, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version < 1 || (i > 0 && m.version == ms[i-1].version) {
			return nil, fmt.Errorf("queue: migration numbers must be unique and start at 1; found %s at position %d", m.name, i+1)
		}
	}
	return ms, nil
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every pending migration, each in its own transaction
// together with its schema_migrations row.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	var current int
	applied := map[int]bool{}
	if err := s.withWriter(func(c *sql.Conn) error { return readApplied(ctx, c, &current, applied) }); err != nil {
		return err
	}
	if newest := ms[len(ms)-1].version; current > newest {
		return fmt.Errorf("queue: database %s has schema version %d but this warmupd knows only up to %d; run the newer warmupd that wrote it, or restore a backup made by this version", s.path, current, newest)
	}
	// Each migration not applied yet, in order (numbers may have gaps, so a
	// database may hold 9 but not 6 when branches merged in that order).
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := s.inTx(ctx, func(tx *wtx) error {
			// Straight to the transaction: a migration is many statements and must not be cached.
			if _, err := tx.s.wc.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("queue: migration %s: %w", m.name, err)
			}
			_, err := tx.s.wc.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, unixepoch() * 1000000000)`, m.version, m.name)
			return err
		})
		if err != nil {
			return err
		}
		s.log.Info().Int("version", m.version).Str("migration", m.name).Str("db", s.path).Msg("applied schema migration")
	}
	return nil
}

// readApplied creates the schema_migrations table if needed and reads the
// newest version applied and the set of all applied.
func readApplied(ctx context.Context, c *sql.Conn, current *int, applied map[int]bool) error {
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return err
	}
	if err := c.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(current); err != nil {
		return err
	}
	rows, err := c.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied[v] = true
	}
	return rows.Err()
}

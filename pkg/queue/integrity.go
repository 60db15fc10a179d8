package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// quickCheck runs PRAGMA quick_check on the writer connection, bounded by
// timeout (0: DefaultCheckTimeout, negative: skipped). A damaged file is a
// DamagedError; a check that runs out of time is logged and skipped.
func (s *Store) quickCheck(timeout time.Duration) error {
	if timeout < 0 {
		return nil
	}
	if timeout == 0 {
		timeout = DefaultCheckTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	var lines []string
	err := s.withWriter(func(c *sql.Conn) error {
		rows, err := c.QueryContext(ctx, `PRAGMA quick_check(20)`)
		lines, err = readAll(rows, err, func(rows *sql.Rows, line *string) error { return rows.Scan(line) })
		return err
	})
	var problems []string
	for _, line := range lines {
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		s.log.Warn().Dur("timeout", timeout).Str("db", s.path).
			Msg("integrity check (PRAGMA quick_check) did not finish in time; starting without it")
		return nil
	case err != nil && sqliteDamaged(err):
		return &DamagedError{Path: s.path, Err: err}
	case err != nil:
		return err
	case len(problems) > 0:
		return &DamagedError{Path: s.path, Err: fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))}
	}
	s.log.Debug().Dur("took", time.Since(start)).Str("db", s.path).Msg("integrity check ok")
	return nil
}

// MarkerPath is the file warmupd keeps beside the database at path once the
// database exists. A marker without its database (missing, or 0 bytes)
// means the database was lost — deleted, truncated, a volume not mounted —
// rather than never created, and Open refuses to start over silently.
func MarkerPath(path string) string { return path + ".marker" }

// checkNotLost refuses a database that is missing or empty while its marker
// says one existed, unless allowEmpty (then it logs an error and goes on).
func checkNotLost(path string, allowEmpty bool, log zerolog.Logger) error {
	marker, err := os.ReadFile(MarkerPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue: read %s: %w", MarkerPath(path), err)
	}
	what := "is missing"
	if fi, err := os.Stat(path); err == nil {
		if fi.Size() > 0 {
			return nil
		}
		what = "is empty (0 bytes)"
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil // Open reports what is wrong with the path
	}
	msg := fmt.Sprintf("database %s %s, but %s says warmupd kept its queue there (%s): the file was lost or truncated",
		path, what, MarkerPath(path), firstLine(marker))
	if allowEmpty {
		log.Error().Str("db", path).Msg(msg + "; starting with an EMPTY queue because AllowEmptyDatabase is set (restore a backup to get the history back)")
		return os.Remove(MarkerPath(path))
	}
	return fmt.Errorf("queue: %s. Restore it from a backup (docs/admin/backup-restore.md); or, to start with an empty queue, remove %s (or start warmupd once with --allow-empty-database) and start warmupd again", msg, MarkerPath(path))
}

// writeMarker records that the database at path exists (see MarkerPath).
func writeMarker(path string) error {
	if _, err := os.Stat(MarkerPath(path)); err == nil {
		return nil
	}
	text := fmt.Sprintf("created %s\nwarmupd keeps this file beside its database %s: if the database is missing or empty while this file exists,\nwarmupd refuses to start with an empty queue (see --allow-empty-database). Move or delete both together.\n",
		time.Now().UTC().Format(time.RFC3339), path)
	if err := os.WriteFile(MarkerPath(path), []byte(text), 0o644); err != nil {
		return fmt.Errorf("queue: write %s: %w; make the database directory writable by warmupd's user", MarkerPath(path), err)
	}
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

package bytesize_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

// Every size flag of every command takes the same syntax (bytesize.Parse):
// each value below goes through the real flag of the real binary. A command
// is stopped right after its flags are parsed by a second, bad flag: an
// accepted size gets that flag's complaint, a refused one its own.
func TestEverySizeFlagTakesTheSameSyntax(t *testing.T) {
	good := []string{"1048576", "64k", "64K", "1M", "1MiB", "1mb", "1.5T", "7 GB", "2TiB", "1P"}
	bad := []string{"lots", "-1G", "1X", "1..5G"}
	report := filepath.Join(t.TempDir(), "missing-report.json")
	commands := []struct {
		pkg, flag string
		// args runs the command with the size; after says what an accepted size leads to.
		args  func(size string) []string
		after string
	}{
		{"cmd/warmupd", "--cache-capacity", func(s string) []string { return []string{"--cache-capacity", s, "--log-level", "loud"} }, "bad --log-level"},
		{"cmd/warmupd", "--max-request-bytes", func(s string) []string { return []string{"--max-request-bytes", s, "--log-level", "loud"} }, "bad --log-level"},
		{"cmd/warmupd", "--active-budget", func(s string) []string { return []string{"--active-budget", s, "--log-level", "loud"} }, "bad --log-level"},
		{"cmd/jfs-dedup", "--min-size", func(s string) []string { return []string{"apply", "--min-size", s, report} }, "missing-report.json"},
		{"cmd/jfs-dedup", "--memory-limit", func(s string) []string { return []string{"scan", "--memory-limit", s, "--progress", "loud", "."} }, "--progress is auto"},
	}
	for _, c := range commands {
		bin := testutil.Binary(t, c.pkg)
		run := func(size string) (int, string) {
			code, stdout, stderr := testutil.Run(t, nil, bin, c.args(size)...)
			require.NotZero(t, code, "%s %s %q must stop with an error: %s", c.pkg, c.flag, size, stdout+stderr)
			return code, stdout + stderr
		}
		for _, s := range good {
			_, out := run(s)
			require.Contains(t, out, c.after, "%s %s %q is accepted", c.pkg, c.flag, s)
			require.NotContains(t, out, "size", "%s %s %q is accepted", c.pkg, c.flag, s)
		}
		for _, s := range bad {
			code, out := run(s)
			require.Equal(t, 2, code, "%s %s %q is a usage error: %s", c.pkg, c.flag, s, out)
			require.Contains(t, out, "500GiB", "%s %s %q: the error shows what to write", c.pkg, c.flag, s)
			require.NotContains(t, out, c.after, "%s %s %q stops at the size", c.pkg, c.flag, s)
		}
	}
}

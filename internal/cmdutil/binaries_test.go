package cmdutil

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
)

var statusLine = regexp.MustCompile(`(?m)^  (\d+)  (.+)$`)

// Both CLIs behave alike where cmdutil makes them: a usage error exits 2 and
// points at --help, --help ends with the EXIT STATUS table (0, 1, 2 and the
// tool's own codes), --version prints one line.
func TestBothCLIsShareThePlumbing(t *testing.T) {
	for _, tool := range []struct {
		name, pkg string
		codes     []string // the codes its EXIT STATUS lists
	}{
		{"swarmup", "cmd/swarmup", []string{"0", "1", "2", "3", "4", "5"}},
		{"jfs-dedup", "cmd/jfs-dedup", []string{"0", "1", "2", "3", "4"}},
	} {
		bin := testutil.Binary(t, tool.pkg)
		for _, args := range [][]string{{"bogus"}, {"--bogus"}, {"bogus", "--also-bogus"}} {
			code, out, stderr := testutil.Run(t, nil, bin, args...)
			require.Equal(t, 2, code, "%s %v: %s", tool.name, args, stderr)
			require.Empty(t, out)
			require.True(t, strings.HasPrefix(stderr, tool.name+": "), "%s %v: %q", tool.name, args, stderr)
			require.Contains(t, stderr, "Run '"+tool.name+" --help' for usage.\n")
			require.Equal(t, 2, strings.Count(stderr, "\n"), "one line and the pointer: %q", stderr)
		}

		code, out, stderr := testutil.Run(t, nil, bin, "--help")
		require.Equal(t, 0, code, stderr)
		i := strings.Index(out, "\nEXIT STATUS\n")
		require.GreaterOrEqual(t, i, 0, "%s --help has EXIT STATUS:\n%s", tool.name, out)
		var codes []string
		for _, m := range statusLine.FindAllStringSubmatch(out[i:], -1) {
			codes = append(codes, m[1])
		}
		require.Equal(t, tool.codes, codes, "%s --help EXIT STATUS", tool.name)
		require.Regexp(t, `(?m)^  2  bad flag`, out[i:], "the code a usage error exits with is the one documented")

		code, out, _ = testutil.Run(t, nil, bin, "--version")
		require.Equal(t, 0, code)
		require.True(t, strings.HasPrefix(out, tool.name+" "), "%q", out)
		require.Equal(t, 1, strings.Count(out, "\n"))
	}
}

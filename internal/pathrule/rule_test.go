package pathrule

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pathCase is one line of spank/testdata/paths.tsv, the table the SPANK
// plugin's C test reads too.
type pathCase struct {
	line       int
	in, result string
	ok         bool
}

// decodeCase expands \xNN (a byte), \\ (a backslash) and \pN (N letters a).
func decodeCase(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		require.Less(t, i+1, len(s), "dangling \\ in %q", s)
		switch s[i+1] {
		case '\\':
			b.WriteByte('\\')
			i++
		case 'x':
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			require.NoError(t, err, "bad \\x in %q", s)
			b.WriteByte(byte(v))
			i += 3
		case 'p':
			j := i + 2
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i+2 : j])
			require.NoError(t, err, "bad \\p in %q", s)
			b.WriteString(strings.Repeat("a", n))
			i = j - 1
		default:
			t.Fatalf("unknown escape in %q", s)
		}
	}
	return b.String()
}

func readPathCases(t *testing.T) []pathCase {
	t.Helper()
	f, err := os.Open("../../spank/testdata/paths.tsv")
	require.NoError(t, err)
	defer f.Close()
	var cases []pathCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		col := strings.Split(l, "\t")
		require.Len(t, col, 3, "paths.tsv:%d: want three tab-separated columns", n)
		require.Contains(t, []string{"ok", "refuse"}, col[1], "paths.tsv:%d", n)
		cases = append(cases, pathCase{line: n, in: decodeCase(t, col[0]), ok: col[1] == "ok", result: decodeCase(t, col[2])})
	}
	require.NoError(t, sc.Err())
	require.Greater(t, len(cases), 30)
	return cases
}

// Clean accepts and refuses exactly the paths the SPANK plugin does, with
// the same words; a refusal is one short line whatever the path's size.
func TestCleanFollowsTheSharedTable(t *testing.T) {
	for _, c := range readPathCases(t) {
		got, reason := Clean(c.in)
		if c.ok {
			require.Empty(t, reason, "paths.tsv:%d", c.line)
			require.Equal(t, c.result, got, "paths.tsv:%d", c.line)
			continue
		}
		require.NotEmpty(t, reason, "paths.tsv:%d: %q accepted", c.line, c.in)
		msg := Show(c.in) + ": " + reason
		require.Contains(t, msg, c.result, "paths.tsv:%d", c.line)
		require.NotContains(t, msg, "\n", "paths.tsv:%d", c.line)
		require.LessOrEqual(t, len(msg), 400, "paths.tsv:%d: %s", c.line, msg)
	}
}

func TestShow(t *testing.T) {
	require.Equal(t, "/jfs/a b", Show("/jfs/a b"))
	require.Equal(t, `/jfs/\x0a\xff\x7f`, Show("/jfs/\n\xff\x7f"))
	long := "/jfs/" + strings.Repeat("x", 5000) + "/end"
	s := Show(long)
	require.True(t, strings.HasPrefix(s, "/jfs/xxx"), s)
	require.True(t, strings.HasSuffix(s, "xxx/end"), s)
	require.Equal(t, showHead+len("…")+showTail, len(s))
}

package jfs

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testdata/changelog_1.4.txt is `juicefs changelog` output: the entries are
// those of TestParseChangeEntry in juicedata/juicefs pkg/meta/changelog_test.go
// (1.4; CREATE with and without rdev, WRITE, INIT_ENABLE_DIRSTATS, UNLINKBATCH,
// RMDIR with escaped and unescaped separators), plus MOVE, SETATTR and
// ACCESS entries written with the argument counts of changelogOps and the
// argument order of changelog_apply.go, each prefixed "VER: " as
// cmd/changelog.go prints them.
func TestParseChangelogSample(t *testing.T) {
	b, err := os.ReadFile("testdata/changelog_1.4.txt")
	require.NoError(t, err)
	es, err := ParseChangelog(string(b))
	require.NoError(t, err)
	require.Len(t, es, 10)
	require.Equal(t, int64(100), es[0].Ver)
	require.Equal(t, time.Unix(1716440752, 123456789), es[0].Time)
	require.Equal(t, "CREATE", es[0].Op)
	require.Equal(t, []string{"1", "report.txt", "1000", "1000", "1", "420", "18", "", "Keep", "true", "0"}, es[0].Args)
	require.Equal(t, []string{"1024"}, es[0].Result)
	require.Equal(t, []string{"1", "a|b,c(d)", "0"}, es[4].Args, "path-escaped separators")
	require.Equal(t, []string{"1", "a|b", "0"}, es[5].Args, "an unescaped pipe inside an argument")
	require.Empty(t, es[2].Args)

	changes := map[int64]Change{}
	for _, e := range es {
		if c, ok := e.Change(); ok {
			changes[e.Ver] = c
		}
	}
	require.Equal(t, map[int64]Change{
		100: {Kind: "create", Names: []Named{{1, "report.txt"}}},
		101: {Kind: "write", Inode: 1024},
		103: {Kind: "remove", Names: []Named{{1, "a"}, {1, "b"}, {1, "c"}}},
		104: {Kind: "remove", Names: []Named{{1, "a|b,c(d)"}}},
		105: {Kind: "remove", Names: []Named{{1, "a|b"}}},
		106: {Kind: "rename", Names: []Named{{1, "report.txt"}, {5, "final.txt"}}},
		109: {Kind: "create", Names: []Named{{1, "report.txt"}}},
	}, changes, "attributes, access times and statistics change no file set")
}

// Output cut at the driver's bound keeps the complete lines; a line that is
// not "VER: ENTRY" or an entry of the wrong shape is skipped, and the error
// names it.
func TestParseChangelogCutAndBad(t *testing.T) {
	es, err := ParseChangelog("7: 1.5|ACCESS(1)|(1,1)\n8: 2.0|CREATE(1,x,0,0,1,420,18,,Keep,tr")
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, time.Unix(1, 500_000_000), es[0].Time)
	for _, bad := range []string{"x: 1.0|ACCESS(1)|(1,1)\n", "9: 1.0|ACCESS(1)\n", "9: 1.0|ACCESS(%ZZ)|(1,1)\n", "9: nope|ACCESS(1)|(1,1)\n",
		"9: 1.0|ACCESS(1)|(1,1\n"} {
		es, err := ParseChangelog(bad + "10: 3.0|ACCESS(1)|(1,1)\n")
		require.ErrorContains(t, err, "1 changelog lines skipped", bad)
		require.Len(t, es, 1, "the good line after it still counts")
		require.Equal(t, int64(10), es[0].Ver)
	}
}

// exec.Cmd copies a command's stdout with io.Copy, which takes a writer's
// ReadFrom over its Write: the buffers have none, so the bound holds and a
// streamed read hears of each write as it comes, not when the command ends.
func TestStdoutBuffersTakeWrites(t *testing.T) {
	w := &watchedBuffer{limitedBuffer: limitedBuffer{limit: 10}, wrote: make(chan struct{}, 1)}
	_, ok := io.Writer(w).(io.ReaderFrom)
	require.False(t, ok, "watchedBuffer has a ReadFrom")
	_, ok = io.Writer(&w.limitedBuffer).(io.ReaderFrom)
	require.False(t, ok, "limitedBuffer has a ReadFrom")

	pipe := struct{ io.Reader }{strings.NewReader("1: a\n2: b\n3: c\n")} // no WriteTo, as a pipe
	n, err := io.Copy(w, pipe)
	require.NoError(t, err)
	require.Equal(t, int64(15), n, "the rest is read and dropped")
	require.Equal(t, "1: a\n2: b\n", w.String())
	require.True(t, w.full())
	select {
	case <-w.wrote:
	default:
		t.Fatal("the write was not told")
	}
}

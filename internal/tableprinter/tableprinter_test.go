package tableprinter

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func render(t *testing.T, tty bool, width int, rows [][]string, truncCol int) string {
	t.Helper()
	var b bytes.Buffer
	p := New(&b, tty, width)
	p.AddHeader(rows[0]...)
	for _, r := range rows[1:] {
		for i, f := range r {
			if i == truncCol {
				p.AddField(f, WithTruncate(TruncateLeft))
			} else {
				p.AddField(f)
			}
		}
		p.EndRow()
	}
	require.NoError(t, p.Render())
	return b.String()
}

var rows = [][]string{
	{"ID", "PATH", "STATE"},
	{"1", "/jfs/datasets/imagenet/train", "warming"},
	{"12", "/jfs/coco", "queued"},
}

func TestAlignedOnTTY(t *testing.T) {
	got := render(t, true, 0, rows, 1)
	require.Equal(t, ""+
		"ID  PATH                          STATE\n"+
		"1   /jfs/datasets/imagenet/train  warming\n"+
		"12  /jfs/coco                     queued\n", got)
}

func TestTabSeparatedWhenPiped(t *testing.T) {
	got := render(t, false, 20, rows, 1)
	require.Equal(t, "ID\tPATH\tSTATE\n1\t/jfs/datasets/imagenet/train\twarming\n12\t/jfs/coco\tqueued\n", got,
		"non-TTY output is never padded nor shortened, whatever the width")
}

func TestTruncatesToTerminalWidth(t *testing.T) {
	got := render(t, true, 30, rows, 1)
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		require.LessOrEqual(t, len([]rune(line)), 30, "line %q is wider than the terminal", line)
	}
	require.Contains(t, got, "1   …s/imagenet/train  warming", "a long path keeps its tail")
	require.Contains(t, got, "/jfs/coco ", "a short path is untouched")
}

func TestNeverNarrowerThanHeaderOrMinimum(t *testing.T) {
	got := render(t, true, 5, rows, 1)
	lines := strings.Split(got, "\n")
	require.True(t, strings.HasPrefix(lines[1], "1   …"), "got %q", lines[1])
	require.Len(t, []rune(strings.Fields(lines[1])[1]), minTrunc, "the path column stops shrinking at minTrunc")
}

func TestFieldsStayOnOneLine(t *testing.T) {
	var b bytes.Buffer
	p := New(&b, false, 0)
	p.AddField("a\tb")
	p.AddField("c\nd")
	p.EndRow()
	require.NoError(t, p.Render())
	require.Equal(t, "a b\tc d\n", b.String())
}

func TestTruncators(t *testing.T) {
	require.Equal(t, "…/train", TruncateLeft(7, "/jfs/imagenet/train"))
	require.Equal(t, "/jfs", TruncateLeft(7, "/jfs"))
	require.Equal(t, "cache i…", TruncateRight(8, "cache is full"))
	require.Equal(t, "", TruncateRight(0, "x y"))
}

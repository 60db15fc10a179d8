package accesslog_test

import (
	"bufio"
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/accesslog"
)

// samples returns the access-log lines of a real 1.4.1 client's sample
// (without the sample's "$ command" and "[exit=N]" lines).
func samples(t testing.TB, name string) [][]byte {
	data, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if l := sc.Bytes(); len(l) > 0 && l[0] != '$' && !bytes.HasPrefix(l, []byte("[exit=")) {
			out = append(out, append([]byte(nil), l...))
		}
	}
	return out
}

func TestParseRealLookupAndRead(t *testing.T) {
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	lines := samples(t, "62_accesslog_lookup_read.txt")
	byOp := map[accesslog.Op][]accesslog.Entry{}
	for _, l := range lines {
		require.NoError(t, p.Parse(l, &e), "%s", l)
		c := e
		c.Child = append([]byte(nil), e.Child...)
		byOp[e.Op] = append(byOp[e.Op], c)
	}
	require.Len(t, byOp[accesslog.OpKeepAlive], 1)

	lk := byOp[accesslog.OpLookup]
	require.Len(t, lk, 4)
	require.Equal(t, uint64(1), lk[0].Parent)
	require.Equal(t, "small0", string(lk[0].Child))
	require.Equal(t, uint64(15), lk[0].Inode)
	require.True(t, lk[0].IsDir)
	require.Equal(t, uint64(18), lk[2].Inode)
	require.Equal(t, "x00001", string(lk[2].Child))
	require.False(t, lk[2].IsDir)
	require.Equal(t, int64(65536), lk[2].Length)
	require.Equal(t, uint32(21987), lk[2].PID)

	op := byOp[accesslog.OpOpen]
	require.Len(t, op, 2)
	require.Equal(t, uint64(18), op[1].Inode)
	require.Equal(t, uint64(7), op[1].Fh)
	require.Equal(t, 189*time.Microsecond, op[1].Dur)

	rd := byOp[accesslog.OpRead][0]
	require.Equal(t, uint64(18), rd.Inode)
	require.Equal(t, int64(65536), rd.Size)
	require.Equal(t, int64(0), rd.Offset)
	require.Equal(t, uint64(7), rd.Fh)
	require.Equal(t, int64(65536), rd.Bytes)
	require.True(t, rd.OK())
	require.Equal(t, time.Date(2026, 12, 1, 11, 35, 0, 598917000, time.UTC), rd.Time)

	rel := byOp[accesslog.OpRelease][0]
	require.Equal(t, uint32(0), rel.PID, "release lines carry pid 0")
	require.Equal(t, uint64(7), rel.Fh)
	ga := byOp[accesslog.OpGetattr][0]
	require.Equal(t, uint64(18), ga.Inode)
	require.Equal(t, int64(65536), ga.Length)
	require.Len(t, byOp[accesslog.OpReaddir], 2)
	require.Equal(t, "(14)", string(byOp[accesslog.OpReaddir][0].Result))
}

func TestParseRealSequentialRead(t *testing.T) {
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	var total int64
	for _, l := range samples(t, "12_accesslog.txt") {
		require.NoError(t, p.Parse(l, &e), "%s", l)
		if e.Op == accesslog.OpRead && e.Inode == 3 {
			require.Equal(t, uint64(435), e.Fh)
			total += e.Bytes
		}
	}
	require.Equal(t, int64(3730526), total, "the reads of f000.bin add up to its length (juicefs info: 3730526 bytes)")
}

func TestParseOlderFormatsAndErrors(t *testing.T) {
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	// 1.2: no fh in read
	require.NoError(t, p.Parse([]byte("2026.11.25 00:41:14.136594 [uid:1000,gid:1000,pid:7] read (3,131072,0): (131072) - OK <0.000688>"), &e))
	require.Equal(t, accesslog.OpRead, e.Op)
	require.Equal(t, int64(131072), e.Bytes)
	require.Equal(t, uint64(0), e.Fh)
	require.Equal(t, uint32(1000), e.UID)
	// ≤ 1.1: status before the result
	require.NoError(t, p.Parse([]byte("2022.04.20 10:00:00.000001 [uid:0,gid:0,pid:0] read (148199375,69632,1439510528,18333): OK (69632) <0.001047>"), &e))
	require.Equal(t, int64(69632), e.Bytes)
	require.Equal(t, uint64(18333), e.Fh)
	require.True(t, e.OK())
	// a failed lookup
	require.NoError(t, p.Parse([]byte("2026.12.01 11:35:00.595348 [uid:0,gid:0,pid:21987] lookup (1,nope): (0,[]) - no such file or directory <0.000011>"), &e))
	require.False(t, e.OK())
	require.Equal(t, "no such file or directory", string(e.Status))
	require.Equal(t, "nope", string(e.Child))
	// a name with a space, comma and parentheses
	require.NoError(t, p.Parse([]byte("2026.12.01 11:35:00.595348 [uid:0,gid:0,pid:5] lookup (2,a (1), b): (9,[-rw-r--r--:0100644,1,0,0,1,1,1,42]) - OK <0.000011>"), &e))
	require.Equal(t, "a (1), b", string(e.Child))
	require.Equal(t, uint64(9), e.Inode)
	require.Equal(t, int64(42), e.Length)
	// unknown op
	require.NoError(t, p.Parse([]byte("2026.12.01 11:35:00.595348 [uid:0,gid:0,pid:5] statfs (1): (1,2,3,4) - OK <0.000011>"), &e))
	require.Equal(t, accesslog.OpOther, e.Op)
	require.Equal(t, "statfs", string(e.Name))

	for _, l := range []string{"", "garbage", "2026.12.01 11:35:00.595348 [uid:0,gid:0] read (1) - OK <0.1>", "2026.12.01 11:35:00.595348 [uid:0,gid:0,pid:1] read (1,2,3,4): (4) - OK"} {
		require.ErrorIs(t, p.Parse([]byte(l), &e), accesslog.ErrSyntax, "%q", l)
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	p := accesslog.Parser{Loc: time.UTC}
	var e accesslog.Entry
	lines := samples(t, "62_accesslog_lookup_read.txt")
	allocs := testing.AllocsPerRun(100, func() {
		for _, l := range lines {
			_ = p.Parse(l, &e)
		}
	})
	require.Zero(t, allocs)
}

func TestGapsCountsReadsOfHandlesNeverOpened(t *testing.T) {
	p := accesslog.Parser{Loc: time.UTC}
	var e, open accesslog.Entry
	var g accesslog.Gaps
	lines := samples(t, "12_accesslog.txt")
	for _, l := range lines {
		require.NoError(t, p.Parse(l, &e))
		g.Observe(&e)
	}
	require.Zero(t, g.Missed, "the real sample has no gap")

	// Drop the open of fh 437 (the second file): its reads prove the gap,
	// once however many there are.
	g = accesslog.Gaps{}
	for _, l := range lines {
		require.NoError(t, p.Parse(l, &e))
		if e.Op == accesslog.OpOpen && e.Fh == 437 {
			open = e
			continue
		}
		g.Observe(&e)
	}
	require.Equal(t, uint64(437), open.Fh)
	require.Equal(t, int64(1), g.Missed)

	// A reader that starts in the middle of a file's reads has not seen its
	// open, which came before it started: not a gap.
	g = accesslog.Gaps{}
	started := false
	for _, l := range lines {
		require.NoError(t, p.Parse(l, &e))
		if e.Op == accesslog.OpOpen && e.Fh == 435 {
			started = true
			continue
		}
		if started {
			g.Observe(&e)
		}
	}
	require.Zero(t, g.Missed)
}

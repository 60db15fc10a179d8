package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Each reader has a buffer of exactly 10 240 lines, like a real client's;
// later lines are dropped for that reader only, and every op is counted.
func TestAccessLogBufferPerReader(t *testing.T) {
	a := newAccessLog()
	slow, fast := a.open(), a.open()
	buf := make([]byte, 1<<20)
	fastLines := 0
	for i := range accessLogBuffer + 500 {
		a.logit(context.Background(), time.Now(), "getattr", 0, "(%d):", i)
		if i%1000 == 999 { // the fast reader keeps up
			fastLines += strings.Count(string(buf[:fast.read(buf)]), "\n")
		}
	}
	for {
		out := string(buf[:fast.read(buf)])
		if out == "#\n" {
			break
		}
		fastLines += strings.Count(out, "\n")
	}
	require.Equal(t, accessLogBuffer+500, fastLines, "a reader that keeps up loses nothing")

	var got []string
	for {
		out := string(buf[:slow.read(buf)])
		if out == "#\n" { // the keep-alive after a second without lines
			break
		}
		got = append(got, strings.Split(strings.TrimSuffix(out, "\n"), "\n")...)
	}
	require.Len(t, got, accessLogBuffer, "the slow reader got its buffer's worth")
	require.Contains(t, got[0], "] getattr (0): - OK <")
	require.Contains(t, got[len(got)-1], "] getattr (10239): - OK <", "the lines that did not fit are the later ones")
	totals := map[string]int64{}
	a.opsTotals(totals)
	require.Equal(t, int64(accessLogBuffer+500), totals["juicefs_fuse_ops_total_getattr"])
}

// A line longer than the caller's buffer comes out whole over two reads.
func TestAccessLogSplitsLinesAcrossReads(t *testing.T) {
	a := newAccessLog()
	r := a.open()
	a.logit(context.Background(), time.Now(), "lookup", 0, "(1,%s):", strings.Repeat("x", 100))
	small := make([]byte, 40)
	first := string(small[:r.read(small)])
	rest := string(small[:r.read(small)])
	for !strings.HasSuffix(rest, "\n") {
		rest += string(small[:r.read(small)])
	}
	require.Regexp(t, `^\d{4}\.\d\d\.\d\d \d\d:\d\d:\d\d\.\d{6} \[uid:0,gid:0,pid:0\] lookup \(1,x{100}\): - OK <\d+\.\d{6}>\n$`, first+rest)
}

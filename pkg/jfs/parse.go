package jfs

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Summary is what `juicefs warmup` and `juicefs warmup --evict` report.
// Bytes is parsed from a humanized size (e.g. "499 MiB"), so it is rounded.
type Summary struct {
	Files int64
	Bytes int64
}

// CheckResult is what `juicefs warmup --check` reports. juicefs prints both
// sizes humanized ("499 MiB", exact only below 1 KiB: "917 B") and the
// percentage with one decimal, rounded to nearest, so "100.0%" may be
// 99.96 %. Hence:
//   - When both sizes are printed exactly (in bytes), Ratio and CachedBytes
//     are exact.
//   - Otherwise Ratio comes from the percentage (the more precise figure),
//     except that a printed "100.0%" gives MaxRoundedRatio, never 1: nothing
//     may claim "all cached" from a rounded figure.
//
// TotalBytes is as rounded as juicefs printed it; CachedBytes =
// round(Ratio*TotalBytes) unless exact. Ratio is 1 only when it is known to
// be 1.
type CheckResult struct {
	Files       int64
	CachedBytes int64
	TotalBytes  int64
	Ratio       float64
}

var (
	reWarmup = regexp.MustCompile(`warmup cache: (\d+) files \(([^()]*?) bytes\)`)
	reEvict  = regexp.MustCompile(`evict cache: (\d+) files \(([^()]*?) bytes\)`)
	// 1.3+: check cache: 200 files checked, 499 MiB of 499 MiB (100.0%) cached
	reCheck13 = regexp.MustCompile(`check cache: (\d+) files checked, ([^()]*?) of ([^()]*?) \(\s*([0-9.]+)%\) cached`)
	// 1.2: check cache: 200 files (499 MiB of 499 MiB (100.0%)) cached
	reCheck12 = regexp.MustCompile(`check cache: (\d+) files \(([^()]*?) of ([^()]*?) \(\s*([0-9.]+)%\)\) cached`)
	reFatal   = regexp.MustCompile(`<FATAL>: (.*?)(?: \[[^\]]*@[^\]]*\])?\s*$`)
)

// ParseWarmupSummary finds the "warmup cache: N files (X bytes)" line in
// juicefs's stderr. It returns ErrNoSummary when there is none.
func ParseWarmupSummary(stderr string) (*Summary, error) {
	return parseFilesBytes(stderr, reWarmup, "warmup")
}

// ParseEvictSummary finds the "evict cache: N files (X bytes)" line in
// juicefs's stderr. It returns ErrNoSummary when there is none.
func ParseEvictSummary(stderr string) (*Summary, error) {
	return parseFilesBytes(stderr, reEvict, "evict")
}

func parseFilesBytes(stderr string, re *regexp.Regexp, what string) (*Summary, error) {
	m := lastMatch(stderr, re)
	if m == nil {
		return nil, ErrNoSummary
	}
	files, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("jfs: %s summary: bad file count %q: %w", what, m[1], err)
	}
	b, err := ParseIBytes(m[2])
	if err != nil {
		return nil, fmt.Errorf("jfs: %s summary: %w", what, err)
	}
	return &Summary{Files: files, Bytes: b}, nil
}

// ParseCheckSummary finds the "check cache: …" line (1.3+ or 1.2 form) in
// juicefs's stderr. It returns ErrNoSummary when there is none.
func ParseCheckSummary(stderr string) (*CheckResult, error) {
	m := lastMatch(stderr, reCheck13)
	if m == nil {
		m = lastMatch(stderr, reCheck12)
	}
	if m == nil {
		return nil, ErrNoSummary
	}
	files, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("jfs: check summary: bad file count %q: %w", m[1], err)
	}
	cached, err := ParseIBytes(m[2])
	if err != nil {
		return nil, fmt.Errorf("jfs: check summary: cached size: %w", err)
	}
	total, err := ParseIBytes(m[3])
	if err != nil {
		return nil, fmt.Errorf("jfs: check summary: total size: %w", err)
	}
	pct, err := strconv.ParseFloat(m[4], 64)
	if err != nil || pct < 0 || pct > 100 {
		return nil, fmt.Errorf("jfs: check summary: bad percentage %q", m[4])
	}
	r := &CheckResult{Files: files, TotalBytes: total}
	if exactBytes(m[2]) && exactBytes(m[3]) {
		// Both sizes in bytes: the ratio is exact.
		r.CachedBytes = cached
		if total > 0 {
			r.Ratio = float64(cached) / float64(total)
		}
		return r, nil
	}
	r.Ratio = pct / 100
	if pct >= 100 {
		r.Ratio = MaxRoundedRatio
	}
	r.CachedBytes = int64(math.Round(r.Ratio * float64(total)))
	return r, nil
}

// MaxRoundedRatio is the Ratio given for a `--check` that prints "100.0%"
// about more than 1 KiB: the least value juicefs rounds to 100.0 %, since
// the true figure may be anything from 99.95 % up. A target ratio above it
// cannot be verified with `juicefs warmup --check`.
const MaxRoundedRatio = 0.9995

// exactBytes reports whether a humanized size is printed in bytes ("917 B"),
// which go-humanize does below 1 KiB, and so is exact.
func exactBytes(s string) bool {
	f := strings.Fields(s)
	return len(f) == 2 && f[1] == "B"
}

// ParseFatal returns the message of the last "<FATAL>: …" line in stderr,
// without the timestamp prefix and the "[func@file.go:N]" suffix, or "".
func ParseFatal(stderr string) string {
	return lastLogMessage(stderr, "FATAL")
}

// lastLogMessage returns the message of the last "<LEVEL>: …" log line.
func lastLogMessage(stderr, level string) string {
	re := reFatal
	if level != "FATAL" {
		re = regexp.MustCompile(`<` + regexp.QuoteMeta(level) + `>: (.*?)(?: \[[^\]]*@[^\]]*\])?\s*$`)
	}
	var msg string
	for _, line := range strings.Split(stderr, "\n") {
		if m := re.FindStringSubmatch(line); m != nil {
			msg = m[1]
		}
	}
	return msg
}

func lastMatch(s string, re *regexp.Regexp) []string {
	all := re.FindAllStringSubmatch(s, -1)
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

var iUnits = map[string]float64{
	"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	"TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60,
}

// ParseIBytes parses a size printed by go-humanize's IBytes ("0 B", "7 B",
// "499 MiB", "1.5 GiB") into bytes. The result is as rounded as the input.
func ParseIBytes(s string) (int64, error) {
	f := strings.Fields(strings.TrimSpace(s))
	if len(f) != 2 {
		return 0, fmt.Errorf("jfs: size %q is not \"<number> <unit>\"", s)
	}
	mult, ok := iUnits[f[1]]
	if !ok {
		return 0, fmt.Errorf("jfs: size %q has unknown unit %q (want B, KiB, MiB, GiB, TiB, PiB or EiB)", s, f[1])
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("jfs: size %q has a bad number", s)
	}
	b := math.Round(v * mult)
	if b > math.MaxInt64 {
		return 0, fmt.Errorf("jfs: size %q overflows int64", s)
	}
	return int64(b), nil
}

// SliceRow is one row of `juicefs info --raw FILE`: one slice of one chunk.
// Two files whose rows are equal share their data.
type SliceRow struct {
	ChunkIndex uint64
	SliceID    uint64
	Size       uint64 // size of the slice
	Offset     uint64 // offset of the used part inside the slice
	Length     uint64 // length of the used part
}

// ParseInfoRaw extracts the slice rows from `juicefs info --raw` stdout: every
// table row of exactly five numeric columns (chunkIndex | sliceId | size |
// offset | length). Header rows and the objects table are ignored. A
// directory yields no rows.
func ParseInfoRaw(stdout string) []SliceRow {
	var rows []SliceRow
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "|"), "|")
		if len(cols) != 5 {
			continue
		}
		var v [5]uint64
		ok := true
		for i, c := range cols {
			n, err := strconv.ParseUint(strings.TrimSpace(c), 10, 64)
			if err != nil {
				ok = false
				break
			}
			v[i] = n
		}
		if ok {
			rows = append(rows, SliceRow{ChunkIndex: v[0], SliceID: v[1], Size: v[2], Offset: v[3], Length: v[4]})
		}
	}
	return rows
}

var (
	infoPath   = regexp.MustCompile(`(?m)^\s*path: (/.*?)\s*$`)
	infoLength = regexp.MustCompile(`(?m)^\s*length: .*\((\d+) Bytes\)\s*$`)
)

// ParseInfoPath extracts the first "path:" (without its leading slash) and
// the exact length ("length: 3.56 MiB (3730526 Bytes)"; -1 when absent) from
// `juicefs info` stdout. A file with several hard links prints "paths:"
// instead: not found.
func ParseInfoPath(stdout string) (string, int64, bool) {
	m := infoPath.FindStringSubmatch(stdout)
	if m == nil {
		return "", 0, false
	}
	length := int64(-1)
	if l := infoLength.FindStringSubmatch(stdout); l != nil {
		if n, err := strconv.ParseInt(l[1], 10, 64); err == nil {
			length = n
		}
	}
	return strings.TrimPrefix(m[1], "/"), length, true
}

package jfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadStats reads <mount>/.stats, the mount's metrics as "name value" lines
// (e.g. juicefs_blockcache_hits, juicefs_blockcache_miss_bytes).
func ReadStats(mount string) (map[string]float64, error) {
	p := filepath.Join(mount, ".stats")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("jfs: open %s (is a JuiceFS volume mounted at %s?): %w", p, mount, err)
	}
	defer f.Close()
	m, err := ParseStats(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, p)
	}
	return m, nil
}

// ParseStats parses "name value" lines. Blank lines and "#" comments are
// skipped; any other line that is not a name and a number is an error.
func ParseStats(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("jfs: stats line %d %q is not \"name value\"", n, line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("jfs: stats line %d: value of %s: %w", n, f[0], err)
		}
		out[f[0]] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("jfs: reading stats: %w", err)
	}
	return out, nil
}

// Counters of a mount's .stats that grow with the bytes a warm-up brings
// in: what it wrote to the cache and what it read from object storage.
const (
	StatCacheWriteBytes = "juicefs_blockcache_write_bytes"
	StatObjectGetBytes  = "juicefs_object_request_data_bytes_GET"
)

// FetchedBytes is the larger of a mount's cache-write and object-GET byte
// counters (a mount may lack one of them); ok is false when it has neither.
// The difference of two readings is what the mount fetched in between.
func FetchedBytes(stats map[string]float64) (n int64, ok bool) {
	for _, name := range []string{StatCacheWriteBytes, StatObjectGetBytes} {
		if v, found := stats[name]; found {
			n, ok = max(n, int64(v)), true
		}
	}
	return n, ok
}

package dedup

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressLineShowsRateAndETA(t *testing.T) {
	var p Progress
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	var out syncBuf
	pp := StartProgress(&out, &p, time.Millisecond, clock)

	p.Files.Add(1500)
	p.Bytes.Add(3 << 30)
	require.Equal(t, "1500 files (3.0 GiB) scanned, 0 B read at 0 B/s, walking", pp.Line())

	p.Comparing.Store(true)
	p.ToRead.Add(300 << 20)
	p.Read.Add(100 << 20)
	now.Add(int64(10 * time.Second))
	require.Equal(t, "1500 files (3.0 GiB) scanned, 100.0 MiB read at 10.0 MiB/s, ETA 20s", pp.Line())

	require.Eventually(t, func() bool { return bytes.Contains([]byte(out.String()), []byte("\r\x1b[K1500 files")) },
		5*time.Second, time.Millisecond, "the line is redrawn in place")
	pp.Stop()
	require.True(t, bytes.HasSuffix([]byte(out.String()), []byte("\r\x1b[K")), "Stop clears the line")
}

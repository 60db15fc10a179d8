package dedup

import (
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress counts a scan's work; the scanner updates it, anyone may read it.
type Progress struct {
	// Files and Bytes count regular non-empty files found so far.
	Files atomic.Int64
	Bytes atomic.Int64
	// ToRead is the data of the same-size candidates known so far; Read is
	// what has been read of it (prefixes, lockstep comparison, hashing).
	ToRead atomic.Int64
	Read   atomic.Int64
	// Comparing is set once the walk is over.
	Comparing atomic.Bool
}

// ProgressPrinter redraws one status line on a terminal.
type ProgressPrinter struct {
	p     *Progress
	w     io.Writer
	now   func() time.Time
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup
}

// StartProgress redraws p on w (a terminal) every interval until Stop.
func StartProgress(w io.Writer, p *Progress, interval time.Duration, now func() time.Time) *ProgressPrinter {
	if now == nil {
		now = time.Now
	}
	pp := &ProgressPrinter{p: p, w: w, now: now, start: now(), done: make(chan struct{})}
	pp.wg.Add(1)
	go func() {
		defer pp.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-pp.done:
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\x1b[K%s", pp.Line())
			}
		}
	}()
	return pp
}

// Line renders the current status: files scanned, bytes read, rate, ETA.
func (pp *ProgressPrinter) Line() string {
	p := pp.p
	el := pp.now().Sub(pp.start).Seconds()
	read := p.Read.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(read) / el
	}
	s := fmt.Sprintf("%d files (%s) scanned, %s read at %s/s",
		p.Files.Load(), bytesize.Format(p.Bytes.Load()), bytesize.Format(read), bytesize.Format(int64(rate)))
	if p.Comparing.Load() {
		left := p.ToRead.Load() - read
		if rate > 0 && left > 0 {
			s += fmt.Sprintf(", ETA %s", (time.Duration(float64(left)/rate) * time.Second).Round(time.Second))
		}
	} else {
		s += ", walking"
	}
	return s
}

// Stop ends the redraws and clears the line.
func (pp *ProgressPrinter) Stop() {
	close(pp.done)
	pp.wg.Wait()
	fmt.Fprint(pp.w, "\r\x1b[K")
}

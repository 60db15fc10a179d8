package main

import (
	"fmt"
	"github.com/accel-data/accel-data/internal/bytesize"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/accel-data/accel-data/internal/tableprinter"

	"github.com/accel-data/accel-data/pkg/api"
)

// progress reports `warm --wait` progress on stderr: redrawn in place on a
// terminal, one line per state change otherwise.
type progress struct {
	io    *IOStreams
	lines int                     // lines drawn by the last redraw
	last  map[int64]api.TaskState // non-terminal mode: last state printed
}

func newProgress(io *IOStreams) *progress {
	return &progress{io: io, last: map[int64]api.TaskState{}}
}

func (p *progress) show(now time.Time, tasks []api.QueueEntry) {
	if p.io.ErrIsTTY {
		var b strings.Builder
		if p.lines > 0 {
			fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.lines)
		}
		for _, t := range tasks {
			head := fmt.Sprintf("%-8s %s %s  %s/%s  ", t.State, progressBar(t.CachedRatio), formatPercent(t.CachedRatio),
				bytesize.Short(t.CachedBytes), sizeOrUnknown(t.Bytes))
			ds := t.Dataset
			if w := p.io.Width - utf8.RuneCountInString(head) - 1; p.io.Width > 0 {
				// A wrapped line would break the cursor arithmetic of the next redraw.
				ds = tableprinter.TruncateLeft(max(w, 0), ds)
			}
			b.WriteString(head + ds + "\n")
		}
		p.lines = len(tasks)
		fmt.Fprint(p.io.ErrOut, b.String())
		return
	}
	for _, t := range tasks {
		if p.last[t.TaskID] == t.State {
			continue
		}
		p.last[t.TaskID] = t.State
		line := fmt.Sprintf("%s task %d %s %s %s", now.UTC().Format(time.RFC3339), t.TaskID, t.Dataset, t.State, formatPercent(t.CachedRatio))
		if t.Reason != "" {
			line += " (" + t.Reason + ")"
		}
		fmt.Fprintln(p.io.ErrOut, line)
	}
}

func sizeOrUnknown(n int64) string {
	if n <= 0 {
		return "?"
	}
	return bytesize.Short(n)
}

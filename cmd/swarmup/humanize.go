package main

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// formatAge prints a duration the way squeue prints TIME, but compact:
// 42s, 3m12s, 2h05m, 3d04h. Negative durations (clock skew) print as 0s.
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	b := make([]byte, 0, 8)
	two := func(b []byte, v int64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	switch {
	case s < 60:
		b = append(strconv.AppendInt(b, s, 10), 's')
	case s < 3600:
		b = append(two(append(strconv.AppendInt(b, s/60, 10), 'm'), s%60), 's')
	case s < 86400:
		b = append(two(append(strconv.AppendInt(b, s/3600, 10), 'h'), (s%3600)/60), 'm')
	default:
		b = append(two(append(strconv.AppendInt(b, s/86400, 10), 'd'), (s%86400)/3600), 'h')
	}
	return string(b)
}

// formatTime prints t as an age on a terminal and as RFC 3339 otherwise;
// the zero time prints as "-" on a terminal and as nothing otherwise.
func formatTime(c cellCtx, t time.Time) string {
	if t.IsZero() {
		return empty(c)
	}
	if c.tty {
		return formatAge(c.now.Sub(t))
	}
	return t.Format(time.RFC3339)
}

// formatPercent prints a 0..1 ratio as a percentage rounded down to 0.1, so
// 99.97 % never shows as 100.0 %.
func formatPercent(r float64) string {
	r = math.Max(0, math.Min(1, r))
	return strconv.FormatFloat(math.Floor(r*1000)/10, 'f', 1, 64) + "%"
}

const barWidth = 10

// bars[n] is a bar with n of barWidth cells filled.
var bars = func() [barWidth + 1]string {
	var b [barWidth + 1]string
	for n := range b {
		b[n] = "[" + strings.Repeat("#", n) + strings.Repeat("-", barWidth-n) + "]"
	}
	return b
}()

// progressBar draws a ratio as [####------].
func progressBar(r float64) string {
	r = math.Max(0, math.Min(1, r))
	return bars[int(math.Floor(r*barWidth))]
}

// formatProgress is the PROGRESS cell: a bar and a percentage on a
// terminal, the percentage alone otherwise.
func formatProgress(c cellCtx, r float64) string {
	if c.tty {
		return progressBar(r) + " " + formatPercent(r)
	}
	return formatPercent(r)
}

// empty is what an unknown value prints as.
func empty(c cellCtx) string {
	if c.tty {
		return "-"
	}
	return ""
}

package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// formatBytes prints n in IEC units: 512 B, 4.0 MiB, 499 MiB, 1.5 GiB.
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f %s", math.Floor(v*10)/10, units[u])
	}
	return fmt.Sprintf("%.0f %s", math.Floor(v), units[u])
}

// formatAge prints a duration the way squeue prints TIME, but compact:
// 42s, 3m12s, 2h05m, 3d04h. Negative durations (clock skew) print as 0s.
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, (s%86400)/3600)
	}
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
	return fmt.Sprintf("%.1f%%", math.Floor(r*1000)/10)
}

const barWidth = 10

// progressBar draws a ratio as [####------].
func progressBar(r float64) string {
	r = math.Max(0, math.Min(1, r))
	n := int(math.Floor(r * barWidth))
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", barWidth-n) + "]"
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

package planner

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is a daily time-of-day interval [Start, End) measured from local
// midnight; End <= Start means it wraps past midnight (22:00-06:00).
type Window struct {
	Start, End time.Duration
}

// String prints the window as HH:MM-HH:MM.
func (w Window) String() string {
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(w.Start) + "-" + f(w.End)
}

// Contains reports whether the wall-clock time of t (in t's location) is in w.
func (w Window) Contains(t time.Time) bool {
	tod := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	if w.Start < w.End {
		return tod >= w.Start && tod < w.End
	}
	return tod >= w.Start || tod < w.End
}

// ParseWindows parses the ActiveWindows key: comma-separated HH:MM-HH:MM
// intervals, e.g. "22:00-06:00,12:00-13:00". An empty string means none.
func ParseWindows(s string) ([]Window, error) {
	var out []Window
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, fmt.Errorf("ActiveWindows: %q is not an interval; write HH:MM-HH:MM[,HH:MM-HH:MM...], e.g. 22:00-06:00", part)
		}
		start, err := parseClock(a)
		if err != nil {
			return nil, fmt.Errorf("ActiveWindows: %q: %v", part, err)
		}
		end, err := parseClock(b)
		if err != nil {
			return nil, fmt.Errorf("ActiveWindows: %q: %v", part, err)
		}
		if start == end {
			return nil, fmt.Errorf("ActiveWindows: %q is empty; for all day write 00:00-23:59", part)
		}
		out = append(out, Window{Start: start, End: end})
	}
	return out, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(m) != 2 || len(h) == 0 || len(h) > 2 {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	if hh < 0 || hh > 23 {
		return 0, fmt.Errorf("hour %d out of range 0-23", hh)
	}
	if mm < 0 || mm > 59 {
		return 0, fmt.Errorf("minute %d out of range 0-59", mm)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// InWindows reports whether t is in any of ws.
func InWindows(ws []Window, t time.Time) bool {
	for _, w := range ws {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

// WindowStart returns when the window containing t began (so the caller can
// reset its per-window active byte counter), and false when t is in none.
func WindowStart(ws []Window, t time.Time) (time.Time, bool) {
	for _, w := range ws {
		if !w.Contains(t) {
			continue
		}
		mid := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
		st := mid.Add(w.Start)
		if st.After(t) { // wrapped window that began yesterday
			st = st.AddDate(0, 0, -1)
		}
		return st, true
	}
	return time.Time{}, false
}

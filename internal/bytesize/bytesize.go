// Package bytesize is the one place accel-data reads and prints sizes in
// bytes: every flag and configuration key that takes a size (CacheCapacity,
// ActiveBudget, MaxRequestBytes, jfs-dedup's --min-size and --memory-limit)
// parses with Parse, and every message, report and table prints with Format
// or Short. Units are binary: K, KB, KiB all mean 1024.
package bytesize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// units are the suffixes Parse accepts and Format prints, in order.
const units = "KMGTPE"

// Parse reads a size: a number of bytes (123), or a number, possibly with a
// fraction, followed by a unit K, M, G, T, P or E, optionally with B or iB
// and a space (1.5T, 500GiB, 64k, 7 GB). Every unit is a power of 1024. A
// negative, too large or non-numeric size is an error that shows what to
// write.
func Parse(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(u, "B")
	u = strings.TrimSuffix(u, "I")
	mul := 1.0
	if u != "" {
		if k := strings.IndexByte(units, u[len(u)-1]); k >= 0 {
			mul = math.Ldexp(1, 10*(k+1))
			u = u[:len(u)-1]
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("size %q: write a number of bytes or a number with a unit, e.g. 1048576, 64K, 500GiB, 1.5T", s)
	}
	b := f * mul
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large (at most 8 EiB)", s)
	}
	return int64(b), nil
}

// Format prints n with one decimal in binary units ("512 B", "1.5 MiB",
// "40.0 GiB"): for messages, logs and reports.
func Format(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, u := scale(n)
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u:u+1] + "iB"
}

// Short prints n compactly for table cells: one decimal, rounded down, below
// 10 of a unit, none above ("512 B", "4.0 MiB", "499 MiB", "1.5 GiB"). It
// never rounds up, so a dataset almost 1 GiB never shows as 1.0 GiB.
// (strconv rather than fmt: it runs for every cell of 10 000-row tables.)
func Short(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, u := scale(n)
	if v < 10 {
		return strconv.FormatFloat(math.Floor(v*10)/10, 'f', 1, 64) + " " + units[u:u+1] + "iB"
	}
	return strconv.FormatInt(int64(v), 10) + " " + units[u:u+1] + "iB"
}

// scale returns n in the largest unit it reaches (n >= 1024) and the unit's index.
func scale(n int64) (float64, int) {
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return v, u
}

// Value is a size flag (it implements pflag.Value and flag.Value): it parses
// with Parse and shows its default with Format.
type Value int64

func (b *Value) String() string { return Format(int64(*b)) }

// Type names the flag's value in --help.
func (b *Value) Type() string { return "bytes" }

// Set parses s with Parse.
func (b *Value) Set(s string) error {
	n, err := Parse(s)
	if err != nil {
		return err
	}
	*b = Value(n)
	return nil
}

// Positive is a size flag like Value that must be more than 0 bytes.
type Positive int64

func (b *Positive) String() string { return Format(int64(*b)) }

// Type names the flag's value in --help.
func (b *Positive) Type() string { return "bytes" }

// Set parses s with Parse and refuses 0.
func (b *Positive) Set(s string) error {
	n, err := Parse(s)
	if err == nil && n < 1 {
		err = fmt.Errorf("size %q: want more than 0 bytes, e.g. 1048576, 64K, 500GiB, 1.5T", s)
	}
	if err != nil {
		return err
	}
	*b = Positive(n)
	return nil
}

package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value for sizes such as 500GiB, 10T, 1.5TiB or 1048576.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"pib", 1 << 50}, {"tib", 1 << 40}, {"gib", 1 << 30}, {"mib", 1 << 20}, {"kib", 1 << 10},
	{"pb", 1e15}, {"tb", 1e12}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3},
	{"p", 1 << 50}, {"t", 1 << 40}, {"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}, {"b", 1},
}

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(s string) error {
	v := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return fmt.Errorf("%q is not a size; write e.g. 500GiB, 10TiB or a number of bytes", s)
	}
	*b = byteSize(f * mult)
	return nil
}

package main

import (
	"fmt"
	"math"
	"strings"
)

// iBytes formats like go-humanize's IBytes, which the real client uses.
func iBytes(s uint64) string {
	sizes := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if s < 10 {
		return fmt.Sprintf("%d B", s)
	}
	e := math.Floor(math.Log(float64(s)) / math.Log(1024))
	suffix := sizes[int(e)]
	val := math.Floor(float64(s)/math.Pow(1024, e)*10+0.5) / 10
	f := "%.0f %s"
	if val < 10 {
		f = "%.1f %s"
	}
	return fmt.Sprintf(f, val, suffix)
}

// formatBytes formats like the real client's utils.FormatBytes (info output).
func formatBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d Bytes", n)
	}
	units := []string{"K", "M", "G", "T", "P", "E"}
	m := n
	i := 0
	for ; i < len(units)-1 && m >= 1<<20; i++ {
		m >>= 10
	}
	return fmt.Sprintf("%.2f %siB (%d Bytes)", float64(m)/1024.0, units[i], n)
}

// printTable prints a table the way the real client's printResult does:
// centred headers, the leftAlign column left-aligned, others right-aligned.
func printTable(out *strings.Builder, rows [][]string, leftAlign int) {
	n := len(rows[0])
	w := make([]int, n)
	for _, r := range rows {
		for i := range n {
			w[i] = max(w[i], len(r[i]))
		}
	}
	var div strings.Builder
	for i := range n {
		div.WriteString("+" + strings.Repeat("-", w[i]+2))
	}
	div.WriteString("+\n")
	out.WriteString(div.String())
	for i, h := range rows[0] {
		pad := w[i] - len(h)
		left := (pad + 1) / 2
		out.WriteString("| " + strings.Repeat(" ", left) + h + strings.Repeat(" ", pad-left) + " ")
	}
	out.WriteString("|\n")
	out.WriteString(div.String())
	for _, r := range rows[1:] {
		for i, c := range r {
			sp := strings.Repeat(" ", w[i]-len(c))
			if i == leftAlign {
				out.WriteString("| " + c + sp + " ")
			} else {
				out.WriteString("| " + sp + c + " ")
			}
		}
		out.WriteString("|\n")
	}
	out.WriteString(div.String())
}

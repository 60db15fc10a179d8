// Package tableprinter renders rows of text fields the way squeue-like tools
// do: on a terminal, columns are aligned with two spaces between them and
// over-long fields are shortened to fit the terminal width; anywhere else
// (a pipe, a file) every row is one line of tab-separated fields, untouched,
// so that `cut -f` and `awk -F'\t'` work. Modelled on cli/cli's
// internal/tableprinter.
package tableprinter

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// Truncator shortens s to at most width runes.
type Truncator func(width int, s string) string

// FieldOption changes how one field is rendered.
type FieldOption func(*field)

// WithTruncate lets the printer shorten this field on a terminal when the
// row does not fit the width. Fields without it are never shortened.
func WithTruncate(t Truncator) FieldOption {
	return func(f *field) { f.trunc = t }
}

type field struct {
	text  string
	trunc Truncator
}

// Printer collects rows and writes them on Render.
type Printer struct {
	w        io.Writer
	isTTY    bool
	maxWidth int
	rows     [][]field
	cur      []field
}

// New returns a printer writing to w. isTTY selects aligned output;
// maxWidth (terminal columns, 0 for no limit) applies only when isTTY.
func New(w io.Writer, isTTY bool, maxWidth int) *Printer {
	return &Printer{w: w, isTTY: isTTY, maxWidth: maxWidth}
}

// IsTTY reports whether the printer aligns columns for a terminal.
func (p *Printer) IsTTY() bool { return p.isTTY }

// AddHeader adds a row of column titles. Headers are never shortened.
func (p *Printer) AddHeader(cols ...string) {
	row := make([]field, len(cols))
	for i, c := range cols {
		row[i] = field{text: sanitize(c)}
	}
	p.rows = append(p.rows, row)
}

// AddField appends a field to the current row.
func (p *Printer) AddField(s string, opts ...FieldOption) {
	f := field{text: sanitize(s)}
	for _, o := range opts {
		o(&f)
	}
	p.cur = append(p.cur, f)
}

// EndRow finishes the current row.
func (p *Printer) EndRow() {
	p.rows = append(p.rows, p.cur)
	p.cur = make([]field, 0, len(p.cur))
}

// Render writes every row and forgets them.
func (p *Printer) Render() error {
	if len(p.cur) > 0 {
		p.EndRow()
	}
	p.cur = nil
	bw := bufio.NewWriterSize(p.w, 64*1024)
	if p.isTTY {
		p.renderAligned(bw)
	} else {
		for _, row := range p.rows {
			for i, f := range row {
				if i > 0 {
					bw.WriteByte('\t')
				}
				bw.WriteString(f.text)
			}
			bw.WriteByte('\n')
		}
	}
	p.rows = nil
	return bw.Flush()
}

const gap = 2

func (p *Printer) renderAligned(bw *bufio.Writer) {
	ncol := 0
	for _, r := range p.rows {
		ncol = max(ncol, len(r))
	}
	widths := make([]int, ncol)
	truncatable := make([]bool, ncol)
	for _, r := range p.rows {
		for i, f := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(f.text))
			if f.trunc != nil {
				truncatable[i] = true
			}
		}
	}
	if p.maxWidth > 0 {
		fit(widths, truncatable, p.maxWidth, p.rows)
	}
	for _, r := range p.rows {
		pending := 0 // padding owed before the next non-empty field; never written at the end of a line
		for i, f := range r {
			text := f.text
			n := utf8.RuneCountInString(text)
			if n > widths[i] && f.trunc != nil {
				text = f.trunc(widths[i], text)
				n = utf8.RuneCountInString(text)
			}
			if text != "" {
				writeSpaces(bw, pending)
				bw.WriteString(text)
				pending = 0
			}
			pending += max(widths[i]-n, 0) + gap
		}
		bw.WriteByte('\n')
	}
}

const spaces = "                                                                "

func writeSpaces(bw *bufio.Writer, n int) {
	for n > len(spaces) {
		bw.WriteString(spaces)
		n -= len(spaces)
	}
	bw.WriteString(spaces[:n])
}

// minTrunc is the narrowest a shortened column gets; a table that still does
// not fit is allowed to wrap rather than become unreadable.
const minTrunc = 12

// fit narrows truncatable columns, widest first, until the row fits max.
// A column is never made narrower than its header.
func fit(widths []int, truncatable []bool, maxWidth int, rows [][]field) {
	total := 0
	for _, w := range widths {
		total += w
	}
	total += gap * max(len(widths)-1, 0)
	floor := make([]int, len(widths))
	for i := range widths {
		floor[i] = minTrunc
		if len(rows) > 0 && i < len(rows[0]) {
			floor[i] = max(floor[i], utf8.RuneCountInString(rows[0][i].text))
		}
	}
	for total > maxWidth {
		best := -1
		for i, w := range widths {
			if truncatable[i] && w > floor[i] && (best < 0 || w > widths[best]) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		widths[best]--
		total--
	}
}

// TruncateLeft keeps the end of s (the useful part of a long path):
// "/jfs/datasets/imagenet/train" at width 14 becomes "…imagenet/train".
func TruncateLeft(width int, s string) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width < 1 {
		return ""
	}
	return "…" + string(r[len(r)-width+1:])
}

// TruncateRight keeps the start of s: "cache is full" at width 8 becomes "cache i…".
func TruncateRight(width int, s string) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	if width < 1 {
		return ""
	}
	return string(r[:width-1]) + "…"
}

// sanitize keeps a field on one line and in one column.
func sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || c == '\n' || c == '\r' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

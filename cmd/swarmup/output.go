package main

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/accel-data/accel-data/internal/cmdutil"
	"github.com/accel-data/accel-data/internal/tableprinter"
)

// OutputOptions are the global output flags.
type OutputOptions struct {
	// JSON prints the API objects as indented JSON instead of a table.
	JSON bool
	// NoHeader drops the header line of tables.
	NoHeader bool
	// Format is the comma-separated list of fields to show; empty means the command's default.
	Format string
}

// cellCtx is what a cell needs besides its row.
type cellCtx struct {
	tty bool
	now time.Time
}

// column is one selectable field of a table of T.
type column[T any] struct {
	name   string // the --format name, lower case
	header string
	value  func(c cellCtx, v T) string
	trunc  tableprinter.Truncator
}

// selectColumns picks the columns named by format (comma- or space-separated,
// case-insensitive), or those named by defaults when format is empty. An
// unknown name is a usage error that lists the valid ones.
func selectColumns[T any](all []column[T], defaults []string, format string) ([]column[T], error) {
	names := defaults
	if strings.TrimSpace(format) != "" {
		names = strings.FieldsFunc(strings.ToLower(format), func(r rune) bool { return r == ',' || r == ' ' })
	}
	out := make([]column[T], 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(all, func(c column[T]) bool { return c.name == n })
		if i < 0 {
			valid := make([]string, len(all))
			for j, c := range all {
				valid[j] = c.name
			}
			return nil, cmdutil.UsageErrorf("unknown field %q in --format; valid fields: %s", n, strings.Join(valid, ","))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// renderTable prints rows with cols on io.Out: aligned on a terminal,
// tab-separated otherwise.
func renderTable[T any](ios *IOStreams, out OutputOptions, now time.Time, cols []column[T], rows []T) error {
	tp := tableprinter.New(ios.Out, ios.IsTTY, ios.Width)
	if !out.NoHeader {
		h := make([]string, len(cols))
		for i, c := range cols {
			h[i] = c.header
		}
		tp.AddHeader(h...)
	}
	ctx := cellCtx{tty: ios.IsTTY, now: now}
	for _, r := range rows {
		for _, c := range cols {
			if c.trunc != nil {
				tp.AddField(c.value(ctx, r), tableprinter.WithTruncate(c.trunc))
			} else {
				tp.AddField(c.value(ctx, r))
			}
		}
		tp.EndRow()
	}
	return tp.Render()
}

// checkOutputFlags rejects flag combinations that cannot both be honoured.
func checkOutputFlags(out OutputOptions) error {
	if out.JSON && out.Format != "" {
		return cmdutil.UsageErrorf("--json and --format cannot be combined: --json prints whole API objects (filter them with jq)")
	}
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// fieldsHelp lists a table's fields for a command's long help.
func fieldsHelp[T any](all []column[T], defaults []string) string {
	names := make([]string, len(all))
	for i, c := range all {
		names[i] = c.name
	}
	return "\n\nFields for --format: " + strings.Join(names, ",") +
		"\nDefault: " + strings.Join(defaults, ",")
}

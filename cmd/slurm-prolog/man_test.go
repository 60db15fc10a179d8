package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/mangen"
)

// TestManPage: man/slurm-prolog.8 is what the flags' definitions produce
// (`make man` rewrites it).
func TestManPage(t *testing.T) {
	var o options
	full := helpText("")
	_, long, _ := strings.Cut(full, "\n\n")     // the first line is the page's NAME
	long = strings.TrimSuffix(long, "Flags:\n") // OPTIONS lists them
	pages, err := mangen.FlagSet(newFlags(&o), "8", "accel-data's Slurm Prolog and Epilog (one binary)", long)
	require.NoError(t, err)
	require.NoError(t, mangen.Sync("../../man", pages))
}

// TestFlagsDocumented: every flag has a usage text (it is the man page).
func TestFlagsDocumented(t *testing.T) {
	var o options
	require.Empty(t, mangen.UndocumentedFlags(newFlags(&o)), "these slurm-prolog flags have no usage text")
}

package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/mangen"
)

// TestManPage: man/accel-agent.8 is what the flags' definitions produce
// (`make man` rewrites it).
func TestManPage(t *testing.T) {
	var f flags
	_, long, _ := strings.Cut(helpText(""), "\n\n") // the first line is the page's NAME
	long = strings.NewReplacer("Usage: accel-agent [flags]\n\n", "", "Flags:\n", "").Replace(long)
	pages, err := mangen.FlagSet(newFlags(&f), "8", "what Slurm jobs read from JuiceFS on this node", long)
	require.NoError(t, err)
	require.NoError(t, mangen.Sync("../../man", pages))
}

// TestFlagsDocumented: every flag has a usage text (it is the man page).
func TestFlagsDocumented(t *testing.T) {
	var f flags
	require.Empty(t, mangen.UndocumentedFlags(newFlags(&f)), "these accel-agent flags have no usage text")
}

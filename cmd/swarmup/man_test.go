package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/mangen"
)

// TestManPage: man/swarmup.1 and its subcommands' pages are what the commands'
// definitions produce (`make man` rewrites them).
func TestManPage(t *testing.T) {
	pages, err := mangen.Cobra(NewCmdRoot(&Factory{}), "1")
	require.NoError(t, err)
	require.NoError(t, mangen.Sync("../../man", pages))
}

// TestFlagsDocumented: every flag of every command has a usage text.
func TestFlagsDocumented(t *testing.T) {
	require.Empty(t, mangen.Undocumented(NewCmdRoot(&Factory{})), "these swarmup flags have no usage text")
}

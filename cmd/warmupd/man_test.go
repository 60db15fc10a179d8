package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/mangen"
	"github.com/accel-data/accel-data/pkg/config"
)

// TestManPage: man/warmupd.8 is what the flags' definitions produce
// (`make man` rewrites it).
func TestManPage(t *testing.T) {
	t.Setenv(config.PathEnv, "") // the page shows the rule, not this environment
	var o options
	fs, _, _ := newFlags(&o)
	full := helpText("")
	_, long, _ := strings.Cut(full, "\n\n") // the first line is the page's NAME
	// SYNOPSIS and OPTIONS say these
	long = strings.NewReplacer("Usage: warmupd [flags]\n\n", "", "Flags:\n\n", "").Replace(long)
	pages, err := mangen.FlagSet(fs, "8", "accel-data's warm-up daemon", long)
	require.NoError(t, err)
	require.NoError(t, mangen.Sync("../../man", pages))
}

// TestFlagsDocumented: every flag has a usage text (it is the man page).
func TestFlagsDocumented(t *testing.T) {
	var o options
	fs, _, _ := newFlags(&o)
	require.Empty(t, mangen.UndocumentedFlags(fs), "these warmupd flags have no usage text")
}

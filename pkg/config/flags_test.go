package config_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/testutil"
	"github.com/accel-data/accel-data/pkg/config"
)

var flagLine = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)

// flagsOf runs a built tool with args and returns the long flags its help
// lists (in the section starting at from, when given).
func flagsOf(t *testing.T, pkg, from string, args ...string) []string {
	t.Helper()
	code, stdout, stderr := testutil.Run(t, nil, testutil.Binary(t, pkg), args...)
	help := stdout + stderr
	require.Zero(t, code, "%s %v: %s", pkg, args, help)
	if from != "" {
		i := strings.Index(help, from)
		require.GreaterOrEqual(t, i, 0, "%s %v has no %q section:\n%s", pkg, args, from, help)
		help = help[i:]
	}
	var flags []string
	for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
		flags = append(flags, m[1])
	}
	require.NotEmpty(t, flags, "%s %v lists no flags:\n%s", pkg, args, help)
	return flags
}

// Every flag of warmupd, slurm-prolog, accel-agent and swarmup (its global flags but the
// output ones) is a key of the file, and every key is a flag of at least one
// of them: the file and the command lines cannot drift apart. The flags are
// read from the real binaries' --help, i.e. from their flag definitions.
func TestEveryFlagIsAKeyAndEveryKeyAFlag(t *testing.T) {
	tools := map[string][]string{
		"warmupd":      flagsOf(t, "cmd/warmupd", "", "--help"),
		"slurm-prolog": flagsOf(t, "cmd/slurm-prolog", "", "--help"),
		"accel-agent":  flagsOf(t, "cmd/accel-agent", "", "--help"),
		// `cache` has no flags of its own: its Global Flags are swarmup's
		"swarmup": flagsOf(t, "cmd/swarmup", "Global Flags:", "cache", "--help"),
	}
	// swarmup's outputFlags choose how one command prints; never keys.
	notKeys := map[string][]string{"swarmup": {"json", "noheader", "format"}}
	seen := map[string]bool{}
	for tool, flags := range tools {
		require.Contains(t, flags, "socket", "%s's help was parsed", tool)
		for _, f := range flags {
			if slices.Contains(config.NotKeys, f) || slices.Contains(notKeys[tool], f) {
				continue
			}
			require.True(t, config.IsKey(f), "%s --%s is not a key of pkg/config.Keys: add it there (and to the docs)", tool, f)
			seen[config.Normalize(f)] = true
		}
	}
	for _, k := range config.Keys {
		require.True(t, seen[config.Normalize(k)], "key %s of pkg/config.Keys is a flag of no tool: remove it, or give a tool the flag --%s", k, k)
	}
	require.Len(t, seen, len(config.Keys), "every key once")
}

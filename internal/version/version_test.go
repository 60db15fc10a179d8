package version

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	require.Equal(t, "devel", fromBuildInfo(nil, false))
	require.Equal(t, "0123456789ab", fromBuildInfo(vcs("0123456789abcdef0123456789abcdef01234567", "false"), true))
	require.Equal(t, "0123456789ab-dirty", fromBuildInfo(vcs("0123456789abcdef0123456789abcdef01234567", "true"), true))
	require.Equal(t, "devel", fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true))
	require.Equal(t, "v1.2.3", fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, true))
}

func TestStampedVersionWins(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "v9.9.9-3-gabcdef0-dirty"
	require.Equal(t, "v9.9.9-3-gabcdef0-dirty", String())
	require.Regexp(t, `^warmupd v9\.9\.9-3-gabcdef0-dirty \(go[0-9.]+\S*\)$`, Line("warmupd"))
}

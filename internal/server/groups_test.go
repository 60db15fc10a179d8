package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A TCP caller's groups are resolved once per groupTTL, then again, so a
// change in NSS reaches warmupd within a minute.
func TestGroupCacheReResolvesAfterTTL(t *testing.T) {
	now := t0
	calls := 0
	gids := []uint32{100}
	g := newGroupCache(func(uid, gid uint32) []uint32 { calls++; return append([]uint32{gid}, gids...) }, func() time.Time { return now })
	require.Equal(t, []uint32{7, 100}, g.get(4242, 7))
	gids = []uint32{100, 200}
	now = now.Add(groupTTL - time.Second)
	require.Equal(t, []uint32{7, 100}, g.get(4242, 7), "cached")
	require.Equal(t, 1, calls)
	require.Equal(t, []uint32{8, 100, 200}, g.get(4242, 8), "another gid is another entry")
	now = now.Add(2 * time.Second)
	require.Equal(t, []uint32{7, 100, 200}, g.get(4242, 7), "resolved again after the TTL")
	require.Equal(t, 3, calls)
}

// NSS groups start with the credential's gid; an unknown uid keeps only it.
func TestNSSGroups(t *testing.T) {
	require.Equal(t, uint32(0), NSSGroups(0, 0)[0])
	require.Equal(t, []uint32{4321}, NSSGroups(3999999, 4321))
}

// The rules of the route table: RootOrSlurmd and ShardRunner restrict the
// caller; only ShardRunner lets WarmupUser in.
func TestRuleAllows(t *testing.T) {
	slurmd, runner := Caller{UID: 64030}, Caller{UID: 5000}
	tr := Trusted{Slurmd: 64030, Runner: 5000}
	require.True(t, Anyone.Allows(user, tr))
	require.True(t, RootOrSlurmd.Allows(root, tr))
	require.True(t, RootOrSlurmd.Allows(slurmd, tr))
	require.False(t, RootOrSlurmd.Allows(user, tr))
	require.False(t, RootOrSlurmd.Allows(runner, tr), "WarmupUser may not report jobs")
	require.False(t, RootOrSlurmd.Allows(slurmd, Trusted{}), "SlurmdUser root: only root")
	require.True(t, ShardRunner.Allows(runner, tr), "WarmupUser reports its shards")
	require.True(t, ShardRunner.Allows(slurmd, tr))
	require.True(t, ShardRunner.Allows(root, Trusted{}))
	require.False(t, ShardRunner.Allows(user, tr))
	require.False(t, ShardRunner.Allows(runner, Trusted{Slurmd: 64030}), "no WarmupUser: only root and SlurmdUser")
}

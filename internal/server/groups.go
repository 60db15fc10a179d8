package server

import (
	osuser "os/user"
	"strconv"
	"sync"
	"time"
)

// groupTTL is how long a TCP caller's resolved groups are reused: a group
// change reaches warmupd within a minute, and a burst of requests costs one
// NSS lookup.
const groupTTL = time.Minute

// NSSGroups resolves uid's groups through NSS on this host (getgrouplist
// through os/user with cgo), gid first. A uid unknown here keeps only gid.
func NSSGroups(uid, gid uint32) []uint32 {
	out := []uint32{gid}
	u, err := osuser.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return out
	}
	ids, err := u.GroupIds()
	if err != nil {
		return out
	}
	for _, s := range ids {
		if g, err := strconv.ParseUint(s, 10, 32); err == nil && uint32(g) != gid {
			out = append(out, uint32(g))
		}
	}
	return out
}

// groupCache remembers resolved groups per (uid, gid) for groupTTL.
type groupCache struct {
	resolve func(uid, gid uint32) []uint32
	now     func() time.Time
	mu      sync.Mutex
	m       map[[2]uint32]groupEntry
}

type groupEntry struct {
	gids []uint32
	at   time.Time
}

func newGroupCache(resolve func(uid, gid uint32) []uint32, now func() time.Time) *groupCache {
	return &groupCache{resolve: resolve, now: now, m: map[[2]uint32]groupEntry{}}
}

func (g *groupCache) get(uid, gid uint32) []uint32 {
	k := [2]uint32{uid, gid}
	now := g.now()
	g.mu.Lock()
	e, ok := g.m[k]
	g.mu.Unlock()
	if ok && now.Sub(e.at) < groupTTL && !now.Before(e.at) {
		return e.gids
	}
	gids := g.resolve(uid, gid)
	g.mu.Lock()
	if len(g.m) > 10000 {
		clear(g.m)
	}
	g.m[k] = groupEntry{gids, now}
	g.mu.Unlock()
	return gids
}

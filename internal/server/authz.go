package server

import (
	"fmt"
	"net/http"
)

// Rule is who may call a route; the route table (handlers.go routes) gives
// each route one, and the same rule holds over the unix socket and TCP.
// Allows is the one place a rule is decided (authorize applies it); what a
// caller may do to records that are not theirs (cancel) is the store's
// decision (pkg/queue Withdraw), not a rule's.
type Rule int

const (
	// Anyone who got through the door: any local user on the unix socket,
	// any holder of a valid MUNGE credential over TCP.
	Anyone Rule = iota
	// RootOrSlurmd: root or Config.SlurmdUID (job start and end, reported
	// by slurm-prolog/epilog that slurmd runs; accel-agent's reports).
	RootOrSlurmd
	// ShardRunner: root, Config.SlurmdUID or Config.RunnerUID (the user
	// warmupd's warm-up job arrays run as, WarmupUser): the reports of
	// warm-up shards (Config.ExtraSlurmd).
	ShardRunner
)

// Trusted are the users a restricted rule lets in besides root.
type Trusted struct {
	Slurmd uint32 // SlurmdUser (0: root only)
	Runner uint32 // WarmupUser (0: root only)
}

// route is one entry of the route table.
type route struct {
	rule Rule
	h    http.HandlerFunc
}

// Allows tells whether caller c may call a route with this rule.
func (r Rule) Allows(c Caller, t Trusted) bool {
	switch r {
	case RootOrSlurmd:
		return c.Root() || c.UID == t.Slurmd
	case ShardRunner:
		return c.Root() || c.UID == t.Slurmd || (t.Runner != 0 && c.UID == t.Runner)
	default:
		return true
	}
}

// authorize applies the route's rule before its handler.
func (s *Server) authorize(rt route) http.HandlerFunc {
	if rt.rule == Anyone {
		return rt.h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.caller(w, r)
		if !ok {
			return
		}
		if !rt.rule.Allows(c, Trusted{Slurmd: s.cfg.SlurmdUID, Runner: s.cfg.RunnerUID}) {
			who := "root (slurm-prolog run by slurmd)"
			if s.cfg.SlurmdUID != 0 {
				who = fmt.Sprintf("root or SlurmdUser (uid %d)", s.cfg.SlurmdUID)
			}
			if rt.rule == ShardRunner && s.cfg.RunnerUID != 0 {
				who += fmt.Sprintf(" (warm-up shards: also WarmupUser, uid %d)", s.cfg.RunnerUID)
			}
			WriteError(w, http.StatusForbidden, fmt.Sprintf("only %s may report job start and end, node access or warm-up shards; you are uid %d", who, c.UID), "")
			return
		}
		rt.h(w, r)
	}
}

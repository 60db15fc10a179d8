package accesslog

// Gaps counts the lines a reader of `.accesslog` provably missed.
//
// JuiceFS hands out file handles in increasing order and logs the handle of
// every open and create ("[fh:N]"), and the handle of every read,
// write, flush and release. A handle used by a read, write, flush or release
// that is above the first handle this reader saw opened, but whose open was
// never seen, means the open line was dropped. Each such handle counts once.
// Lines dropped in a run that contains no open, or whose handle never shows
// again, leave no trace: Missed is a lower bound, never an exact count.
type Gaps struct {
	// Max bounds the handles remembered (default 1 << 16). When full, the
	// tracker forgets them all and treats later handles as new: no false
	// drops, only fewer detected ones.
	Max int

	first  uint64 // lowest handle seen opened; 0 before the first open
	high   uint64 // highest handle seen opened
	open   map[uint64]struct{}
	missed map[uint64]struct{} // handles already counted
	// Missed is the number of opens proven dropped.
	Missed int64
}

// Observe feeds one parsed line.
func (g *Gaps) Observe(e *Entry) {
	switch e.Op {
	case OpOpen, OpCreate: // opendir handles are released by inode (releasedir), so they are not tracked
		if e.Fh == 0 {
			return
		}
		g.init()
		if len(g.open) >= g.max() {
			g.open = map[uint64]struct{}{}
			g.missed = map[uint64]struct{}{}
			g.first = g.high
		}
		if g.first == 0 {
			g.first = e.Fh
		}
		if e.Fh > g.high {
			g.high = e.Fh
		}
		g.open[e.Fh] = struct{}{}
	case OpRead, OpWrite, OpFlush, OpRelease:
		if e.Fh == 0 || g.first == 0 || e.Fh <= g.first {
			return
		}
		if _, ok := g.open[e.Fh]; ok {
			if e.Op == OpRelease {
				delete(g.open, e.Fh)
			}
			return
		}
		if _, ok := g.missed[e.Fh]; ok {
			if e.Op == OpRelease {
				delete(g.missed, e.Fh)
			}
			return
		}
		g.Missed++
		if e.Op != OpRelease {
			g.missed[e.Fh] = struct{}{}
		}
	}
}

func (g *Gaps) init() {
	if g.open == nil {
		g.open = map[uint64]struct{}{}
		g.missed = map[uint64]struct{}{}
	}
}

func (g *Gaps) max() int {
	if g.Max > 0 {
		return g.Max
	}
	return 1 << 16
}

package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// DefaultMinDepth refuses a user's request for a whole volume: /jfs is
// refused, /jfs/ds is fine.
const DefaultMinDepth = 1

// checkDepth refuses, for a caller other than root, a path fewer than
// MinDepth levels below the JuiceFS mount that holds it (the mount root is
// depth 0). p is the path as given, real its resolved form.
func (pp *PathPolicy) checkDepth(p, real string, c Caller) error {
	if c.Root() || pp.MinDepth <= 0 {
		return nil
	}
	mount, depth := pp.depthBelowMount(real)
	if mount == "" || depth >= pp.MinDepth {
		return nil
	}
	what := "is the JuiceFS mount root"
	if depth > 0 {
		what = fmt.Sprintf("is only %d level(s) below the JuiceFS mount %s", depth, mount)
	}
	return &PathError{Path: p, Status: http.StatusForbidden, Reason: fmt.Sprintf(
		"%s; users may warm only paths at least %d level(s) below a mount (MinDepth=%d): name the dataset directory itself, or ask an admin (root)",
		what, pp.MinDepth, pp.MinDepth)}
}

// depthBelowMount returns the deepest mount holding p and how many path
// components p lies below it ("", 0 when no mount holds it).
func (pp *PathPolicy) depthBelowMount(p string) (string, int) {
	best := pp.mountOf(p)
	if best == "" {
		return "", 0
	}
	rest := strings.Trim(strings.TrimPrefix(p, best), "/")
	if rest == "" {
		return best, 0
	}
	return best, strings.Count(rest, "/") + 1
}

// checkSize refuses, for a caller other than root, a request naming a
// dataset whose size, known from an earlier check, is above MaxRequestBytes
// and that the request would make warmupd fetch. A size not known yet is
// measured before the warm-up starts, and the cache manager ends the task
// with the same reason (see cachemgr). It answers and returns false when it
// refuses.
func (s *Server) checkSize(ctx context.Context, w http.ResponseWriter, paths []string, c Caller, src api.Source) bool {
	limit := s.cfg.Paths.MaxRequestBytes
	if c.Root() || src == api.SourceActive || limit <= 0 {
		return true
	}
	p, bytes, err := s.cfg.Store.OversizeOf(ctx, paths, limit)
	if err != nil {
		s.storeError(w, err)
		return false
	}
	if p != "" {
		writePathError(w, &PathError{Path: p, Status: http.StatusForbidden, Reason: queue.OversizeReason(bytes, limit)}, p)
		return false
	}
	return true
}

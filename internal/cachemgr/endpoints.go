package cachemgr

import (
	"net/http"

	"golang.org/x/sys/unix"

	"github.com/accel-data/accel-data/internal/server"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/planner"
)

// Routes are the manager's endpoints, for server.Config.Extra.
func (m *Manager) Routes() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /v1/priority": m.priority,
		"GET /v1/cache":    m.cache,
	}
}

func (m *Manager) priority(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	d, at := m.last, m.lastAt
	wts := m.cfg.Planner.Weights
	m.mu.Unlock()
	reasons := map[int64]string{}
	for _, x := range d.Waits {
		reasons[x.ID] = x.Reason
	}
	out := api.PriorityResponse{PlannedAt: at, Entries: make([]api.PriorityEntry, 0, len(d.Priorities)), Weights: wts.ByFactor()}
	for _, p := range d.Priorities {
		e := api.PriorityEntry{TaskID: p.ID, Dataset: p.Path, State: api.TaskQueued, Priority: p.Priority.Total, Reason: reasons[p.ID]}
		for _, f := range p.Priority.Factors {
			e.Factors = append(e.Factors, api.PriorityFactor{Name: f.Name, Value: f.Value, Weight: f.Weight, Contribution: f.Contribution})
		}
		out.Entries = append(out.Entries, e)
	}
	server.WriteJSON(w, http.StatusOK, out)
}

func (m *Manager) cache(w http.ResponseWriter, r *http.Request) {
	ds, err := m.store.Datasets(r.Context())
	if err != nil {
		server.WriteError(w, http.StatusInternalServerError, "database error: "+err.Error(), "")
		return
	}
	out := api.CacheResponse{CacheDir: m.cfg.CacheDir, CapacityBytes: m.cfg.CapacityBytes, Datasets: ds}
	for _, d := range ds {
		out.UsedBytes += d.CachedBytes
	}
	if m.cfg.CacheDir != "" {
		var st unix.Statfs_t
		if unix.Statfs(m.cfg.CacheDir, &st) == nil {
			out.FSTotalBytes = int64(st.Blocks) * int64(st.Bsize)
			out.FSFreeBytes = int64(st.Bavail) * int64(st.Bsize)
		}
	}
	now := m.now()
	var ws []string
	for _, x := range m.cfg.Planner.ActiveWindows {
		ws = append(ws, x.String())
	}
	out.ActiveWindows = ws
	out.InActiveWindow = planner.InWindows(m.cfg.Planner.ActiveWindows, now)
	m.mu.Lock()
	out.ActiveReason = m.last.ActiveReason
	out.Evictions = append([]api.CacheEviction(nil), m.evictions...)
	m.mu.Unlock()
	if out.ActiveReason == "" && len(ws) == 0 {
		out.ActiveReason = "no ActiveWindows configured"
	}
	server.WriteJSON(w, http.StatusOK, out)
}

package server

import (
	"context"
	"slices"
	"time"

	"github.com/accel-data/accel-data/internal/jobprogress"
	"github.com/accel-data/accel-data/pkg/api"
)

// waitsOf groups the jobs of a squeue snapshot (job id -> Slurm reason)
// that pick selects into one api.SlurmWait per stage, in WaitStages order.
func waitsOf(jobs map[uint64]string, at time.Time, pick func(id uint64) bool) []api.SlurmWait {
	var out []api.SlurmWait
	for _, ws := range jobprogress.WaitStages {
		w := api.SlurmWait{Stage: ws.Stage, Reason: ws.Reason, SeenAt: at}
		for id, reason := range jobs {
			if reason == ws.Reason && pick(id) {
				w.JobIDs = append(w.JobIDs, id)
			}
		}
		if len(w.JobIDs) > 0 {
			slices.Sort(w.JobIDs)
			out = append(out, w)
		}
	}
	return out
}

// jobWaiting sets st.Waiting when the last squeue poll listed the job as
// waiting for its data.
func (s *Server) jobWaiting(st *api.JobStatus) {
	if s.cfg.Waits == nil {
		return
	}
	jobs, at := s.cfg.Waits()
	if ws := waitsOf(jobs, at, func(id uint64) bool { return id == st.JobID }); len(ws) > 0 {
		st.Waiting = &ws[0]
	}
}

// entriesWaiting sets the Waiting of each entry from the last squeue poll:
// the waiting jobs that need the entry's dataset. A waiting job warmupd does
// not know (not an accel-data job) is left out.
func (s *Server) entriesWaiting(ctx context.Context, es []api.QueueEntry) {
	if s.cfg.Waits == nil || len(es) == 0 {
		return
	}
	jobs, at := s.cfg.Waits()
	ids := make([]uint64, 0, len(jobs))
	for id := range jobs {
		ids = append(ids, id)
	}
	datasets, err := s.cfg.Store.JobsDatasets(ctx, ids) // one query for every waiting job
	if err != nil {
		return
	}
	needs := map[string]map[uint64]bool{} // dataset -> waiting jobs needing it
	for id, ds := range datasets {
		for _, d := range ds {
			if needs[d] == nil {
				needs[d] = map[uint64]bool{}
			}
			needs[d][id] = true
		}
	}
	for i := range es {
		if n := needs[es[i].Dataset]; n != nil {
			es[i].Waiting = waitsOf(jobs, at, func(id uint64) bool { return n[id] })
		}
	}
}

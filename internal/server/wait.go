package server

import (
	"net/http"
	"time"

	"github.com/accel-data/accel-data/internal/notify"
	"github.com/accel-data/accel-data/pkg/api"
)

// jobWait is the long poll of a job's readiness: GET
// /v1/jobs/{id}/wait?timeout=D answers, like GET /v1/jobs/{id}, as soon as
// the job is ready, one of its datasets changed state or measured a new
// warm-up speed (the prolog then decides whether waiting still pays), the
// job ended, or D passed (at most api.MaxJobWait). While it waits it costs an
// open connection and a notify.Hub subscription, no store reads: it is woken
// by the parts of warmupd that change a dataset (Config.Changes). Readiness
// is decided as for GET /v1/jobs/{id}, by the Verifier.
func (s *Server) jobWait(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	timeout := api.MaxJobWait
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			WriteError(w, http.StatusBadRequest, "timeout must be a duration such as 30s or 5m", "")
			return
		}
		timeout = min(d, api.MaxJobWait)
	}
	// The answer may come long after the request: lift the server's write
	// deadline for this one (a writer that cannot is answered within it).
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout + 10*time.Second)); err != nil {
		timeout = min(timeout, cappedWait)
	}
	// Say how long this answer may be held (the client asks again after it).
	w.Header().Set(WaitBoundHeader, timeout.String())
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	over := timeout <= 0 // answer with the next read

	var sub *notify.Sub
	defer func() {
		if sub != nil {
			s.cfg.Changes.Cancel(sub)
		}
	}()
	var first *api.JobStatus
	for {
		st, err := s.cfg.Store.JobStatus(r.Context(), id)
		if err == nil {
			st, err = s.verified(r, id, st)
		}
		if err != nil {
			s.storeError(w, err)
			return
		}
		st = s.withRates(st)
		if first == nil {
			first = st
		}
		if over || st.Ready || st.State != api.JobStarted && st.State != api.JobSubmitted || changedSince(first, st) {
			s.cfg.Metrics.JobAnswered(id, st)
			WriteJSON(w, http.StatusOK, st)
			return
		}
		if sub == nil {
			// Subscribe, then read once more: a change between the first
			// read and the subscription is not lost.
			sub = s.cfg.Changes.Subscribe(waitKeys(id, st)...)
			continue
		}
		select {
		case <-sub.C:
		case <-timer.C:
			over = true
		case <-s.stopping:
			over = true
		case <-r.Context().Done():
			return // the prolog gave up or the connection broke
		}
	}
}

// WaitBoundHeader says how long warmupd held (at most) a long poll's answer.
const WaitBoundHeader = "Accel-Wait-Bound"

// cappedWait bounds a long poll whose writer cannot lift the server's
// WriteTimeout (60 s).
const cappedWait = 45 * time.Second

// waitKeys are the notify keys a long poll of job id with status st waits on.
func waitKeys(id uint64, st *api.JobStatus) []string {
	keys := []string{notify.JobKey(id)}
	for _, d := range st.Datasets {
		keys = append(keys, d.Path)
		if d.Dataset != "" && d.Dataset != d.Path {
			keys = append(keys, d.Dataset)
		}
	}
	return keys
}

// changedSince reports whether a dataset of the job changed state or warm-up
// speed (what the prolog's decisions rest on) between two answers.
func changedSince(a, b *api.JobStatus) bool {
	if len(a.Datasets) != len(b.Datasets) {
		return true
	}
	for i := range a.Datasets {
		x, y := a.Datasets[i], b.Datasets[i]
		if x.Path != y.Path || x.State != y.State || x.WarmRateBps != y.WarmRateBps {
			return true
		}
	}
	return false
}

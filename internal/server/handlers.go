package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/accel-data/accel-data/internal/notify"
	"github.com/accel-data/accel-data/internal/version"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// routes is the one table of endpoints (tailscale localapi style) and of
// who may call them (authz.go), for both doors.
func (s *Server) routes() map[string]route {
	return map[string]route{
		"GET /v1/health":           {Anyone, s.health},
		"POST /v1/requests":        {Anyone, s.submit},
		"POST /v1/jobs/{id}/start": {RootOrSlurmd, s.jobStart},
		"POST /v1/jobs/{id}/end":   {RootOrSlurmd, s.jobEnd},
		"GET /v1/jobs/{id}":        {Anyone, s.jobStatus},
		"GET /v1/jobs/{id}/wait":   {Anyone, s.jobWait},
		"GET /v1/queue":            {Anyone, s.queue},
		"GET /v1/datasets":         {Anyone, s.datasets},
		"POST /v1/cancel":          {Anyone, s.cancel}, // the store withdraws only the caller's own requests (root: anyone's)
		"POST /v1/access":          {RootOrSlurmd, s.accessReport},
		"GET /v1/jobs/{id}/io":     {Anyone, s.jobIO},
		"GET /v1/access/mounts":    {Anyone, s.nodeMounts},
	}
}

func (s *Server) caller(w http.ResponseWriter, r *http.Request) (Caller, bool) {
	c, ok := callerFrom(r.Context())
	if !ok {
		WriteError(w, http.StatusForbidden, "cannot identify the caller (SO_PEERCRED failed); connect over warmupd's unix socket", "")
	}
	return c, ok
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.Damaged(); err != nil {
		WriteError(w, http.StatusServiceUnavailable, "database: "+err.Error(), "")
		return
	}
	counts, err := s.cfg.Store.Counts(r.Context())
	if err != nil {
		WriteError(w, http.StatusServiceUnavailable, "database: "+err.Error(), "")
		return
	}
	h := api.Health{OK: true, Version: version.String(), Queued: counts[api.TaskQueued], Warming: counts[api.TaskWarming]}
	if s.cfg.Health != nil {
		x, err := s.cfg.Health(r.Context())
		if err != nil {
			WriteError(w, http.StatusServiceUnavailable, err.Error(), "")
			return
		}
		h.Workers, h.JuiceFS, h.Database = x.Workers, x.JuiceFS, x.Database
	}
	WriteJSON(w, http.StatusOK, h)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.caller(w, r)
	if !ok {
		return
	}
	var req api.SubmitRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Source == "" {
		req.Source = api.SourceManual
	}
	if !req.Source.Valid() {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("unknown source %q (want submit, prolog, manual or active)", req.Source), "")
		return
	}
	if req.Source == api.SourceActive && !c.Root() {
		WriteError(w, http.StatusForbidden, "source active is the daemon's own policy", "")
		return
	}
	if len(req.Token) > 128 {
		WriteError(w, http.StatusBadRequest, "token longer than 128 bytes", "")
		return
	}
	uid, gid := c.UID, c.GID
	if req.UID != nil {
		if !c.Root() {
			WriteError(w, http.StatusForbidden, "only root may submit on behalf of another uid", "")
			return
		}
		if req.Source == api.SourceActive && *req.UID != 0 {
			WriteError(w, http.StatusBadRequest, "source active is the daemon's own policy and belongs to uid 0; drop uid or the source", "")
			return
		}
		uid = *req.UID
	}
	paths, ok := s.resolve(w, req.Paths, c)
	if !ok || !s.checkSize(r.Context(), w, paths, c, req.Source) {
		return
	}
	resp, err := s.cfg.Store.Submit(r.Context(), queue.SubmitParams{
		Paths: paths, UID: uid, GID: gid, Token: req.Token, JobID: req.JobID, Source: req.Source, Now: s.cfg.Now(),
	})
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.cfg.Log.Info().Uint32("uid", uid).Str("source", string(req.Source)).Strs("paths", paths).
		Uint64("job", req.JobID).Msg("warm-up requested")
	s.cfg.Kick()
	if s.cfg.Verify != nil {
		if err := s.cfg.Verify.Items(r.Context(), resp.Items, req.Source); err != nil {
			s.storeError(w, err)
			return
		}
	}
	WriteJSON(w, http.StatusOK, resp)
}

// resolve validates a path list as one unit: all paths are good or the
// request fails naming the first bad one.
func (s *Server) resolve(w http.ResponseWriter, in []string, c Caller) ([]string, bool) {
	if len(in) == 0 {
		WriteError(w, http.StatusBadRequest, "no paths given; name at least one dataset directory or file", "")
		return nil, false
	}
	if max := s.cfg.Paths.MaxPaths; max > 0 && len(in) > max {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("%d paths given, at most %d allowed per request (MaxPaths); name the common parent directory instead", len(in), max), "")
		return nil, false
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, p := range in {
		rp, err := s.cfg.Paths.Resolve(p, c)
		if err != nil {
			writePathError(w, err, p)
			return nil, false
		}
		if !seen[rp] {
			seen[rp] = true
			out = append(out, rp)
		}
	}
	return out, true
}

func jobID(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		WriteError(w, http.StatusBadRequest, fmt.Sprintf("bad job id %q: want a positive Slurm job id", r.PathValue("id")), "")
		return 0, false
	}
	return id, true
}

func (s *Server) jobStart(w http.ResponseWriter, r *http.Request) {
	began := s.cfg.Now()
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var req api.JobStartRequest
	if !s.decode(w, r, &req) {
		return
	}
	var paths []string
	if len(req.Paths) > 0 {
		// root: syntax, mount and existence are checked; the plugin checked
		// the user's access at submission.
		if paths, ok = s.resolve(w, req.Paths, Caller{UID: 0}); !ok {
			return
		}
		// The job's user is held to MinDepth as at submission (a job whose
		// sbatch could not reach warmupd names its paths only here).
		for _, p := range paths {
			if err := s.cfg.Paths.checkDepth(p, p, Caller{UID: req.UID}); err != nil {
				writePathError(w, err, p)
				return
			}
		}
	}
	st, err := s.cfg.Store.JobStart(r.Context(), id, queue.JobStartParams{
		Token: req.Token, Paths: paths, Node: req.Node, UID: req.UID, Now: s.cfg.Now(),
	})
	if err == nil {
		s.cfg.Kick()
		st, err = s.verified(r, id, st)
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.cfg.Log.Info().Uint64("job", id).Str("node", req.Node).Bool("ready", st.Ready).Msg("job started")
	s.cfg.Metrics.JobStarted(id, began, st)
	WriteJSON(w, http.StatusOK, s.withRates(st))
}

func (s *Server) jobStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	st, err := s.cfg.Store.JobStatus(r.Context(), id)
	if err == nil {
		st, err = s.verified(r, id, st)
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.cfg.Metrics.JobAnswered(id, st)
	s.jobWaiting(st)
	WriteJSON(w, http.StatusOK, s.withRates(st))
}

// verified passes job id's status through the Verifier: warm only where the
// data was verified within VerifyMaxAge.
func (s *Server) verified(r *http.Request, id uint64, st *api.JobStatus) (*api.JobStatus, error) {
	if s.cfg.Verify == nil {
		return st, nil
	}
	return s.cfg.Verify.Job(r.Context(), st, func(ctx context.Context) (*api.JobStatus, error) {
		return s.cfg.Store.JobStatus(ctx, id)
	})
}

func (s *Server) jobEnd(w http.ResponseWriter, r *http.Request) {
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	var req api.JobEndRequest
	if !s.decode(w, r, &req) {
		return
	}
	err := s.cfg.Store.JobEnd(r.Context(), id, queue.JobEndParams{Node: req.Node, ExitCode: req.ExitCode, Reason: req.Reason, Now: s.cfg.Now()})
	if err != nil {
		s.storeError(w, err)
		return
	}
	s.cfg.Changes.Notify(notify.JobKey(id))
	s.cfg.Log.Info().Uint64("job", id).Str("node", req.Node).Int("exit_code", req.ExitCode).Str("reason", req.Reason).Msg("job ended")
	s.cfg.Metrics.JobEnded(id)
	s.cfg.Kick()
	WriteJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	all := r.URL.Query().Get("all")
	es, err := s.cfg.Store.Queue(r.Context(), all == "1" || all == "true")
	if err != nil {
		s.storeError(w, err)
		return
	}
	if es == nil {
		es = []api.QueueEntry{}
	}
	if s.cfg.Verify != nil {
		s.cfg.Verify.Entries(es)
	}
	s.entriesWaiting(r.Context(), es)
	WriteJSON(w, http.StatusOK, api.QueueResponse{Entries: es})
}

func (s *Server) datasets(w http.ResponseWriter, r *http.Request) {
	ds, err := s.cfg.Store.Datasets(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	if ds == nil {
		ds = []api.Dataset{}
	}
	WriteJSON(w, http.StatusOK, api.DatasetsResponse{Datasets: ds})
}

func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	c, ok := s.caller(w, r)
	if !ok {
		return
	}
	var req api.CancelRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Paths) == 0 && len(req.TaskIDs) == 0 {
		WriteError(w, http.StatusBadRequest, "nothing to cancel: give task ids or dataset paths", "")
		return
	}
	for i, p := range req.Paths {
		cp, err := Canonical(p)
		if err != nil {
			writePathError(w, err, p)
			return
		}
		req.Paths[i] = cp
	}
	resp, err := s.cfg.Store.Withdraw(r.Context(), c.UID, req, s.cfg.Now())
	if err != nil {
		s.storeError(w, err)
		return
	}
	ids := resp.Cancelled
	s.cfg.Stop(ids)
	if len(ids) > 0 {
		s.cfg.Changes.NotifyAll() // rare: wake every long poll rather than track the paths
	}
	s.cfg.Log.Info().Uint32("uid", c.UID).Ints64("tasks", ids).Int("withdrawn_from", len(resp.Items)).Msg("cancelled")
	if len(ids) > 0 {
		s.cfg.Kick() // restored tasks are queued again
	}
	WriteJSON(w, http.StatusOK, resp)
}

// decode reads a bounded JSON body with no unknown fields.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), "")
		case errors.Is(err, io.EOF):
			WriteError(w, http.StatusBadRequest, "empty request body; send a JSON object", "")
		default:
			WriteError(w, http.StatusBadRequest, "malformed JSON: "+err.Error(), "")
		}
		return false
	}
	if dec.More() {
		WriteError(w, http.StatusBadRequest, "malformed JSON: trailing data after the object", "")
		return false
	}
	return true
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, queue.ErrNotFound):
		WriteError(w, http.StatusNotFound, err.Error(), "")
	case errors.Is(err, queue.ErrNotOwner):
		WriteError(w, http.StatusForbidden, err.Error(), "")
	default:
		if !queue.IsDamaged(err) { // the store logs a damaged file itself, once
			s.cfg.Log.Error().Err(err).Msg("store")
		}
		WriteError(w, http.StatusInternalServerError, "database error: "+err.Error(), "")
	}
}

// WriteJSON answers with v as JSON and the status code (also used by the
// handlers other components add through Config.Extra).
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError answers with the API's error body.
func WriteError(w http.ResponseWriter, code int, msg, path string) {
	WriteJSON(w, code, api.Error{Error: msg, Path: path})
}

// withRates adds the measured warm-up speed of each dataset still warming.
func (s *Server) withRates(st *api.JobStatus) *api.JobStatus {
	if s.cfg.Rate == nil {
		return st
	}
	st.FillRates(s.cfg.Rate)
	return st
}

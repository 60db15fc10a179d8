// Package server is warmupd's v1 HTTP/JSON API behind two doors: a unix
// socket (caller identity from SO_PEERCRED) and, when configured, TCP
// (identity from a MUNGE credential per request, tcp.go). It holds the
// route table with its authorisation rules (authz.go), request validation,
// and the listeners.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/metrics"
	"github.com/accel-data/accel-data/internal/notify"
	"github.com/accel-data/accel-data/pkg/api"
	"github.com/accel-data/accel-data/pkg/queue"
)

// Config wires the server to the rest of the daemon.
type Config struct {
	Store  *queue.Store
	Paths  PathPolicy
	Log    zerolog.Logger
	Now    func() time.Time
	Kick   func() // wakes the scheduler after new work; may be nil
	Health func(ctx context.Context) (Health, error)
	// Rate gives the measured warm-up speed of a dataset (bytes/s, 0 unknown).
	Rate func(dataset string) float64
	// Stale is told the warm datasets an agent's report marked stale (its
	// jobs missed the cache there; queue.MissSuspect): the cache manager's
	// Manager.Stale, which refreshes them first. May be nil.
	Stale func(paths ...string)
	// Stop stops the running warm-ups of tasks the store just took away
	// (cancelled), so their juicefs processes end now, not at the next
	// heartbeat (the scheduler's Stop); may be nil.
	Stop func(taskIDs []int64)
	// MaxBody bounds a request body (default 1 MiB).
	MaxBody int64
	// Extra routes added by other components (pattern -> handler), e.g. the
	// cache manager's endpoints.
	Extra map[string]http.HandlerFunc
	// ExtraSlurmd are extra routes only root, SlurmdUID or RunnerUID may
	// call (the reports of warm-up shards run as Slurm jobs).
	ExtraSlurmd map[string]http.HandlerFunc
	// Verify decides what may be reported warm now (cachemgr.Verifier); nil
	// reports the store's states as they are.
	Verify Verifier
	// SlurmdUID may report job start and end besides root (SlurmdUser).
	SlurmdUID uint32
	// RunnerUID may report warm-up shards besides root and SlurmdUID: the
	// user the warm-up job arrays run as (WarmupUser; 0: none).
	RunnerUID uint32
	// Auth checks the MUNGE credential of every request that comes through
	// the TCP door (ListenTCP); nil refuses them all.
	Auth *auth.Verifier
	// Groups resolves a TCP caller's groups (default NSSGroups).
	Groups func(uid, gid uint32) []uint32
	// Metrics counts requests, authentication failures, prolog waits and
	// job-start hits (nil: none).
	Metrics *metrics.Metrics
	// Changes wakes the long polls of GET /v1/jobs/{id}/wait when a dataset
	// or job they wait for changed (the scheduler, the verifier and the
	// cache manager notify it); nil: a long poll answers only at its timeout.
	Changes *notify.Hub
	// Waits is the last squeue poll's jobs waiting for their data (job id
	// -> Slurm reason) and when it ran (slurmwatch.Watcher.Waits); job
	// status and queue answers show them. Nil: squeue is not watched.
	Waits func() (map[uint64]string, time.Time)
}

// Verifier re-verifies warm data before an answer calls it warm (see
// cachemgr.Verifier, the one implementation).
type Verifier interface {
	// Job judges a job's status; reload reads it again after re-verifications.
	Job(ctx context.Context, st *api.JobStatus, reload func(context.Context) (*api.JobStatus, error)) (*api.JobStatus, error)
	// Items judges the items of a submit answer from source src in place.
	Items(ctx context.Context, items []api.SubmitItem, src api.Source) error
	// Entries marks queue entries being re-verified, in place.
	Entries(es []api.QueueEntry)
}

// Health is what the rest of the daemon adds to /v1/health.
type Health struct {
	Workers  int
	JuiceFS  string
	Database string
}

// Server serves the API.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	handler http.Handler
	http    *http.Server
	groups  *groupCache
	gate    gate
	// stopping is closed when Shutdown begins: long polls answer at once.
	stopping chan struct{}
	stopOnce sync.Once
}

// New builds the server and its route table.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Kick == nil {
		cfg.Kick = func() {}
	}
	if cfg.Stop == nil {
		cfg.Stop = func([]int64) {}
	}
	if cfg.Groups == nil {
		cfg.Groups = NSSGroups
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), groups: newGroupCache(cfg.Groups, cfg.Now), stopping: make(chan struct{})}
	for pattern, rt := range s.routes() {
		s.mux.Handle(pattern, s.wrap(s.authorize(rt)))
	}
	for pattern, h := range cfg.Extra {
		s.mux.Handle(pattern, s.wrap(s.authorize(route{Anyone, h})))
	}
	for pattern, h := range cfg.ExtraSlurmd {
		s.mux.Handle(pattern, s.wrap(s.authorize(route{ShardRunner, h})))
	}
	s.handler = s.authenticate(s.mux)
	s.http = &http.Server{
		Handler:           s.gate.wrap(s.count(s.handler)),
		ConnContext:       connContext,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	return s
}

// Handler returns the route table behind the TCP door's authentication
// (for tests that serve it themselves).
func (s *Server) Handler() http.Handler { return s.handler }

// wrap adds logging and a panic guard around every handler.
func (s *Server) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				s.cfg.Log.Error().Interface("panic", p).Str("path", r.URL.Path).Msg("handler panicked")
				WriteError(w, http.StatusInternalServerError, fmt.Sprintf("internal error: %v", p), "")
			}
		}()
		h(w, r)
		if e := s.cfg.Log.Debug(); e.Enabled() {
			c, _ := callerFrom(r.Context())
			e.Str("method", r.Method).Str("url", r.URL.String()).Uint32("uid", c.UID).
				Dur("took", time.Since(start)).Msg("api")
		}
	})
}

// Listen opens the unix socket at path with mode perm. A stale socket file
// (nobody answers) is removed; a live one means another warmupd runs, and
// Listen refuses.
func Listen(path string, perm os.FileMode) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another warmupd is already listening on %s; stop it first", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(true)
	if err := os.Chmod(path, perm); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return l, nil
}

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for the handlers in flight. When ctx
// ends first, their connections are cut (their request contexts end) and
// Shutdown still waits for them to return, so nothing they use is closed
// under them; it then returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopping) })
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	s.gate.closeAndWait()
	return err
}

// gate counts the handlers in flight; once closed it turns new requests away.
type gate struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (g *gate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		if g.closed {
			g.mu.Unlock()
			WriteError(w, http.StatusServiceUnavailable, "warmupd is shutting down; try again once it is back", "")
			return
		}
		g.wg.Add(1)
		g.mu.Unlock()
		defer g.wg.Done()
		h.ServeHTTP(w, r)
	})
}

func (g *gate) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

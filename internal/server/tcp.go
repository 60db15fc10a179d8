package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/accel-data/accel-data/internal/auth"
)

// tcpDoorKey marks a request that came in over TCP (connContext).
type tcpDoorKey struct{}

func fromTCP(ctx context.Context) bool { v, _ := ctx.Value(tcpDoorKey{}).(bool); return v }

// ListenTCP opens warmupd's TCP door (Listen=HOST:PORT).
func ListenTCP(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (Listen): %w", addr, err)
	}
	return l, nil
}

// authenticate lets unix-socket requests through untouched and holds every
// TCP request to its MUNGE credential or its session (auth.SessionScheme):
// nothing valid bound to this method, URI and body → 401 saying why. An
// authenticated request runs as the credential's uid and gid with its NSS
// groups (a session's: those of the credential that opened it), and its
// answer carries the proof (auth.Claim.Proof) whatever its status. A
// credential request asking for a session (auth.SessionHeader: new) gets
// the new session's id in that header of its answer.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromTCP(r.Context()) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBody+1))
		if err != nil {
			WriteError(w, http.StatusBadRequest, "cannot read the request body: "+err.Error(), "")
			return
		}
		if int64(len(body)) > s.cfg.MaxBody {
			WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody), "")
			return
		}
		if s.cfg.Auth == nil {
			s.refuse(w, r, &auth.Rejection{Reason: auth.MungedDown, Detail: "warmupd has no MUNGE verifier"})
			return
		}
		id, err := s.cfg.Auth.Verify(r.Header.Get(auth.Header), r.Method, r.RequestURI, body)
		if err != nil {
			s.refuse(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		gids := id.Gids
		if gids == nil {
			gids = s.groups.get(id.UID, id.GID)
		}
		if r.Header.Get(auth.SessionHeader) == auth.SessionNew && id.TTL > 0 {
			sid, err := s.cfg.Auth.Sessions.Open(id, gids, id.TTL)
			if err != nil {
				s.cfg.Log.Warn().Err(err).Msg("cannot open a TCP session; the client keeps sending credentials")
			} else {
				w.Header().Set(auth.SessionHeader, sid)
				s.cfg.Log.Debug().Str("remote", r.RemoteAddr).Uint32("uid", id.UID).Dur("ttl", id.TTL).Msg("TCP session opened")
			}
		}
		c := Caller{UID: id.UID, GID: id.GID, Gids: gids}
		pw := &proofWriter{w: w, claim: id.Claim}
		next.ServeHTTP(pw, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
		pw.finish()
	})
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, err error) {
	s.cfg.Log.Warn().Str("remote", r.RemoteAddr).Str("method", r.Method).Str("url", r.RequestURI).
		Err(err).Msg("TCP request refused")
	s.cfg.Metrics.AuthFailure(authFailureLabel(err))
	w.Header().Set("WWW-Authenticate", auth.Scheme)
	WriteError(w, http.StatusUnauthorized, err.Error(), "")
}

// proofWriter buffers an answer (answers are small) so that its proof,
// which covers status and body, goes out in the header.
type proofWriter struct {
	w      http.ResponseWriter
	claim  auth.Claim
	status int
	buf    bytes.Buffer
}

func (p *proofWriter) Header() http.Header { return p.w.Header() }

// Unwrap lets http.ResponseController reach the connection (the long
// poll lifts its write deadline).
func (p *proofWriter) Unwrap() http.ResponseWriter { return p.w }

func (p *proofWriter) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

func (p *proofWriter) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.buf.Write(b)
}

func (p *proofWriter) finish() {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	h := p.w.Header()
	h.Set(auth.ProofHeader, p.claim.Proof(p.status, p.buf.Bytes()))
	h.Set("Content-Length", strconv.Itoa(p.buf.Len()))
	p.w.WriteHeader(p.status)
	_, _ = p.w.Write(p.buf.Bytes())
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/munge"
)

// MungeDownError means this host could not make a MUNGE credential (munged
// not running, wrong MungeSocket). Callers treat it like a daemon that is
// down (IsDaemonDown: swarmup exits 3) but do not wait for it to come back
// (IsMungeDown: the prolog lets the job start at once).
type MungeDownError struct {
	Err error
}

func (e *MungeDownError) Error() string {
	var me *munge.Error
	if errors.As(e.Err, &me) && me.Status == munge.Socket {
		return fmt.Sprintf("cannot make a MUNGE credential: munged not running on this host (%s); start munged, or set MungeSocket to its socket", me.Detail)
	}
	return fmt.Sprintf("cannot make a MUNGE credential: %v", e.Err)
}

func (e *MungeDownError) Unwrap() error { return e.Err }

// IsMungeDown reports whether err is a MungeDownError.
func IsMungeDown(err error) bool {
	var m *MungeDownError
	return errors.As(err, &m)
}

// NotWarmupdError is an answer over TCP without a valid proof: whatever
// answered does not hold the credential's reply key, so it is not warmupd
// (or warmupd decodes with another MUNGE key). Its answer is not trusted.
type NotWarmupdError struct {
	Server string
	Code   int
	Said   string // the start of what it answered, for the log
}

func (e *NotWarmupdError) Error() string {
	return fmt.Sprintf("the server at %s did not prove it is warmupd (wrong MUNGE key, or another program on the port); it answered HTTP %d: %s",
		e.Server, e.Code, e.Said)
}

// tcpAuth is how one TCP request was authenticated: the claim its answer's
// proof is checked with, and the session it used (nil: a credential).
type tcpAuth struct {
	claim   auth.Claim
	session *clientSession
	askNew  bool      // the credential asked for a session
	sent    time.Time // when the credential was made (client clock)
}

// clientSession is an open session: its id, its key (the reply key of the
// credential that opened it), when to stop using it, and the last seq sent.
type clientSession struct {
	id, key string
	renewAt time.Time // auth.SessionRenewAt of the opening credential
	seq     atomic.Uint64
}

// session returns the open session still usable at now, or nil. One past
// its renewal time is dropped (before warmupd forgets it), so the next
// request opens a new one with a credential.
func (c *Client) session(now time.Time) *clientSession {
	s := c.sess.Load()
	if s != nil && !now.Before(s.renewAt) {
		c.sess.CompareAndSwap(s, nil)
		return nil
	}
	return s
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// authorize signs req: with the open session if there is one still usable,
// else with a fresh MUNGE credential (asking for a session when Sessions is
// set).
func (c *Client) authorize(req *http.Request, body []byte) (*tcpAuth, error) {
	now := c.now()
	if s := c.session(now); s != nil {
		seq := s.seq.Add(1)
		req.Header.Set(auth.Header, auth.SessionAuthorization(s.id, s.key, req.Method, req.URL.RequestURI(), body, seq))
		return &tcpAuth{claim: auth.SessionClaim(s.id, s.key, seq), session: s}, nil
	}
	claim, err := c.sign(req, body)
	if err != nil {
		return nil, err
	}
	if c.Sessions {
		req.Header.Set(auth.SessionHeader, auth.SessionNew)
	}
	return &tcpAuth{claim: *claim, askNew: c.Sessions, sent: now}, nil
}

// keepSession remembers the session a proven answer opened (the first one
// when concurrent first requests each opened one).
func (c *Client) keepSession(a *tcpAuth, resp *http.Response) {
	id := resp.Header.Get(auth.SessionHeader)
	if !a.askNew || !auth.ValidSessionID(id) {
		return
	}
	c.sess.CompareAndSwap(nil, &clientSession{id: id, key: a.claim.ReplyKey, renewAt: auth.SessionRenewAt(a.sent)})
}

// sessionRefusal tells a 401 refusing a session request for a reason its
// client mends by sending it again: retry, and gone when warmupd no longer
// has the session (auth.SessionUnknown: open a new one), not when the
// request was overtaken by more than auth.SeqWindow of its session's later
// ones (auth.SessionTooOld: the next seq will do). A seq already used
// (auth.SessionReplayed) was served: it is not sent again.
func sessionRefusal(resp *http.Response, data []byte) (retry, gone bool) {
	var e Error
	if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(data, &e) != nil {
		return false, false
	}
	gone = strings.HasPrefix(e.Error, auth.SessionUnknown.String())
	return gone || strings.HasPrefix(e.Error, auth.SessionTooOld.String()), gone
}

// sign binds a fresh MUNGE credential to req (method, URI as sent, body)
// and returns its claim, to check the answer's proof with.
func (c *Client) sign(req *http.Request, body []byte) (*auth.Claim, error) {
	claim, err := auth.NewClaim(req.Method, req.URL.RequestURI(), body)
	if err != nil {
		return nil, err
	}
	uid := c.ServerUID
	opts := munge.EncodeOptions{Socket: c.MungeSocket, UIDRestriction: &uid}
	if c.Sessions {
		opts.TTL = auth.SessionTTL // the session lives as long: the client knows when to renew it
	}
	cred, err := munge.Encode(claim.Payload(), opts)
	if err != nil {
		return nil, &MungeDownError{Err: err}
	}
	req.Header.Set(auth.Header, auth.Scheme+" "+cred)
	return &claim, nil
}

// checkProof accepts an answer only with warmupd's proof. A 401 carries
// none (the credential was refused, no reply key): its message is reported
// as coming from an unverified server.
func (c *Client) checkProof(claim *auth.Claim, resp *http.Response, data []byte) error {
	if claim.CheckProof(resp.Header.Get(auth.ProofHeader), resp.StatusCode, data) {
		return nil
	}
	var e Error
	msg := string(data)
	if jsonErr := json.Unmarshal(data, &e); jsonErr == nil && e.Error != "" {
		msg = e.Error
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return &StatusError{Code: resp.StatusCode, Message: "warmupd (unverified) refused the credential: " + msg}
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return &NotWarmupdError{Server: c.Server, Code: resp.StatusCode, Said: msg}
}

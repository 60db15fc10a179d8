package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client talks to warmupd over its unix socket, or over TCP with a MUNGE
// credential per request (or a session, see Sessions) when Server is set
// (tcp.go). The zero value works: it uses $WARMUPD_SOCKET, else
// DefaultSocket.
type Client struct {
	// Socket is the path of warmupd's unix socket; empty means $WARMUPD_SOCKET or DefaultSocket.
	Socket string
	// Server is warmupd's TCP door, HOST:PORT; when set, Socket is unused.
	Server string
	// MungeSocket is the local munged's socket ("" = libmunge's default).
	MungeSocket string
	// ServerUID is the uid warmupd runs as: only it may decode our credentials.
	ServerUID uint32
	// Timeout bounds each call when the context has no deadline; 0 means 30s.
	Timeout time.Duration
	// ResponseTimeout bounds how long warmupd may take to connect and answer
	// one call; past it the call fails as a DaemonDownError (a hung or
	// stopped daemon). 0 means DefaultResponseTimeout; negative means no bound.
	ResponseTimeout time.Duration

	// Sessions makes the TCP client open a session on its first request
	// and authenticate the next ones with it (an HMAC instead of a MUNGE
	// credential each): for a client that makes many requests. Off, every
	// request carries its own credential.
	Sessions bool
	// Now is the clock that tells when a session must be renewed (nil:
	// time.Now); see auth.SessionRenewAt.
	Now func() time.Time

	once sync.Once
	hc   *http.Client
	sess atomic.Pointer[clientSession]
}

// DefaultResponseTimeout is how long a call waits for warmupd to answer:
// every endpoint answers in milliseconds, so a daemon silent for this long is
// hung (kill -STOP, a stuck disk) and callers treat it like one that is down.
const DefaultResponseTimeout = 5 * time.Second

// errNoAnswer is the cause of a call's context when ResponseTimeout passed.
var errNoAnswer = errors.New("no answer")

// DaemonDownError means warmupd could not be reached: nothing listens on the
// socket, the connection broke, or it did not answer within ResponseTimeout.
type DaemonDownError struct {
	Socket string // the unix socket, or HOST:PORT when TCP is set
	TCP    bool
	Err    error
}

func (e *DaemonDownError) Error() string {
	if e.TCP {
		return fmt.Sprintf("warmupd is not running or not reachable at %s (%v); start it on the service node (`systemctl start warmupd`, Listen= set) or point %s/--server (Server=) at it", e.Socket, e.Err, ServerEnv)
	}
	return fmt.Sprintf("warmupd is not running or not reachable at %s (%v); start it with `systemctl start warmupd` (restart it if it hangs) or point %s/--socket at its socket", e.Socket, e.Err, SocketEnv)
}

func (e *DaemonDownError) Unwrap() error { return e.Err }

// StatusError is a non-2xx answer from warmupd.
type StatusError struct {
	Code    int
	Message string
	Path    string
}

func (e *StatusError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("warmupd: %s (path %q)", e.Message, e.Path)
	}
	if strings.HasPrefix(e.Message, "warmupd ") {
		return e.Message
	}
	return "warmupd: " + e.Message
}

// IsDaemonDown reports whether err means warmupd could not be reached,
// including because no MUNGE credential could be made (MungeDownError).
func IsDaemonDown(err error) bool {
	var d *DaemonDownError
	return errors.As(err, &d) || IsMungeDown(err)
}

// SocketPath returns the socket this client dials (HOST:PORT over TCP).
func (c *Client) SocketPath() string {
	if c.Server != "" {
		return c.Server
	}
	if c.Socket != "" {
		return c.Socket
	}
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// maxIdleConns is how many idle connections a Client keeps to warmupd.
const maxIdleConns = 64

func (c *Client) http() *http.Client {
	c.once.Do(func() {
		network, addr := "unix", c.SocketPath()
		if c.Server != "" {
			network = "tcp"
		}
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			// As many idle connections as concurrent calls a shared
			// client makes (swarmup, an agent, a load test): with fewer,
			// each burst closes connections and dials them again, which
			// costs warmupd an accept and a handshake per call.
			MaxIdleConns:        maxIdleConns,
			MaxIdleConnsPerHost: maxIdleConns,
			IdleConnTimeout:     30 * time.Second,
		}
		c.hc = &http.Client{Transport: tr}
	})
	return c.hc
}

// Do sends one call: method and path (e.g. "/v1/queue"), an optional JSON body
// and an optional pointer to decode the answer into.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		t := c.Timeout
		if t == 0 {
			t = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	var raw []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		raw = b
	}
	resp, data, err := c.roundTrip(ctx, method, path, raw, in != nil)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(data))
		}
		return &StatusError{Code: resp.StatusCode, Message: e.Error, Path: e.Path}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode answer from warmupd: %w", err)
		}
	}
	return nil
}

// roundTrip sends one request and reads its answer. Over TCP it
// authenticates it (tcp.go) and accepts only a proven answer. A session
// request refused at the door is sent once more: with a new session when
// warmupd no longer knows this one (restarted, expired), with a new seq
// when its seq was too old (more than auth.SeqWindow of the session's
// later requests reached warmupd first: a client shared by hundreds of
// goroutines). Either refusal came before warmupd did anything.
func (c *Client) roundTrip(ctx context.Context, method, path string, raw []byte, isJSON bool) (*http.Response, []byte, error) {
	for retried := false; ; retried = true {
		resp, data, tcp, err := c.send(ctx, method, path, raw, isJSON)
		if err != nil || tcp == nil {
			return resp, data, err
		}
		if tcp.session != nil && !retried {
			if retry, gone := sessionRefusal(resp, data); retry {
				if gone {
					c.sess.CompareAndSwap(tcp.session, nil)
				}
				continue
			}
		}
		if err := c.checkProof(&tcp.claim, resp, data); err != nil {
			return nil, nil, err
		}
		c.keepSession(tcp, resp)
		return resp, data, nil
	}
}

// send makes one exchange, bounded by ResponseTimeout.
func (c *Client) send(ctx context.Context, method, path string, raw []byte, isJSON bool) (*http.Response, []byte, *tcpAuth, error) {
	callCtx := ctx
	if rt := c.responseTimeout(); rt > 0 {
		if extra, ok := ctx.Value(longPollKey{}).(time.Duration); ok {
			rt += extra // the server holds the answer that long on purpose
		}
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeoutCause(ctx, rt, errNoAnswer)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(callCtx, method, "http://warmupd"+path, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, nil, err
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	var tcp *tcpAuth
	if c.Server != "" {
		if tcp, err = c.authorize(req, raw); err != nil {
			return nil, nil, nil, err
		}
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, nil, nil, c.transportError(ctx, callCtx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, nil, c.transportError(ctx, callCtx, fmt.Errorf("read answer: %w", err))
	}
	return resp, data, tcp, nil
}

func (c *Client) responseTimeout() time.Duration {
	if c.ResponseTimeout == 0 {
		return DefaultResponseTimeout
	}
	return c.ResponseTimeout
}

// transportError classifies a failed exchange: the caller's own context
// ending (its deadline, a signal) stays that error; anything else — nothing
// listening, a connection reset by a crash, no answer within ResponseTimeout
// — means warmupd is unavailable.
func (c *Client) transportError(ctx, callCtx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("warmupd at %s: %w", c.SocketPath(), ctx.Err())
	}
	if errors.Is(context.Cause(callCtx), errNoAnswer) {
		return &DaemonDownError{Socket: c.SocketPath(), TCP: c.Server != "", Err: fmt.Errorf("no answer within %v", c.responseTimeout())}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		err = op.Err
	}
	return &DaemonDownError{Socket: c.SocketPath(), TCP: c.Server != "", Err: err}
}

// Submit queues paths for warm-up.
func (c *Client) Submit(ctx context.Context, r SubmitRequest) (*SubmitResponse, error) {
	var out SubmitResponse
	return &out, c.Do(ctx, http.MethodPost, "/v1/requests", r, &out)
}

// JobStart tells warmupd a job reached its prolog and returns its readiness.
func (c *Client) JobStart(ctx context.Context, jobID uint64, r JobStartRequest) (*JobStatus, error) {
	var out JobStatus
	return &out, c.Do(ctx, http.MethodPost, "/v1/jobs/"+strconv.FormatUint(jobID, 10)+"/start", r, &out)
}

// JobStatus returns whether a job's datasets are ready.
func (c *Client) JobStatus(ctx context.Context, jobID uint64) (*JobStatus, error) {
	var out JobStatus
	return &out, c.Do(ctx, http.MethodGet, "/v1/jobs/"+strconv.FormatUint(jobID, 10), nil, &out)
}

// MaxJobWait is the longest a long poll of a job's readiness is held by
// warmupd (GET /v1/jobs/{id}/wait): a client asking for longer is answered
// at this bound and asks again.
const MaxJobWait = 10 * time.Minute

// longPollKey marks a call's context with how long warmupd may hold it on
// purpose (added to ResponseTimeout).
type longPollKey struct{}

// JobWait asks warmupd for a job's readiness once and is answered when the
// job is ready, one of its datasets changed state or warm-up speed, the job
// ended, or timeout (at most MaxJobWait) passed — a long poll, so a waiting
// prolog costs warmupd an open connection instead of a query per second.
// A warmupd older than the endpoint answers 404 or 405 (IsNoLongPoll): use
// JobStatus and poll.
func (c *Client) JobWait(ctx context.Context, jobID uint64, timeout time.Duration) (*JobStatus, error) {
	timeout = min(max(timeout, 0), MaxJobWait)
	var out JobStatus
	ctx = context.WithValue(ctx, longPollKey{}, timeout)
	path := "/v1/jobs/" + strconv.FormatUint(jobID, 10) + "/wait?timeout=" + timeout.Round(time.Millisecond).String()
	return &out, c.Do(ctx, http.MethodGet, path, nil, &out)
}

// IsNoLongPoll reports whether err is the answer of a warmupd that has no
// GET /v1/jobs/{id}/wait (older than the long poll).
func IsNoLongPoll(err error) bool {
	var se *StatusError
	// An unknown route is net/http's plain "404 page not found", not one of
	// warmupd's JSON errors (an unknown job).
	return errors.As(err, &se) && (se.Code == http.StatusNotFound && strings.Contains(se.Message, "page not found") || se.Code == http.StatusMethodNotAllowed)
}

// JobEnd tells warmupd a job ended.
func (c *Client) JobEnd(ctx context.Context, jobID uint64, r JobEndRequest) error {
	return c.Do(ctx, http.MethodPost, "/v1/jobs/"+strconv.FormatUint(jobID, 10)+"/end", r, nil)
}

// Queue lists warm-up tasks; all includes terminal ones.
func (c *Client) Queue(ctx context.Context, all bool) (*QueueResponse, error) {
	var out QueueResponse
	p := "/v1/queue"
	if all {
		p += "?" + url.Values{"all": {"1"}}.Encode()
	}
	return &out, c.Do(ctx, http.MethodGet, p, nil, &out)
}

// Datasets lists the cache status table.
func (c *Client) Datasets(ctx context.Context) (*DatasetsResponse, error) {
	var out DatasetsResponse
	return &out, c.Do(ctx, http.MethodGet, "/v1/datasets", nil, &out)
}

// Cancel cancels tasks the caller owns (root may cancel any).
func (c *Client) Cancel(ctx context.Context, r CancelRequest) (*CancelResponse, error) {
	var out CancelResponse
	return &out, c.Do(ctx, http.MethodPost, "/v1/cancel", r, &out)
}

// Health asks whether warmupd is up.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	return &out, c.Do(ctx, http.MethodGet, "/v1/health", nil, &out)
}

// Priority returns the per-factor priority breakdown of queued tasks.
func (c *Client) Priority(ctx context.Context) (*PriorityResponse, error) {
	var out PriorityResponse
	return &out, c.Do(ctx, http.MethodGet, "/v1/priority", nil, &out)
}

// Cache returns the cache status table with capacity and free space.
func (c *Client) Cache(ctx context.Context) (*CacheResponse, error) {
	var out CacheResponse
	return &out, c.Do(ctx, http.MethodGet, "/v1/cache", nil, &out)
}

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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

// sign binds a fresh MUNGE credential to req (method, URI as sent, body)
// and returns its claim, to check the answer's proof with.
func (c *Client) sign(req *http.Request, body []byte) (*auth.Claim, error) {
	claim, err := auth.NewClaim(req.Method, req.URL.RequestURI(), body)
	if err != nil {
		return nil, err
	}
	uid := c.ServerUID
	cred, err := munge.Encode(claim.Payload(), munge.EncodeOptions{Socket: c.MungeSocket, UIDRestriction: &uid})
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

// Package munge makes and checks MUNGE credentials by talking to the local
// munged itself: it speaks the client side of munged's unix-socket protocol
// of MUNGE 0.5.x (message format version 4, as Debian's munge 0.5.15 speaks
// it), in pure Go, without cgo or libmunge.
//
// Why: warmupd decodes a credential per TCP request. Through libmunge that
// was a blocking cgo call, and the Go runtime handed its P to another thread
// while the call waited on munged's socket (futex wake-ups, thread switches,
// sysmon), several hundred µs of CPU per request. Here the exchange goes
// through Go's netpoller with deadlines, and no thread changes hands; see
// docs/performance-submit.md ("Pure-Go MUNGE client").
//
// It does what libmunge's client does that matters: the same messages, the
// same connect retries on a refused connection and transaction retries on a
// socket error (with the retry count in the header, so munged does not take
// a retried decode for a replay), the same 2 s socket timeout, the same cap
// on a request's length, and errors that carry munged's status and message,
// or libmunge's wording for a socket failure. munged learns the caller's uid
// and gid from the socket (SO_PEERCRED on Linux), so nothing else is sent.
// Tests pin it against the real `munge` and `unmunge` tools and a real
// munged (munge_test.go, interop_test.go).
package munge

import (
	"bytes"
	"fmt"
	"time"
)

// DefaultSocket is munged's socket when none is given: libmunge's default
// on Debian (MUNGE_SOCKET_NAME, "/run/munge/munge.socket.2").
const DefaultSocket = "/run/munge/munge.socket.2"

// EncodeOptions tune a credential. The zero value encodes for anyone with
// munged's default TTL through the default socket.
type EncodeOptions struct {
	Socket         string        // munged socket; "" = DefaultSocket
	UIDRestriction *uint32       // only this uid may decode; nil = anyone
	TTL            time.Duration // lifetime, whole seconds; 0 = munged's default
}

// Credential is a decoded credential.
type Credential struct {
	Payload  []byte
	UID, GID uint32
	TTL      time.Duration // the lifetime the encoder asked for
	// RestrictedTo is the only uid that may decode it (nil: anyone with
	// the key could, so a secret in its payload is not a secret).
	RestrictedTo *uint32
}

// Encode makes a credential carrying payload; it is the "MUNGE:...:" string.
func Encode(payload []byte, opts EncodeOptions) (string, error) {
	req := encodeRequest{authUID: uidAny, authGID: uidAny, data: payload}
	if opts.TTL > 0 {
		req.ttl = uint32(opts.TTL / time.Second)
	}
	if opts.UIDRestriction != nil {
		req.authUID = *opts.UIDRestriction
	}
	var rsp *response
	err := xfer(opts.Socket, msgEncReq, req.pack(), func(body []byte) (err error) {
		rsp, err = unpackEncodeResponse(body)
		return err
	})
	if err != nil {
		return "", err
	}
	if rsp.status != Success {
		return "", rsp.err()
	}
	cred, _, _ := bytes.Cut(rsp.data, []byte{0}) // munged sends it NUL-terminated
	if len(cred) == 0 {
		return "", &Error{Status: Snafu, Detail: fmt.Sprintf("Client received invalid data length %d", len(rsp.data))}
	}
	return string(cred), nil
}

// Decode checks cred through the munged at socket ("" = DefaultSocket). On
// success the caller's uid and gid come from the credential; otherwise the
// error is an *Error whose Status says why.
func Decode(cred, socket string) (Credential, error) {
	if cred == "" {
		return Credential{}, &Error{Status: BadArg, Detail: "No credential specified"}
	}
	var rsp *response
	err := xfer(socket, msgDecReq, packDecodeRequest(cred), func(body []byte) (err error) {
		rsp, err = unpackDecodeResponse(body)
		return err
	})
	if err != nil {
		return Credential{}, err
	}
	if rsp.status != Success {
		return Credential{}, rsp.err()
	}
	c := Credential{
		Payload: rsp.data,
		UID:     rsp.credUID,
		GID:     rsp.credGID,
		TTL:     time.Duration(rsp.ttl) * time.Second,
	}
	if rsp.authUID != uidAny {
		u := rsp.authUID
		c.RestrictedTo = &u
	}
	return c, nil
}

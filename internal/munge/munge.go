// Package munge is a small cgo binding to libmunge: encode a credential
// through the local munged and decode one, with errors typed by MUNGE
// status and messages that say what to do.
package munge

/*
#cgo LDFLAGS: -lmunge
#include <stdlib.h>
#include <munge.h>

// libmunge's option calls are variadic, which cgo cannot call directly.
static munge_err_t set_socket(munge_ctx_t c, const char *p) { return munge_ctx_set(c, MUNGE_OPT_SOCKET, p); }
static munge_err_t set_ttl(munge_ctx_t c, int ttl) { return munge_ctx_set(c, MUNGE_OPT_TTL, ttl); }
static munge_err_t set_uid_restriction(munge_ctx_t c, uid_t u) { return munge_ctx_set(c, MUNGE_OPT_UID_RESTRICTION, u); }
static int get_ttl(munge_ctx_t c) { int t = 0; munge_ctx_get(c, MUNGE_OPT_TTL, &t); return t; }
static long long get_uid_restriction(munge_ctx_t c) { uid_t u = (uid_t)MUNGE_UID_ANY; munge_ctx_get(c, MUNGE_OPT_UID_RESTRICTION, &u); return u == (uid_t)MUNGE_UID_ANY ? -1 : (long long)u; }
*/
import "C"

import (
	"time"
	"unsafe"
)

// EncodeOptions tune a credential. The zero value encodes for anyone with
// munged's default TTL through libmunge's default socket.
type EncodeOptions struct {
	Socket         string        // munged socket; "" = libmunge's default
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
	ctx, err := newCtx(opts.Socket)
	if err != nil {
		return "", err
	}
	defer C.munge_ctx_destroy(ctx)
	if opts.UIDRestriction != nil {
		if st := C.set_uid_restriction(ctx, C.uid_t(*opts.UIDRestriction)); st != C.EMUNGE_SUCCESS {
			return "", ctxError(ctx, st)
		}
	}
	if opts.TTL > 0 {
		if st := C.set_ttl(ctx, C.int(opts.TTL/time.Second)); st != C.EMUNGE_SUCCESS {
			return "", ctxError(ctx, st)
		}
	}
	var buf unsafe.Pointer
	if len(payload) > 0 {
		buf = C.CBytes(payload)
		defer C.free(buf)
	}
	var cred *C.char
	st := C.munge_encode(&cred, ctx, buf, C.int(len(payload)))
	if cred != nil {
		defer C.free(unsafe.Pointer(cred))
	}
	if st != C.EMUNGE_SUCCESS {
		return "", ctxError(ctx, st)
	}
	return C.GoString(cred), nil
}

// Decode checks cred through the munged at socket ("" = default). On
// success the caller's uid and gid come from the credential; otherwise the
// error is an *Error whose Status says why.
func Decode(cred, socket string) (Credential, error) {
	ctx, err := newCtx(socket)
	if err != nil {
		return Credential{}, err
	}
	defer C.munge_ctx_destroy(ctx)
	ccred := C.CString(cred)
	defer C.free(unsafe.Pointer(ccred))
	var (
		buf unsafe.Pointer
		n   C.int
		uid C.uid_t
		gid C.gid_t
	)
	st := C.munge_decode(ccred, ctx, &buf, &n, &uid, &gid)
	if buf != nil { // also allocated for expired, rewound and replayed credentials
		defer C.free(buf)
	}
	if st != C.EMUNGE_SUCCESS {
		return Credential{}, ctxError(ctx, st)
	}
	c := Credential{
		Payload: C.GoBytes(buf, n),
		UID:     uint32(uid),
		GID:     uint32(gid),
		TTL:     time.Duration(C.get_ttl(ctx)) * time.Second,
	}
	if r := int64(C.get_uid_restriction(ctx)); r >= 0 {
		u := uint32(r)
		c.RestrictedTo = &u
	}
	return c, nil
}

func newCtx(socket string) (C.munge_ctx_t, error) {
	ctx := C.munge_ctx_create()
	if ctx == nil {
		return nil, &Error{Status: NoMemory, Detail: "munge_ctx_create failed"}
	}
	if socket != "" {
		cs := C.CString(socket)
		defer C.free(unsafe.Pointer(cs))
		if st := C.set_socket(ctx, cs); st != C.EMUNGE_SUCCESS {
			err := ctxError(ctx, st)
			C.munge_ctx_destroy(ctx)
			return nil, err
		}
	}
	return ctx, nil
}

func ctxError(ctx C.munge_ctx_t, st C.munge_err_t) error {
	detail := C.GoString(C.munge_ctx_strerror(ctx))
	if detail == "" {
		detail = C.GoString(C.munge_strerror(st))
	}
	return &Error{Status: Status(st), Detail: detail}
}

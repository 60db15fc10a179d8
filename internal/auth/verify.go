package auth

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/accel-data/accel-data/internal/munge"
)

// DefaultNonceCap bounds the replay cache: 2 000 requests/s for munged's
// default 300 s TTL, twice over.
const DefaultNonceCap = 1 << 20

// Caller is who a verified credential or session says is calling.
type Caller struct {
	UID, GID uint32
	Gids     []uint32      // a session's groups (resolved when it opened); nil for a credential
	TTL      time.Duration // the credential's lifetime (0 for a session request)
	Claim    Claim         // proves the answer (Claim.Proof)
}

// Verifier checks TCP requests: it decodes the credential through the
// service node's munged and binds it to the request.
type Verifier struct {
	Socket   string // munged socket; "" = munge.DefaultSocket
	Nonces   *NonceCache
	Sessions *SessionTable
}

// NewVerifier decodes through socket with a replay cache and a session
// table on clock now.
func NewVerifier(socket string, now func() time.Time) *Verifier {
	return &Verifier{Socket: socket, Nonces: NewNonceCache(DefaultNonceCap, now),
		Sessions: NewSessionTable(DefaultSessionCap, now)}
}

// Verify checks the Authorization header value (a MUNGE credential or a
// session request) against the request. A refusal is a *Rejection whose
// message the 401 carries.
func (v *Verifier) Verify(header, method, uri string, body []byte) (Caller, error) {
	if p, ok := strings.CutPrefix(header, SessionScheme+" "); ok {
		return v.Sessions.Check(p, method, uri, body)
	}
	cred, ok := strings.CutPrefix(header, Scheme+" ")
	if !ok || strings.TrimSpace(cred) == "" {
		return Caller{}, &Rejection{Reason: NoCredential}
	}
	dec, err := munge.Decode(strings.TrimSpace(cred), v.Socket)
	if err != nil {
		return Caller{}, rejectDecode(err)
	}
	claim, err := ParsePayload(dec.Payload)
	if err != nil {
		return Caller{}, err
	}
	if err := claim.Check(method, uri, body); err != nil {
		return Caller{}, err
	}
	// The reply key (also a session's key) is secret only if nobody but
	// warmupd's uid could decode the credential.
	if dec.RestrictedTo == nil || *dec.RestrictedTo != uint32(os.Getuid()) {
		return Caller{}, &Rejection{Reason: NotForServer, Detail: "made without MUNGE's uid restriction to warmupd's uid"}
	}
	if !v.Nonces.Use(claim.Nonce, dec.TTL) {
		return Caller{}, &Rejection{Reason: Replayed, Detail: "nonce already used"}
	}
	return Caller{UID: dec.UID, GID: dec.GID, TTL: dec.TTL, Claim: claim}, nil
}

func rejectDecode(err error) error {
	var me *munge.Error
	if !errors.As(err, &me) {
		return &Rejection{Reason: Undecodable, Detail: err.Error()}
	}
	r := Undecodable
	switch me.Status {
	case munge.Socket:
		r = MungedDown
	case munge.Expired:
		r = Expired
	case munge.Rewound:
		r = Rewound
	case munge.Replayed:
		r = Replayed
	case munge.BadCred:
		r = Malformed
	case munge.Invalid, munge.BadVersion, munge.BadCipher, munge.BadMAC, munge.BadZip, munge.BadRealm:
		r = WrongKey
	case munge.Unauthorized:
		r = NotForServer
	}
	return &Rejection{Reason: r, Detail: me.Detail}
}

// Probe checks that munged at socket answers: it encodes and decodes an
// empty credential. warmupd logs its error at start when the TCP door is
// open, since every TCP request would be refused.
func Probe(socket string) error {
	cred, err := munge.Encode(nil, munge.EncodeOptions{Socket: socket})
	if err == nil {
		_, err = munge.Decode(cred, socket)
	}
	if err != nil {
		return fmt.Errorf("munged at %s: %w", socketName(socket), err)
	}
	return nil
}

func socketName(s string) string {
	if s == "" {
		return munge.DefaultSocket
	}
	return s
}

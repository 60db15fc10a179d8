// Package auth owns the decision of who is calling warmupd over TCP: the
// MUNGE credential payload a client binds to one request, the check of a
// request against a decoded credential, the nonce replay cache and the
// response proof that lets a client tell the real warmupd from an impostor,
// and the sessions that spare a long-lived client one credential per
// request (session.go).
//
// The wire format is fixed by the issue 9 contract and shared with the C
// SPANK plugin; testdata/auth-vectors.tsv at the repository root pins it.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

const (
	// Header is the request header carrying the credential.
	Header = "Authorization"
	// Scheme prefixes the credential in Header: "MUNGE <cred>".
	Scheme = "MUNGE"
	// ProofHeader carries warmupd's proof on answers to authenticated requests.
	ProofHeader = "X-Accel-Data-Proof"

	payloadMagic = "accel-data-auth v1"
	replyMagic   = "accel-data-reply v1\n"
	nonceBytes   = 16
	replyKeyLen  = 32
)

// Claim is what a client binds into one credential: the request it signs
// and the fresh secrets of this exchange.
type Claim struct {
	Method     string // HTTP method, upper case
	URI        string // request URI as sent: path plus "?query" if any
	BodySHA256 string // lower-case hex SHA-256 of the request body
	Nonce      string // 32 lower-case hex chars
	ReplyKey   string // 64 lower-case hex chars: the HMAC key of the answer's proof
}

// BodyDigest is the lower-case hex SHA-256 of body (of "" when body is nil).
func BodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// NewClaim binds a request to a fresh random nonce and reply key.
func NewClaim(method, uri string, body []byte) (Claim, error) {
	var b [nonceBytes + replyKeyLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Claim{}, fmt.Errorf("cannot draw a random nonce: %w", err)
	}
	return Claim{
		Method:     strings.ToUpper(method),
		URI:        uri,
		BodySHA256: BodyDigest(body),
		Nonce:      hex.EncodeToString(b[:nonceBytes]),
		ReplyKey:   hex.EncodeToString(b[nonceBytes:]),
	}, nil
}

// Payload is the credential payload: six "\n"-terminated ASCII lines.
func (c Claim) Payload() []byte {
	return []byte(payloadMagic + "\n" +
		"method " + c.Method + "\n" +
		"path " + c.URI + "\n" +
		"body-sha256 " + c.BodySHA256 + "\n" +
		"nonce " + c.Nonce + "\n" +
		"reply-key " + c.ReplyKey + "\n")
}

// ParsePayload reads a decoded credential payload. Anything but the exact
// contract format is an ErrMismatch: a credential made for something else.
func ParsePayload(p []byte) (Claim, error) {
	s := string(p)
	if !strings.HasSuffix(s, "\n") {
		return Claim{}, mismatch("payload is not accel-data-auth v1")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	keys := []string{"method", "path", "body-sha256", "nonce", "reply-key"}
	if len(lines) != len(keys)+1 || lines[0] != payloadMagic {
		return Claim{}, mismatch("payload is not accel-data-auth v1")
	}
	vals := make([]string, len(keys))
	for i, k := range keys {
		v, ok := strings.CutPrefix(lines[i+1], k+" ")
		if !ok || v == "" || strings.ContainsAny(v, " \t\r") {
			return Claim{}, mismatch("payload line %d is not %q", i+2, k+" VALUE")
		}
		vals[i] = v
	}
	c := Claim{Method: vals[0], URI: vals[1], BodySHA256: vals[2], Nonce: vals[3], ReplyKey: vals[4]}
	if !isHex(c.Nonce, 2*nonceBytes) || !isHex(c.ReplyKey, 2*replyKeyLen) || !isHex(c.BodySHA256, 2*sha256.Size) {
		return Claim{}, mismatch("payload nonce, reply-key or body-sha256 is not lower-case hex of the right length")
	}
	return c, nil
}

// Check compares the claim with the request warmupd received.
func (c Claim) Check(method, uri string, body []byte) error {
	switch {
	case c.Method != method:
		return mismatch("credential is for %s, request is %s", c.Method, method)
	case c.URI != uri:
		return mismatch("credential is for %q, request is %q", c.URI, uri)
	case c.BodySHA256 != BodyDigest(body):
		return mismatch("credential is for another body")
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

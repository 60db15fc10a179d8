package auth_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
)

// sessionRig is a session table on an injected clock with one session open
// for uid 1000.
type sessionRig struct {
	clk *clock
	tab *auth.SessionTable
	id  string
	key string
}

func newSessionRig(t *testing.T, max int) *sessionRig {
	t.Helper()
	r := &sessionRig{clk: &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}}
	r.tab = auth.NewSessionTable(max, r.clk.now)
	r.id, r.key = r.open(t)
	return r
}

func (r *sessionRig) open(t *testing.T) (id, key string) {
	t.Helper()
	claim, err := auth.NewClaim("GET", "/v1/health", nil)
	require.NoError(t, err)
	id, err = r.tab.Open(auth.Caller{UID: 1000, GID: 100, Claim: claim}, []uint32{100, 27}, 5*time.Minute)
	require.NoError(t, err)
	require.Len(t, id, 32)
	return id, claim.ReplyKey
}

// check sends one session request of this rig's session.
func (r *sessionRig) check(method, uri, body string, seq uint64) (auth.Caller, error) {
	h := auth.SessionAuthorization(r.id, r.key, method, uri, []byte(body), seq)
	return r.tab.Check(strings.TrimPrefix(h, auth.SessionScheme+" "), method, uri, []byte(body))
}

func rejected(t *testing.T, err error) auth.Reason {
	t.Helper()
	var rj *auth.Rejection
	require.ErrorAs(t, err, &rj)
	return rj.Reason
}

// The mac is the contract's: HMAC-SHA256(key, "accel-data-session v1\n"
// method "\n" uri "\n" body-sha256 "\n" seq "\n"), and the answer's proof
// is Claim.Proof with nonce "<id>:<seq>".
func TestSessionMACWireFormat(t *testing.T) {
	key := strings.Repeat("ab", 32)
	kb, _ := hex.DecodeString(key)
	body := `{"paths":["/jfs/ds"]}`
	m := hmac.New(sha256.New, kb)
	bs := sha256.Sum256([]byte(body))
	m.Write([]byte("accel-data-session v1\nPOST\n/v1/requests?x=1\n" + hex.EncodeToString(bs[:]) + "\n42\n"))
	id := strings.Repeat("0123456789abcdef", 2)
	require.Equal(t, auth.SessionScheme+" id="+id+",seq=42,mac="+hex.EncodeToString(m.Sum(nil)),
		auth.SessionAuthorization(id, key, "post", "/v1/requests?x=1", []byte(body), 42))

	c := auth.SessionClaim(id, key, 42)
	require.Equal(t, id+":42", c.Nonce)
	p := hmac.New(sha256.New, kb)
	rs := sha256.Sum256([]byte("[]\n"))
	p.Write([]byte("accel-data-reply v1\n" + id + ":42\n200\n" + hex.EncodeToString(rs[:]) + "\n"))
	require.Equal(t, hex.EncodeToString(p.Sum(nil)), c.Proof(200, []byte("[]\n")))
}

// A session serves many requests as the identity that opened it, accepts
// seqs that overtake each other within the window once each, and refuses a
// replayed seq and one older than the window.
func TestSessionSeqWindow(t *testing.T) {
	r := newSessionRig(t, 10)
	for seq := uint64(1); seq <= 1000; seq++ {
		c, err := r.check("POST", "/v1/requests", `{"paths":["/jfs/a"]}`, seq)
		require.NoError(t, err, "seq %d", seq)
		require.Equal(t, uint32(1000), c.UID)
		require.Equal(t, uint32(100), c.GID)
		require.Equal(t, []uint32{100, 27}, c.Gids)
		require.Equal(t, auth.SessionClaim(r.id, r.key, seq), c.Claim)
	}
	_, err := r.check("POST", "/v1/requests", `{"paths":["/jfs/a"]}`, 1000)
	require.Equal(t, auth.SessionReplayed, rejected(t, err), "the last seq again")
	require.Contains(t, err.Error(), "session request replayed")
	_, err = r.check("GET", "/v1/queue", "", 999)
	require.Equal(t, auth.SessionReplayed, rejected(t, err), "an earlier seq, another request")

	// Out of order: 1010 first, then 1005 and 1001..1009 once each.
	_, err = r.check("GET", "/v1/queue", "", 1010)
	require.NoError(t, err)
	for _, seq := range []uint64{1005, 1001, 1009, 1002} {
		_, err = r.check("GET", "/v1/queue", "", seq)
		require.NoError(t, err, "seq %d overtaken within the window", seq)
	}
	_, err = r.check("GET", "/v1/queue", "", 1005)
	require.Equal(t, auth.SessionReplayed, rejected(t, err))

	// A jump across words of the window keeps what was seen.
	_, err = r.check("GET", "/v1/queue", "", 1010+100)
	require.NoError(t, err)
	_, err = r.check("GET", "/v1/queue", "", 1010)
	require.Equal(t, auth.SessionReplayed, rejected(t, err), "seen before the jump")
	_, err = r.check("GET", "/v1/queue", "", 1003)
	require.NoError(t, err, "not seen, still within the window")
	_, err = r.check("GET", "/v1/queue", "", 1110-auth.SeqWindow)
	require.Equal(t, auth.SessionTooOld, rejected(t, err), "older than the window")
	_, err = r.check("GET", "/v1/queue", "", 0)
	require.Equal(t, auth.SessionReplayed, rejected(t, err), "seq starts at 1")
}

// A mac made for another request, with another key or for another seq is
// refused, and does not burn the seq it claims.
func TestSessionWrongMAC(t *testing.T) {
	r := newSessionRig(t, 10)
	_, otherKey := r.open(t)
	good := auth.SessionAuthorization(r.id, r.key, "POST", "/v1/requests", nil, 1)
	for name, h := range map[string]string{
		"method": auth.SessionAuthorization(r.id, r.key, "GET", "/v1/requests", nil, 1),
		"uri":    auth.SessionAuthorization(r.id, r.key, "POST", "/v1/requests?all=1", nil, 1),
		"body":   auth.SessionAuthorization(r.id, r.key, "POST", "/v1/requests", []byte(`{"paths":["/jfs/b"]}`), 1),
		"key":    auth.SessionAuthorization(r.id, otherKey, "POST", "/v1/requests", nil, 1),
		"seq":    strings.Replace(auth.SessionAuthorization(r.id, r.key, "POST", "/v1/requests", nil, 2), "seq=2", "seq=1", 1),
		"zeros":  good[:len(good)-64] + strings.Repeat("0", 64),
	} {
		_, err := r.tab.Check(strings.TrimPrefix(h, auth.SessionScheme+" "), "POST", "/v1/requests", nil)
		require.Equal(t, auth.SessionBadMAC, rejected(t, err), name)
		require.Contains(t, err.Error(), "session request does not match its mac", name)
	}
	_, err := r.check("POST", "/v1/requests", "", 1)
	require.NoError(t, err, "refused macs did not use seq 1")

	for _, p := range []string{"", "id=" + r.id, "id=x,seq=1,mac=" + strings.Repeat("0", 64),
		"id=" + r.id + ",seq=-1,mac=" + strings.Repeat("0", 64), "seq=1,id=" + r.id + ",mac=" + strings.Repeat("0", 64)} {
		_, err := r.tab.Check(p, "GET", "/v1/queue", nil)
		require.Equal(t, auth.SessionMalformed, rejected(t, err), "%q", p)
	}
}

// A session lives as long as the credential that opened it; an unknown id
// gets the message clients match to open a new session.
func TestSessionExpired(t *testing.T) {
	r := newSessionRig(t, 10)
	r.clk.add(5*time.Minute - time.Second)
	_, err := r.check("GET", "/v1/queue", "", 1)
	require.NoError(t, err)
	r.clk.add(time.Second)
	_, err = r.check("GET", "/v1/queue", "", 2)
	require.Equal(t, auth.SessionUnknown, rejected(t, err))
	require.Equal(t, "session expired or unknown", err.Error())
	require.Equal(t, 0, r.tab.Len(), "an expired session is forgotten")

	r.id = strings.Repeat("ab", 16)
	_, err = r.check("GET", "/v1/queue", "", 1)
	require.Equal(t, auth.SessionUnknown, rejected(t, err))
}

// A full table forgets expired sessions first, then the one closest to
// expiry; the table never grows past its bound.
func TestSessionTableFull(t *testing.T) {
	r := newSessionRig(t, 3)
	first := *r
	r.clk.add(time.Minute)
	id2, key2 := r.open(t)
	r.clk.add(time.Minute)
	id3, key3 := r.open(t)
	require.Equal(t, 3, r.tab.Len())
	r.clk.add(time.Minute)
	id4, key4 := r.open(t)
	require.Equal(t, 3, r.tab.Len())
	_, err := first.check("GET", "/v1/queue", "", 1)
	require.Equal(t, auth.SessionUnknown, rejected(t, err), "the oldest session was forgotten")
	for _, s := range [][2]string{{id2, key2}, {id3, key3}, {id4, key4}} {
		r.id, r.key = s[0], s[1]
		_, err := r.check("GET", "/v1/queue", "", 1)
		require.NoError(t, err)
	}
	// Sessions 2 and 3 expire; opening two more drops them, not session 4.
	r.clk.add(4 * time.Minute)
	r.open(t)
	r.open(t)
	require.Equal(t, 3, r.tab.Len())
	r.id, r.key = id4, key4
	_, err = r.check("GET", "/v1/queue", "", 2)
	require.NoError(t, err)
}

// The Verifier routes an ACCEL-SESSION authorization to its session table
// (no munged needed for it).
func TestVerifierSession(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	v := auth.NewVerifier("/nonexistent/munged.socket", c.now)
	claim, err := auth.NewClaim("GET", "/v1/health", nil)
	require.NoError(t, err)
	id, err := v.Sessions.Open(auth.Caller{UID: 65534, GID: 65534, Claim: claim}, nil, time.Minute)
	require.NoError(t, err)
	got, err := v.Verify(auth.SessionAuthorization(id, claim.ReplyKey, "GET", "/v1/queue", nil, 7), "GET", "/v1/queue", nil)
	require.NoError(t, err)
	require.Equal(t, uint32(65534), got.UID)
	_, err = v.Verify(auth.SessionAuthorization(id, claim.ReplyKey, "GET", "/v1/queue", nil, 7), "GET", "/v1/queue", nil)
	require.Equal(t, auth.SessionReplayed, rejected(t, err))
}

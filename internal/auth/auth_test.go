package auth_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
	"github.com/accel-data/accel-data/internal/munge"
	"github.com/accel-data/accel-data/internal/testutil"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// A nonce is accepted once within its TTL, again after it, and the cache
// stays within its bound by forgetting the oldest.
func TestNonceCache(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	n := auth.NewNonceCache(3, c.now)
	require.True(t, n.Use("a", time.Minute))
	require.False(t, n.Use("a", time.Minute), "replayed within its TTL")
	c.add(59 * time.Second)
	require.False(t, n.Use("a", time.Minute))
	c.add(2 * time.Second)
	require.True(t, n.Use("a", time.Minute), "forgotten after its TTL")
	for _, x := range []string{"b", "c", "d", "e"} {
		require.True(t, n.Use(x, time.Hour))
	}
	require.LessOrEqual(t, n.Len(), 3)
	require.False(t, n.Use("e", time.Hour), "the newest is remembered")
	c.add(2 * time.Hour)
	require.True(t, n.Use("f", time.Second))
	require.Equal(t, 1, n.Len(), "expired nonces are dropped")
}

func encode(t *testing.T, m *testutil.Munged, claim auth.Claim, ttl time.Duration) string {
	t.Helper()
	uid := uint32(os.Getuid())
	cred, err := munge.Encode(claim.Payload(), munge.EncodeOptions{Socket: m.Socket, UIDRestriction: &uid, TTL: ttl})
	require.NoError(t, err)
	return auth.Scheme + " " + cred
}

// Verify accepts a credential bound to the request and refuses, with the
// contract's message, every other case it can tell apart.
func TestVerifyThroughMunged(t *testing.T) {
	m := testutil.StartMunged(t)
	v := auth.NewVerifier(m.Socket, time.Now)
	body := []byte(`{"paths":["/jfs/ds"]}`)
	claim, err := auth.NewClaim("post", "/v1/requests?x=1", body)
	require.NoError(t, err)
	require.Equal(t, "POST", claim.Method)

	hdr := encode(t, m, claim, 0)
	id, err := v.Verify(hdr, "POST", "/v1/requests?x=1", body)
	require.NoError(t, err)
	require.Equal(t, uint32(os.Getuid()), id.UID)
	require.Equal(t, claim, id.Claim)

	reason := func(err error) auth.Reason {
		t.Helper()
		var r *auth.Rejection
		require.ErrorAs(t, err, &r)
		return r.Reason
	}
	_, err = v.Verify(hdr, "POST", "/v1/requests?x=1", body)
	require.Equal(t, auth.Replayed, reason(err), "%v", err)
	require.Contains(t, err.Error(), "credential replayed")

	// Another credential with the same nonce: munged sees a new credential,
	// warmupd's own cache sees the nonce again.
	_, err = v.Verify(encode(t, m, claim, 0), "POST", "/v1/requests?x=1", body)
	require.Equal(t, auth.Replayed, reason(err), "%v", err)

	for name, req := range map[string][3]string{
		"method": {"GET", "/v1/requests?x=1", string(body)},
		"path":   {"POST", "/v1/requests", string(body)},
		"query":  {"POST", "/v1/requests?x=2", string(body)},
		"body":   {"POST", "/v1/requests?x=1", `{"paths":["/jfs/other"]}`},
	} {
		c, err := auth.NewClaim("POST", "/v1/requests?x=1", body)
		require.NoError(t, err)
		_, err = v.Verify(encode(t, m, c, 0), req[0], req[1], []byte(req[2]))
		require.Equal(t, auth.Mismatch, reason(err), name)
		require.Contains(t, err.Error(), "credential does not match the request (method/path/body)")
	}

	_, err = v.Verify("", "GET", "/v1/queue", nil)
	require.Equal(t, auth.NoCredential, reason(err))
	require.Contains(t, err.Error(), "no credential: connect over TCP needs MUNGE")
	_, err = v.Verify("MUNGE garbage", "GET", "/v1/queue", nil)
	require.Contains(t, []auth.Reason{auth.Malformed, auth.WrongKey}, reason(err), "%v", err)

	// A payload that is not ours (munge -s hello).
	cred, err := munge.Encode([]byte("hello"), munge.EncodeOptions{Socket: m.Socket})
	require.NoError(t, err)
	_, err = v.Verify(auth.Scheme+" "+cred, "GET", "/v1/queue", nil)
	require.Equal(t, auth.Mismatch, reason(err))

	// Our payload, but a credential anyone with the key could decode: its
	// reply key is no secret, so it proves nothing.
	c0, _ := auth.NewClaim("GET", "/v1/queue", nil)
	cred, err = munge.Encode(c0.Payload(), munge.EncodeOptions{Socket: m.Socket})
	require.NoError(t, err)
	_, err = v.Verify(auth.Scheme+" "+cred, "GET", "/v1/queue", nil)
	require.Equal(t, auth.NotForServer, reason(err), "%v", err)

	other := testutil.StartMunged(t)
	c, _ := auth.NewClaim("GET", "/v1/queue", nil)
	_, err = v.Verify(encode(t, other, c, 0), "GET", "/v1/queue", nil)
	require.Equal(t, auth.WrongKey, reason(err), "%v", err)
	require.Contains(t, err.Error(), "credential from another MUNGE key (invalid)")

	c, _ = auth.NewClaim("GET", "/v1/queue", nil)
	hdr = encode(t, m, c, time.Second)
	time.Sleep(2500 * time.Millisecond)
	_, err = v.Verify(hdr, "GET", "/v1/queue", nil)
	require.Equal(t, auth.Expired, reason(err), "%v", err)
	require.Contains(t, err.Error(), "credential expired (clocks more than TTL apart?)")

	c, _ = auth.NewClaim("GET", "/v1/queue", nil)
	hdr = encode(t, m, c, 0)
	m.Stop()
	_, err = v.Verify(hdr, "GET", "/v1/queue", nil)
	require.Equal(t, auth.MungedDown, reason(err), "%v", err)
	require.Contains(t, err.Error(), "munged is not running on the service node")
	require.Error(t, auth.Probe(m.Socket))
}

// A steady stream of nonces with a short TTL keeps the cache small.
func TestNonceCacheSteadyStream(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	n := auth.NewNonceCache(1000, c.now)
	for i := 0; i < 100_000; i++ {
		require.True(t, n.Use(fmt.Sprintf("%032x", i), 10*time.Millisecond))
		c.add(time.Millisecond)
	}
	require.LessOrEqual(t, n.Len(), 11)
}

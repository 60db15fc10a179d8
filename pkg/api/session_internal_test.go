package api

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/accel-data/accel-data/internal/auth"
)

// clock is an injected clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func opened(id string) *http.Response {
	return &http.Response{Header: http.Header{auth.SessionHeader: {id}}}
}

// The client stops using its session SessionRenewMargin before SessionTTL
// has passed since it sent the opening credential: before warmupd, which
// counts from the credential's arrival, forgets it.
func TestClientRenewsSessionBeforeWarmupdForgetsIt(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	c := &Client{Now: clk.Now}
	sent := clk.Now()
	clk.Add(2 * time.Second) // the answer comes back later
	c.keepSession(&tcpAuth{askNew: true, sent: sent, claim: auth.Claim{ReplyKey: "k"}}, opened(strings.Repeat("ab", 16)))
	require.NotNil(t, c.session(clk.Now()))

	clk.Add(auth.SessionTTL - auth.SessionRenewMargin - 3*time.Second)
	require.NotNil(t, c.session(clk.Now()), "still in use just before the renewal time")
	clk.Add(time.Second)
	require.Nil(t, c.session(clk.Now()), "renewed at SessionRenewAt")
	require.Nil(t, c.sess.Load(), "dropped: the next request sends a credential")
	require.True(t, auth.SessionRenewAt(sent).Before(sent.Add(auth.SessionTTL)), "before warmupd's expiry")
}

// Only an answer to a request that asked for a session, naming a well-formed
// id, opens one (auth.ValidSessionID is the one rule).
func TestClientKeepsOnlyWellFormedSessions(t *testing.T) {
	for _, tc := range []struct {
		askNew bool
		id     string
	}{
		{false, strings.Repeat("ab", 16)},
		{true, strings.Repeat("AB", 16)},
		{true, strings.Repeat("ab", 15)},
		{true, ""},
	} {
		c := &Client{}
		c.keepSession(&tcpAuth{askNew: tc.askNew, sent: time.Now()}, opened(tc.id))
		require.Nil(t, c.sess.Load(), "%+v", tc)
	}
}

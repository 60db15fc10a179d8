package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// A session request whose seq more than auth.SeqWindow later requests of
// the same session overtook (a client shared by hundreds of goroutines) is
// refused as too old, before warmupd does anything; the client sends it
// once more with a new seq, on the same session, and it is served. One
// whose seq was already used (a proxy that retried it: it was served) is
// not sent again. The server here is warmupd's own session table and proof.
func TestOvertakenSessionRequestGoesAgainWithANewSeq(t *testing.T) {
	for _, tc := range []struct {
		name string
		// meanwhile runs at the first request, before warmupd checks it.
		meanwhile func(c *Client, check func(seq uint64))
		seqs      []string
		served    bool
	}{
		{"overtaken", func(c *Client, check func(uint64)) {
			// 1000 later requests of this client's session were served:
			// its counter and warmupd's window moved past this one.
			c.sess.Load().seq.Store(1000)
			check(1000)
		}, []string{"seq=1", "seq=1001"}, true},
		{"already used", func(_ *Client, check func(uint64)) { check(1) }, []string{"seq=1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := strings.Repeat("ab", 32)
			table := auth.NewSessionTable(4, time.Now)
			id, err := table.Open(auth.Caller{Claim: auth.Claim{ReplyKey: key}}, nil, time.Hour)
			require.NoError(t, err)
			c := &Client{}
			var seqs []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				params, _ := strings.CutPrefix(r.Header.Get(auth.Header), auth.SessionScheme+" ")
				seqs = append(seqs, params[strings.Index(params, "seq="):strings.Index(params, ",mac")])
				if len(seqs) == 1 {
					tc.meanwhile(c, func(seq uint64) {
						a := auth.SessionAuthorization(id, key, "GET", "/v1/health", nil, seq)
						_, err := table.Check(strings.TrimPrefix(a, auth.SessionScheme+" "), "GET", "/v1/health", nil)
						assert.NoError(t, err)
					})
				}
				caller, err := table.Check(params, r.Method, r.URL.RequestURI(), nil)
				if err != nil {
					w.WriteHeader(http.StatusUnauthorized)
					_ = json.NewEncoder(w).Encode(Error{Error: err.Error()})
					return
				}
				body := []byte(`{"status":"ok"}`)
				w.Header().Set(auth.ProofHeader, caller.Claim.Proof(http.StatusOK, body))
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			c.Server = strings.TrimPrefix(srv.URL, "http://")
			c.keepSession(&tcpAuth{askNew: true, sent: time.Now(), claim: auth.Claim{ReplyKey: key}}, opened(id))

			_, err = c.Health(context.Background())
			require.Equal(t, tc.seqs, seqs)
			if tc.served {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, auth.SessionReplayed.String())
			}
			require.NotNil(t, c.sess.Load(), "the session is kept")
		})
	}
}

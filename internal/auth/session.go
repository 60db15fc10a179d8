package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions let a long-lived client (the prolog polling, swarmup warm
// --wait, agents) pay for one MUNGE credential instead of one per request
// (issue 9 contract, Addendum). The first request carries a credential and
// SessionHeader: SessionNew; warmupd answers with SessionHeader: <id>. The
// session key is that credential's reply key, known only to the client and
// to warmupd's uid. Later requests carry
//
//	Authorization: ACCEL-SESSION id=<id>,seq=<n>,mac=<hex HMAC-SHA256(key, SessionMessage)>
//
// and their answers the proof of Claim.Proof with nonce "<id>:<seq>".
const (
	// SessionScheme prefixes a session authorization in Header.
	SessionScheme = "ACCEL-SESSION"
	// SessionHeader asks for a session (SessionNew) on a request and names
	// the session opened on its answer.
	SessionHeader = "X-Accel-Data-Session"
	// SessionNew is the SessionHeader value that asks for a session.
	SessionNew = "new"
	// DefaultSessionCap bounds warmupd's session table.
	DefaultSessionCap = 1 << 16
	// SeqWindow is how far behind the highest seq seen a request may arrive
	// (a client's concurrent requests overtake each other on several
	// connections) and still be accepted once.
	SeqWindow = 256

	// SessionTTL is the lifetime a client asks for the credential that
	// opens its session; warmupd keeps a session as long as that
	// credential lives (counted from its arrival).
	SessionTTL = 300 * time.Second
	// SessionRenewMargin: a client stops using its session this long before
	// SessionTTL has passed since it sent the opening credential, and opens
	// a new one, so it never sends a request warmupd has to refuse.
	SessionRenewMargin = 30 * time.Second

	sessionMagic = "accel-data-session v1\n"
	sessionIDLen = 16
)

// ValidSessionID reports whether id has the form of a session id (32
// lower-case hex digits), as Open makes them.
func ValidSessionID(id string) bool { return isHex(id, 2*sessionIDLen) }

// SessionRenewAt is when a client that sent the credential opening a
// session at sent must stop using that session: SessionRenewMargin before
// warmupd forgets it (warmupd counts SessionTTL from the credential's
// arrival, after sent, so the client always stops first).
func SessionRenewAt(sent time.Time) time.Time { return sent.Add(SessionTTL - SessionRenewMargin) }

// SessionMAC is the mac of one session request: HMAC-SHA256 keyed by the
// session key (the hex reply key) over the request and its seq.
func SessionMAC(keyHex, method, uri, bodySHA256 string, seq uint64) string {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sessionMagic + method + "\n" + uri + "\n" + bodySHA256 + "\n" + strconv.FormatUint(seq, 10) + "\n"))
	return hex.EncodeToString(m.Sum(nil))
}

// SessionAuthorization is the Header value of a session request.
func SessionAuthorization(id, keyHex, method, uri string, body []byte, seq uint64) string {
	return fmt.Sprintf("%s id=%s,seq=%d,mac=%s", SessionScheme, id, seq,
		SessionMAC(keyHex, strings.ToUpper(method), uri, BodyDigest(body), seq))
}

// SessionClaim is the claim whose Proof answers a session request.
func SessionClaim(id, keyHex string, seq uint64) Claim {
	return Claim{Nonce: id + ":" + strconv.FormatUint(seq, 10), ReplyKey: keyHex}
}

// session is one open session: who opened it, its key, until when it
// lives, and which seqs it has seen.
type session struct {
	uid, gid uint32
	gids     []uint32
	key      string // hex
	until    time.Time
	top      uint64                 // highest seq accepted
	seen     [SeqWindow / 64]uint64 // bit i: seq top-i accepted
}

// SessionTable is warmupd's memory of open sessions: bounded in count
// (when full, the session closest to expiry is forgotten; its client opens
// a new one) and each forgotten at the end of the lifetime of the
// credential that opened it.
type SessionTable struct {
	mu   sync.Mutex
	now  func() time.Time
	max  int
	byID map[string]*session
}

// NewSessionTable keeps at most max sessions; now is the clock (time.Now).
func NewSessionTable(max int, now func() time.Time) *SessionTable {
	return &SessionTable{now: now, max: max, byID: make(map[string]*session)}
}

// Open starts a session for the caller of a verified credential: same uid,
// gid and groups, key = the credential's reply key, for ttl. It returns the
// session id.
func (t *SessionTable) Open(c Caller, gids []uint32, ttl time.Duration) (string, error) {
	var b [sessionIDLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot draw a random session id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.byID) >= t.max {
		t.evict(now)
	}
	t.byID[id] = &session{uid: c.UID, gid: c.GID, gids: gids, key: c.Claim.ReplyKey, until: now.Add(ttl)}
	return id, nil
}

// evict forgets expired sessions, then, if still full, the one closest to
// expiry.
func (t *SessionTable) evict(now time.Time) {
	var oldest string
	for id, s := range t.byID {
		if !now.Before(s.until) {
			delete(t.byID, id)
			continue
		}
		if oldest == "" || s.until.Before(t.byID[oldest].until) {
			oldest = id
		}
	}
	if len(t.byID) >= t.max && oldest != "" {
		delete(t.byID, oldest)
	}
}

// Len is the number of sessions held (expired ones included until evicted).
func (t *SessionTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// Check verifies a session authorization (the Header value after
// "ACCEL-SESSION ") against the request: a known, live session, a mac made
// with its key over this method, URI, body and seq, and a seq not seen
// before. The Caller it returns has the session's identity and the claim
// to prove the answer with; its Gids are the groups resolved when the
// session was opened.
func (t *SessionTable) Check(params, method, uri string, body []byte) (Caller, error) {
	id, seq, mac, err := parseSession(params)
	if err != nil {
		return Caller{}, err
	}
	digest := BodyDigest(body) // outside the lock: the body may be large
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.byID[id]
	if ok && !t.now().Before(s.until) {
		delete(t.byID, id)
		ok = false
	}
	if !ok {
		return Caller{}, &Rejection{Reason: SessionUnknown}
	}
	if want := SessionMAC(s.key, method, uri, digest, seq); !hmac.Equal([]byte(want), []byte(mac)) {
		return Caller{}, &Rejection{Reason: SessionBadMAC}
	}
	if why, ok := s.use(seq); !ok {
		return Caller{}, &Rejection{Reason: why, Detail: fmt.Sprintf("seq %d", seq)}
	}
	return Caller{UID: s.uid, GID: s.gid, Gids: s.gids, Claim: SessionClaim(id, s.key, seq)}, nil
}

// use records seq, or says why it is refused: seen already
// (SessionReplayed: that request was served), or older than the window
// (SessionTooOld: whether it was served is no longer known; a client whose
// request was overtaken sends it again). A sliding bitmap, as in IPsec's
// anti-replay.
func (s *session) use(seq uint64) (why Reason, ok bool) {
	if seq == 0 {
		return SessionReplayed, false
	}
	if seq > s.top {
		s.shift(seq - s.top)
		s.top = seq
		s.seen[0] |= 1
		return 0, true
	}
	d := s.top - seq
	if d >= SeqWindow {
		return SessionTooOld, false
	}
	w, bit := d/64, uint64(1)<<(d%64)
	if s.seen[w]&bit != 0 {
		return SessionReplayed, false
	}
	s.seen[w] |= bit
	return 0, true
}

// shift moves the window n seqs forward: bit i becomes bit i+n.
func (s *session) shift(n uint64) {
	if n >= SeqWindow {
		s.seen = [SeqWindow / 64]uint64{}
		return
	}
	words, bits := int(n/64), n%64
	for i := len(s.seen) - 1; i >= 0; i-- {
		var v uint64
		if j := i - words; j >= 0 {
			v = s.seen[j] << bits
			if bits != 0 && j > 0 {
				v |= s.seen[j-1] >> (64 - bits)
			}
		}
		s.seen[i] = v
	}
}

// parseSession reads "id=<32 hex>,seq=<decimal>,mac=<64 hex>".
func parseSession(p string) (id string, seq uint64, mac string, err error) {
	bad := &Rejection{Reason: SessionMalformed}
	parts := strings.Split(strings.TrimSpace(p), ",")
	if len(parts) != 3 {
		return "", 0, "", bad
	}
	vals := [3]string{}
	for i, k := range []string{"id=", "seq=", "mac="} {
		v, ok := strings.CutPrefix(strings.TrimSpace(parts[i]), k)
		if !ok {
			return "", 0, "", bad
		}
		vals[i] = v
	}
	seq, perr := strconv.ParseUint(vals[1], 10, 64)
	if perr != nil || !ValidSessionID(vals[0]) || !isHex(vals[2], 2*sha256.Size) {
		return "", 0, "", bad
	}
	return vals[0], seq, vals[2], nil
}

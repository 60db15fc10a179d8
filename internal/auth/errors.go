package auth

import (
	"fmt"
	"strconv"
)

// Reason is why warmupd refused a credential; its String is the start of
// the 401 message (fixed by the issue 9 contract).
type Reason int

// Reasons for a 401.
const (
	NoCredential Reason = iota
	MungedDown
	Expired
	Rewound
	Replayed
	WrongKey
	Mismatch
	NotForServer
	Undecodable
	Malformed
	SessionUnknown
	SessionBadMAC
	SessionReplayed
	SessionTooOld
	SessionMalformed
)

// reasons gives each Reason its metrics label and its message.
var reasons = [...]struct{ label, text string }{
	NoCredential: {"no_credential", "no credential: connect over TCP needs MUNGE"},
	MungedDown:   {"munged_down", "munged is not running on the service node"},
	Expired:      {"expired", "credential expired (clocks more than TTL apart?)"},
	Rewound:      {"rewound", "credential rewound (clock skew)"},
	Replayed:     {"replayed", "credential replayed"},
	WrongKey:     {"wrong_key", "credential from another MUNGE key (invalid)"},
	Mismatch:     {"mismatch", "credential does not match the request (method/path/body)"},
	NotForServer: {"not_for_server", "credential not for warmupd's uid (set the client's ServerUID to the uid warmupd runs as)"},
	Undecodable:  {"undecodable", "credential could not be decoded"},
	Malformed:    {"malformed", "credential malformed (not a MUNGE credential)"},
	// Clients match SessionUnknown's text to open a new session, and
	// SessionTooOld's to send a request again with a new seq (pkg/api).
	SessionUnknown:   {"session_unknown", "session expired or unknown"},
	SessionBadMAC:    {"session_bad_mac", "session request does not match its mac (method/path/body, or not this session's key)"},
	SessionReplayed:  {"session_replayed", "session request replayed (seq already used)"},
	SessionTooOld:    {"session_too_old", "session request too old (seq " + strconv.Itoa(SeqWindow) + " or more behind the newest of its session)"},
	SessionMalformed: {"session_malformed", "session authorization malformed (want ACCEL-SESSION id=<32 hex>,seq=<n>,mac=<64 hex>)"},
}

func (r Reason) String() string { return reasons[r].text }

// Label is the reason's short name (the reason label of warmupd's
// accel_data_auth_failures_total).
func (r Reason) Label() string { return reasons[r].label }

// Rejection is a refused request: the server answers 401 with Error().
type Rejection struct {
	Reason Reason
	Detail string
}

func (e *Rejection) Error() string {
	if e.Detail == "" {
		return e.Reason.String()
	}
	return e.Reason.String() + ": " + e.Detail
}

func mismatch(format string, args ...any) error {
	return &Rejection{Reason: Mismatch, Detail: fmt.Sprintf(format, args...)}
}

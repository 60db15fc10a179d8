package auth

import "fmt"

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
	SessionMalformed
)

var reasonText = [...]string{
	NoCredential: "no credential: connect over TCP needs MUNGE",
	MungedDown:   "munged is not running on the service node",
	Expired:      "credential expired (clocks more than TTL apart?)",
	Rewound:      "credential rewound (clock skew)",
	Replayed:     "credential replayed",
	WrongKey:     "credential from another MUNGE key (invalid)",
	Mismatch:     "credential does not match the request (method/path/body)",
	NotForServer: "credential not for warmupd's uid (set the client's ServerUID to the uid warmupd runs as)",
	Undecodable:  "credential could not be decoded",
	Malformed:    "credential malformed (not a MUNGE credential)",
	// Clients match SessionUnknown's text to open a new session (pkg/api).
	SessionUnknown:   "session expired or unknown",
	SessionBadMAC:    "session request does not match its mac (method/path/body, or not this session's key)",
	SessionReplayed:  "session request replayed (seq already used or too old)",
	SessionMalformed: "session authorization malformed (want ACCEL-SESSION id=<32 hex>,seq=<n>,mac=<64 hex>)",
}

func (r Reason) String() string { return reasonText[r] }

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

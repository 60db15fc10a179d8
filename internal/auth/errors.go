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

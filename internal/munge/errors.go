package munge

import "fmt"

// Status is a MUNGE error number (munge.h's munge_err_t). The named ones are those
// a caller must tell apart; errors.Is(err, munge.Expired) works on *Error.
type Status int

// MUNGE statuses (munge.h).
const (
	Success      Status = 0
	Snafu        Status = 1 // internal error
	BadArg       Status = 2
	BadLength    Status = 3 // a message longer than allowed
	Overflow     Status = 4
	NoMemory     Status = 5
	Socket       Status = 6
	BadCred      Status = 8
	BadVersion   Status = 9
	BadCipher    Status = 10
	BadMAC       Status = 11
	BadZip       Status = 12
	BadRealm     Status = 13
	Invalid      Status = 14
	Expired      Status = 15
	Rewound      Status = 16
	Replayed     Status = 17
	Unauthorized Status = 18
)

// Error is a failed encode or decode.
type Error struct {
	Status Status
	Detail string // munged's own message, or libmunge's wording of a socket failure
}

func (s Status) Error() string { return fmt.Sprintf("MUNGE status %d", int(s)) }

// Is makes errors.Is(err, munge.Expired) true for an *Error of that status.
func (e *Error) Is(target error) bool {
	s, ok := target.(Status)
	return ok && s == e.Status
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s, MUNGE status %d)", e.Status.advice(), e.Detail, int(e.Status))
}

// advice says what the status means and what to do about it.
func (s Status) advice() string {
	switch s {
	case Socket:
		return "munged is not running or its socket cannot be reached: start munged, or set MungeSocket to its socket"
	case Expired:
		return "credential expired: check that the hosts' clocks agree (NTP)"
	case Rewound:
		return "credential rewound (made in the future): check that the hosts' clocks agree (NTP)"
	case Replayed:
		return "credential replayed: it was already used once"
	case Invalid, BadCred, BadVersion, BadCipher, BadMAC, BadZip:
		return "credential invalid: malformed, or made with another MUNGE key (every host needs the same munge.key)"
	case BadRealm:
		return "credential from another MUNGE realm"
	case Unauthorized:
		return "credential not for this uid: the client's ServerUID must be the uid warmupd runs as"
	default:
		return "MUNGE failed"
	}
}

// text is libmunge's munge_strerror: the detail when munged sends none.
func (s Status) text() string {
	if int(s) >= 0 && int(s) < len(statusText) {
		return statusText[s]
	}
	return "Unknown error"
}

var statusText = [...]string{
	Success: "Success", Snafu: "Internal error", BadArg: "Invalid argument",
	BadLength: "Exceeded maximum message length", Overflow: "Buffer overflow",
	NoMemory: "Out of memory", Socket: "Socket communication error", 7: "Socket timeout",
	BadCred: "Invalid credential format", BadVersion: "Invalid credential version",
	BadCipher: "Invalid cipher type", BadMAC: "Invalid MAC type", BadZip: "Invalid compression type",
	BadRealm: "Unrecognized security realm", Invalid: "Invalid credential",
	Expired: "Expired credential", Rewound: "Rewound credential", Replayed: "Replayed credential",
	Unauthorized: "Unauthorized credential",
}

// Package exitcode carries a process exit status along with an error, for
// accel-data's command-line tools (the cli/cli pattern): each command lists
// its own codes in one place and returns errors made here; main turns the
// error into the status.
package exitcode

import (
	"errors"
	"fmt"
)

// Code is a process exit status.
type Code int

// Error is an error with the exit status it should end the process with.
type Error struct {
	Code Code
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// With attaches code to err.
func With(code Code, err error) error { return &Error{Code: code, Err: err} }

// Errorf is With(code, fmt.Errorf(format, a...)).
func Errorf(code Code, format string, a ...any) error {
	return With(code, fmt.Errorf(format, a...))
}

// From returns the code carried by err (anywhere in its chain), and false
// when it carries none.
func From(err error) (Code, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}

// The codes every accel-data command means the same by; each command adds
// its own from 3 up.
const (
	// OK: the command did what was asked.
	OK Code = 0
	// Failure: anything else went wrong; the message says what.
	Failure Code = 1
	// Usage: a bad flag, argument or value given on the command line.
	Usage Code = 2
)
